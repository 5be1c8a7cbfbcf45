//! Personal access tokens, bot accounts, system roles, the Mattermost-compatible version
//! and the start-up calls every client makes.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    version_and_client_configuration_speak_mattermost,
    access_tokens_authenticate_until_disabled_or_revoked,
    access_tokens_need_the_role_and_the_setting,
    bots_are_created_patched_disabled_and_reassigned,
    bot_creation_needs_an_admin_and_the_setting,
    a_person_becomes_a_bot,
    roles_are_checked_and_the_last_admin_kept,
);

fn tokens_and_bots_on(config: &mut chorus_server::Config) {
    config.service_settings.enable_user_access_tokens = true;
    config.service_settings.enable_bot_account_creation = true;
}

async fn version_and_client_configuration_speak_mattermost(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let response = alice
        .request(reqwest::Method::GET, "/users/me")
        .send()
        .await
        .unwrap();
    let version_id = response.headers()["X-Version-Id"]
        .to_str()
        .unwrap()
        .to_string();
    let parts: Vec<&str> = version_id.split('.').collect();
    assert_eq!(&parts[..3], &["10", "11", "0"], "{version_id}");
    assert!(version_id.starts_with(&format!(
        "{}.chorus-{}.",
        chorus_server::MATTERMOST_VERSION,
        chorus_server::SERVER_VERSION
    )));
    assert!(version_id.ends_with(".false"), "unlicensed: {version_id}");

    let mut socket = Ws::connect(&server, alice.token(), "").await;
    let hello = socket.hello().await;
    assert_eq!(hello["data"]["server_version"], json!(version_id));

    let anonymous = server.client();
    let (status, config) = anonymous.get("/config/client?format=old").await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(config["Version"], chorus_server::MATTERMOST_VERSION);
    assert_eq!(
        config["BuildNumber"],
        format!("chorus-{}", chorus_server::SERVER_VERSION)
    );
    assert_eq!(config["EnableUserAccessTokens"], "false");
    assert_eq!(config["EnableBotAccountCreation"], "false");
    assert!(config.as_object().unwrap().values().all(Value::is_string));
    assert_error(
        &anonymous.get("/config/client").await,
        StatusCode::NOT_IMPLEMENTED,
        "api.config.client.old_format.app_error",
    );
    assert_error(
        &anonymous.get("/config/client?format=new").await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    let (status, license) = anonymous.get("/license/client?format=old").await;
    assert_eq!(
        (status, license),
        (StatusCode::OK, json!({"IsLicensed": "false"}))
    );
    server.stop().await;
}

async fn access_tokens_authenticate_until_disabled_or_revoked(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, tokens_and_bots_on).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (bob, bob_user) = server.user("bob").await;
    let (carol, carol_user) = server.user("carol").await;
    for user in [&bob_user, &carol_user] {
        let (status, _) = admin
            .put(
                &format!("/users/{}/roles", id(user)),
                json!({"roles": "system_user system_user_access_token"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    let (status, created) = bob
        .post("/users/me/tokens", json!({"description": "my bot script"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let secret = created["token"].as_str().unwrap().to_string();
    let token_id = id(&created);
    assert_eq!(secret.len(), 26);
    assert_eq!(created["user_id"], bob_user["id"]);
    assert_eq!(created["is_active"], true);
    assert_eq!(created["description"], "my bot script");

    // Only a hash is stored.
    let stored = server
        .state
        .store
        .scalar_raw(&format!(
            "SELECT COUNT(*) FROM user_access_tokens WHERE token_hash = '{secret}' OR id = '{secret}'"
        ))
        .await
        .unwrap();
    assert_eq!(stored, 0);

    let scripted = server.client().with_token(&secret);
    let (status, me) = scripted.get("/users/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], bob_user["id"]);
    let mut socket = Ws::ready(&server, &secret).await;

    // Listing shows the token without its secret; other people see neither.
    let (status, listed) = bob.get("/users/me/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], json!(token_id));
    assert!(listed[0].get("token").is_none(), "{listed}");
    let (status, one) = bob.get(&format!("/users/tokens/{token_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one.get("token").is_none());
    assert_error(
        &carol.get(&format!("/users/tokens/{token_id}")).await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &carol.get(&format!("/users/{}/tokens", id(&bob_user))).await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &carol
            .post("/users/tokens/revoke", json!({"token_id": token_id}))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &carol.get("/users/tokens").await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, everyone) = admin.get("/users/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(everyone.as_array().unwrap().len(), 1);
    assert_error(
        &bob.get(&format!("/users/tokens/{}", chorus_model::new_id()))
            .await,
        StatusCode::NOT_FOUND,
        "app.user_access_token.get_by_user.app_error",
    );

    // Logging out with a token ends nothing.
    assert_eq!(
        scripted.post("/users/logout", json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(scripted.get("/users/me").await.0, StatusCode::OK);

    // Disabled: refused, and its socket closed; enabled again: accepted.
    let (status, _) = bob
        .post("/users/tokens/disable", json!({"token_id": token_id}))
        .await;
    assert_eq!(status, StatusCode::OK);
    socket.expect_closed().await;
    assert_error(
        &scripted.get("/users/me").await,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    let (_, one) = bob.get(&format!("/users/tokens/{token_id}")).await;
    assert_eq!(one["is_active"], false);
    let (status, _) = bob
        .post("/users/tokens/enable", json!({"token_id": token_id}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(scripted.get("/users/me").await.0, StatusCode::OK);

    // Revoked: gone for good, on every door.
    let mut socket = Ws::ready(&server, &secret).await;
    let (status, body) = bob
        .post("/users/tokens/revoke", json!({"token_id": token_id}))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    socket.expect_closed().await;
    assert_error(
        &scripted.get("/users/me").await,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    let mut refused = Ws::open(&server, "").await;
    let reply = refused
        .request("authentication_challenge", json!({"token": secret}))
        .await;
    assert_ne!(reply["status"], "OK", "{reply}");
    assert_eq!(server.count("user_access_tokens").await, 0);
    assert_error(
        &bob.post("/users/tokens/revoke", json!({"token_id": token_id}))
            .await,
        StatusCode::NOT_FOUND,
        "app.user_access_token.get_by_user.app_error",
    );

    // A token cannot be smuggled in as a cookie to skip the CSRF check.
    let (_, again) = bob
        .post("/users/me/tokens", json!({"description": "second"}))
        .await;
    let secret = again["token"].as_str().unwrap();
    let response = server
        .client()
        .request(reqwest::Method::POST, "/users/logout")
        .header("Cookie", format!("MMAUTHTOKEN={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let forged = server
        .client()
        .request(
            reqwest::Method::PUT,
            &format!("/users/{}/roles", id(&bob_user)),
        )
        .header("Cookie", format!("MMAUTHTOKEN={secret}"))
        .json(&json!({"roles": "system_user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

async fn access_tokens_need_the_role_and_the_setting(backend: Backend) {
    // Default settings: EnableUserAccessTokens is off, as in Mattermost.
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (bob, bob_user) = server.user("bob").await;
    assert_error(
        &bob.post("/users/me/tokens", json!({"description": "x"}))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &admin
            .post(
                &format!("/users/{}/tokens", id(&bob_user)),
                json!({"description": "x"}),
            )
            .await,
        StatusCode::NOT_IMPLEMENTED,
        "app.user_access_token.disabled",
    );
    assert_error(
        &admin
            .post(
                &format!("/users/{}/tokens", id(&bob_user)),
                json!({"description": ""}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    assert_error(
        &admin
            .post(
                &format!("/users/{}/tokens", id(&bob_user)),
                json!({"description": "x".repeat(256)}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "model.user_access_token.is_valid.description.app_error",
    );
    assert_error(
        &admin
            .post(
                &format!("/users/{}/tokens", chorus_model::new_id()),
                json!({"description": "x"}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "app.user.missing_account.const",
    );
    assert_eq!(server.count("user_access_tokens").await, 0);

    // Bots get tokens even so: an admin makes one for a plugin's bot.
    server
        .state
        .ensure_bot_user("com.example.plugin", "plugin-bot", "Plugin Bot", "")
        .await
        .unwrap();
    let (_, bot) = admin.get("/users/username/plugin-bot").await;
    assert_eq!(bot["is_bot"], true);
    let (status, token) = admin
        .post(
            &format!("/users/{}/tokens", id(&bot)),
            json!({"description": "ci"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let as_bot = server.client().with_token(token["token"].as_str().unwrap());
    let (status, me) = as_bot.get("/users/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "plugin-bot");
    let (status, listed) = admin.get("/bots").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed[0]["owner_id"], "com.example.plugin");
    assert_eq!(listed[0]["display_name"], "Plugin Bot");
    server.stop().await;
}

async fn bots_are_created_patched_disabled_and_reassigned(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, tokens_and_bots_on).await else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    let (bob, bob_user) = server.user("bob").await;
    let (status, bot) = admin
        .post(
            "/bots",
            json!({"username": "helper-bot", "display_name": "Helper", "description": "Answers questions"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    let bot_id = bot["user_id"].as_str().unwrap().to_string();
    assert_eq!(bot["owner_id"], admin_user["id"]);
    assert_eq!(bot["display_name"], "Helper");
    assert_eq!(bot["description"], "Answers questions");
    assert_eq!(bot["delete_at"], 0);
    let (_, user) = admin.get(&format!("/users/{bot_id}")).await;
    assert_eq!(user["is_bot"], true);
    assert_eq!(user["username"], "helper-bot");
    assert_eq!(user["first_name"], "Helper");
    assert_eq!(user["email"], "helper-bot@localhost");
    assert_eq!(user["roles"], "system_user");

    assert_error(
        &admin.post("/bots", json!({"username": "helper-bot"})).await,
        StatusCode::BAD_REQUEST,
        "app.user.save.username_exists.app_error",
    );
    assert_error(
        &admin.post("/bots", json!({"username": "bob"})).await,
        StatusCode::BAD_REQUEST,
        "app.user.save.username_exists.app_error",
    );
    assert_error(
        &admin.post("/bots", json!({"username": "Bad Bot"})).await,
        StatusCode::BAD_REQUEST,
        "model.bot.is_valid.username.app_error",
    );
    assert_error(
        &admin
            .post(
                "/bots",
                json!({"username": "long-bot", "description": "x".repeat(1025)}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "model.bot.is_valid.description.app_error",
    );
    assert_eq!(server.count("bots").await, 1);
    assert_eq!(server.count("users").await, 3);

    // A bot cannot log in with a password; it works through a token.
    let (status, _) = server
        .client()
        .post(
            "/users/login",
            json!({"login_id": "helper-bot", "password": "!bot-accounts-cannot-log-in"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, token) = admin
        .post(
            &format!("/users/{bot_id}/tokens"),
            json!({"description": "runtime"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let as_bot = server.client().with_token(token["token"].as_str().unwrap());
    let team = admin.team("crew").await;
    let channel = admin.channel(&id(&team), "ops", "O").await;
    admin.add_to_team(&id(&team), &bot_id).await;
    admin.add_to_channel(&id(&channel), &bot_id).await;
    let post = as_bot.create_post(&id(&channel), "hello from a bot").await;
    assert_eq!(post["user_id"], json!(bot_id));

    // Only admins see or manage bots; to others a bot is as absent as a missing one.
    assert_error(
        &bob.get(&format!("/bots/{bot_id}")).await,
        StatusCode::NOT_FOUND,
        "store.sql_bot.get.missing.app_error",
    );
    assert_error(
        &bob.put(&format!("/bots/{bot_id}"), json!({"display_name": "Mine"}))
            .await,
        StatusCode::NOT_FOUND,
        "store.sql_bot.get.missing.app_error",
    );
    assert_error(
        &bob.get("/bots").await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &admin.get(&format!("/bots/{}", id(&bob_user))).await,
        StatusCode::NOT_FOUND,
        "store.sql_bot.get.missing.app_error",
    );

    let (status, patched) = admin
        .put(
            &format!("/bots/{bot_id}"),
            json!({"display_name": "Helper Two"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["display_name"], "Helper Two");
    assert_eq!(patched["description"], "Answers questions");
    assert_eq!(patched["username"], "helper-bot");

    // Disabled: its token stops working and it leaves the list; enabled: both return.
    let (status, disabled) = admin
        .post(&format!("/bots/{bot_id}/disable"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(disabled["delete_at"].as_i64().unwrap() > 0);
    assert_error(
        &as_bot.get("/users/me").await,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    let (_, listed) = admin.get("/bots").await;
    assert_eq!(listed, json!([]));
    let (_, listed) = admin.get("/bots?include_deleted=true").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_error(
        &admin.get(&format!("/bots/{bot_id}")).await,
        StatusCode::NOT_FOUND,
        "store.sql_bot.get.missing.app_error",
    );
    let (status, _) = admin
        .get(&format!("/bots/{bot_id}?include_deleted=true"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, enabled) = admin
        .post(&format!("/bots/{bot_id}/enable"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(enabled["delete_at"], 0);
    assert_eq!(as_bot.get("/users/me").await.0, StatusCode::OK);

    // Reassigned to a person, never to a bot.
    let (status, assigned) = admin
        .post(
            &format!("/bots/{bot_id}/assign/{}", id(&bob_user)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(assigned["owner_id"], bob_user["id"]);
    assert_error(
        &admin
            .post(&format!("/bots/{bot_id}/assign/{bot_id}"), json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "api.bot.assign_bot.owner_is_bot.app_error",
    );
    // Orphaned: the owner is deactivated.
    let (_, orphaned) = admin.get("/bots?only_orphaned=true").await;
    assert_eq!(orphaned, json!([]));
    server
        .state
        .store
        .execute_raw(&format!(
            "UPDATE users SET delete_at = 1 WHERE id = '{}'",
            id(&bob_user)
        ))
        .await
        .unwrap();
    let (_, orphaned) = admin.get("/bots?only_orphaned=true").await;
    assert_eq!(orphaned.as_array().unwrap().len(), 1);
    let (_, paged) = admin.get("/bots?page=1&per_page=1").await;
    assert_eq!(paged, json!([]));
    server.stop().await;
}

async fn bot_creation_needs_an_admin_and_the_setting(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (bob, _) = server.user("bob").await;
    assert_error(
        &bob.post("/bots", json!({"username": "sneaky-bot"})).await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &admin.post("/bots", json!({"username": "helper-bot"})).await,
        StatusCode::FORBIDDEN,
        "api.bot.create_disabled",
    );
    assert_eq!(server.count("bots").await, 0);
    server.stop().await;
}

async fn a_person_becomes_a_bot(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, tokens_and_bots_on).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (carol, carol_user) = server.user("carol").await;
    let mut socket = Ws::ready(&server, carol.token()).await;
    assert_error(
        &carol
            .post(
                &format!("/users/{}/convert_to_bot", id(&carol_user)),
                json!({}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, bot) = admin
        .post(
            &format!("/users/{}/convert_to_bot", id(&carol_user)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bot}");
    assert_eq!(bot["user_id"], carol_user["id"]);
    assert_eq!(bot["owner_id"], carol_user["id"]);
    assert_eq!(bot["username"], "carol");
    socket.expect_closed().await;
    assert_error(
        &carol.get("/users/me").await,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    let (status, _) = server
        .client()
        .post(
            "/users/login",
            json!({"login_id": "carol", "password": "password-carol"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(
        &admin
            .post(
                &format!("/users/{}/convert_to_bot", id(&carol_user)),
                json!({}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "app.bot.createbot.already_bot.app_error",
    );
    // No admin (the caller included) becomes a bot: the server keeps its admins.
    let admin_id = admin.get("/users/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(
        &admin
            .post(&format!("/users/{admin_id}/convert_to_bot"), json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_eq!(admin.get("/users/me").await.0, StatusCode::OK);
    server.stop().await;
}

async fn roles_are_checked_and_the_last_admin_kept(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    let (bob, bob_user) = server.user("bob").await;
    let bob_roles = format!("/users/{}/roles", id(&bob_user));
    assert_error(
        &bob.put(&bob_roles, json!({"roles": "system_user system_admin"}))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &admin
            .put(&bob_roles, json!({"roles": "system_admin"}))
            .await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    assert_error(
        &admin
            .put(&bob_roles, json!({"roles": "system_user Root!"}))
            .await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    assert_error(
        &admin
            .put(&bob_roles, json!({"roles": "system_user team_wizard"}))
            .await,
        StatusCode::BAD_REQUEST,
        "app.role.check_roles_exist.role_not_found",
    );
    assert_error(
        &admin
            .put(
                &format!("/users/{}/roles", id(&admin_user)),
                json!({"roles": "system_user"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "app.user.update.lastAdmin.app_error",
    );
    let (_, me) = bob.get("/users/me").await;
    assert_eq!(me["roles"], "system_user");

    // Granted: bob is an admin on his next request; then the first admin may step down.
    let (status, _) = admin
        .put(
            &bob_roles,
            json!({"roles": "system_user system_admin system_admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = bob.get("/users/me").await;
    assert_eq!(me["roles"], "system_user system_admin");
    assert_eq!(bob.get("/cluster/status").await.0, StatusCode::OK);
    let (status, _) = admin
        .put(
            &format!("/users/{}/roles", id(&admin_user)),
            json!({"roles": "system_user"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(admin.get("/cluster/status").await.0, StatusCode::FORBIDDEN);
    server.stop().await;
}
