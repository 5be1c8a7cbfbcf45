//! Sign-up, login, logout, sessions and user reads.

use crate::both_backends;
use crate::common::{assert_error, id, ids, Backend, Endpoint, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_backends!(
    first_user_is_admin_and_login_sets_token_and_cookies,
    closed_server_refuses_anonymous_sign_up_but_admin_creates_users,
    duplicate_username_or_email_refused,
    invalid_sign_up_fields_refused,
    login_by_username_or_email_in_any_case,
    logout_ends_only_that_session,
    read_users_by_id_username_and_ids,
    list_users_pages_and_filters,
    emails_hidden_from_non_admins,
    token_in_header_or_query,
    cookie_auth_needs_csrf_proof_for_writes,
    expired_session_refused,
    get_with_json_body_accepted,
    concurrent_sign_ups_of_one_email_name_the_email,
);

async fn first_user_is_admin_and_login_sets_token_and_cookies(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let anonymous = server.client();
    let (status, admin) = anonymous
        .post("/users", json!({"username": "alice", "email": "Alice@Example.com", "password": "password-alice"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(admin["roles"], "system_user system_admin");
    assert_eq!(admin["email"], "alice@example.com");
    assert_eq!(admin["id"].as_str().unwrap().len(), 26);
    assert!(admin.get("password").is_none() && admin.get("password_hash").is_none());

    let (_, bob) = server.user("bob").await;
    assert_eq!(bob["roles"], "system_user");

    let response = anonymous
        .request(Method::POST, "/users/login")
        .json(&json!({"login_id": "ALICE", "password": "password-alice", "token": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let token = response.headers()["Token"].to_str().unwrap().to_string();
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(cookies
        .iter()
        .any(|c| c.starts_with(&format!("MMAUTHTOKEN={token};")) && c.contains("HttpOnly")));
    assert!(cookies.iter().any(|c| c.starts_with("MMCSRF=")));

    let alice = anonymous.with_token(&token);
    let (status, me) = alice.get("/users/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], admin["id"]);

    let wrong = anonymous
        .post(
            "/users/login",
            json!({"login_id": "alice", "password": "nope-nope"}),
        )
        .await;
    assert_error(
        &wrong,
        StatusCode::UNAUTHORIZED,
        "api.user.login.invalid_credentials_email_username",
    );

    let (status, body) = alice.post("/users/logout", json!({})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    let after = alice.get("/users/me").await;
    assert_error(
        &after,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    server.stop().await;
}

fn sign_up_body(username: &str) -> Value {
    json!({"username": username, "email": format!("{username}@example.com"), "password": format!("password-{username}")})
}

async fn closed_server_refuses_anonymous_sign_up_but_admin_creates_users(backend: Backend) {
    let Some(server) =
        TestServer::start_with(backend, |c| c.team_settings.enable_open_server = false).await
    else {
        return;
    };
    // The very first sign-up is always allowed: someone must become admin.
    let (admin, admin_user) = server.user("alice").await;
    assert_eq!(admin_user["roles"], "system_user system_admin");

    let anonymous = server.client();
    let refused = anonymous.post("/users", sign_up_body("bob")).await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.user.create_user.no_open_server",
    );
    assert_error(
        &admin.get("/users/username/bob").await,
        StatusCode::NOT_FOUND,
        "app.user.missing_account.const",
    );
    assert_eq!(server.count("users").await, 1);

    let (status, bob) = admin.post("/users", sign_up_body("bob")).await;
    assert_eq!(status, StatusCode::CREATED, "{bob}");
    assert_eq!(bob["roles"], "system_user");
    let bob_api = anonymous.login("bob", "password-bob").await;
    let (status, me) = bob_api.get("/users/me").await;
    assert_eq!((status, id(&me)), (StatusCode::OK, id(&bob)));

    // A signed-in non-admin is no better than an anonymous caller.
    let refused = bob_api.post("/users", sign_up_body("carol")).await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.user.create_user.no_open_server",
    );
    assert_eq!(server.count("users").await, 2);
    server.stop().await;
}

async fn duplicate_username_or_email_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("alice").await;
    server.user("bob").await;
    let anonymous = server.client();

    let same_name = anonymous
        .post(
            "/users",
            json!({"username": "BOB", "email": "other@example.com", "password": "password-x"}),
        )
        .await;
    assert_error(
        &same_name,
        StatusCode::BAD_REQUEST,
        "app.user.save.username_exists.app_error",
    );
    let same_email = anonymous
        .post(
            "/users",
            json!({"username": "bobby", "email": "Bob@Example.com", "password": "password-x"}),
        )
        .await;
    assert_error(
        &same_email,
        StatusCode::BAD_REQUEST,
        "app.user.save.email_exists.app_error",
    );

    assert_eq!(server.count("users").await, 2);
    let missing = admin.get("/users/username/bobby").await;
    assert_error(
        &missing,
        StatusCode::NOT_FOUND,
        "app.user.missing_account.const",
    );
    // The original account still logs in with its own password.
    anonymous.login("bob", "password-bob").await;
    server.stop().await;
}

async fn invalid_sign_up_fields_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("alice").await;
    let anonymous = server.client();
    let cases = [
        (
            "al",
            "al@example.com",
            "password-1",
            "model.user.is_valid.username.app_error",
        ),
        (
            "9lives",
            "nine@example.com",
            "password-1",
            "model.user.is_valid.username.app_error",
        ),
        (
            "bad name",
            "bad@example.com",
            "password-1",
            "model.user.is_valid.username.app_error",
        ),
        (
            "all",
            "all@example.com",
            "password-1",
            "model.user.is_valid.username.app_error",
        ),
        (
            &"a".repeat(23),
            "long@example.com",
            "password-1",
            "model.user.is_valid.username.app_error",
        ),
        (
            "carol",
            "not-an-email",
            "password-1",
            "model.user.is_valid.email.app_error",
        ),
        (
            "carol",
            "",
            "password-1",
            "model.user.is_valid.email.app_error",
        ),
        (
            "carol",
            "carol@example.com",
            "short",
            "model.user.is_valid.pwd.app_error",
        ),
        (
            "carol",
            "carol@example.com",
            "",
            "model.user.is_valid.pwd.app_error",
        ),
    ];
    for (username, email, password, error_id) in cases {
        let reply = anonymous
            .post(
                "/users",
                json!({"username": username, "email": email, "password": password}),
            )
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, error_id);
    }
    let (status, users) = admin.get("/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(server.count("users").await, 1);
    server.stop().await;
}

async fn login_by_username_or_email_in_any_case(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob) = server.user("bob").await;
    let anonymous = server.client();
    for login_id in ["bob", "BoB", "bob@example.com", "BOB@Example.COM"] {
        for token in [Value::Null, json!("")] {
            let response = anonymous
                .request(Method::POST, "/users/login")
                .json(&json!({"login_id": login_id, "password": "password-bob", "token": token, "deviceId": ""}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "login as {login_id}");
            let token = response.headers()["Token"].to_str().unwrap().to_string();
            let user: Value = response.json().await.unwrap();
            assert_eq!(id(&user), id(&bob));
            assert_eq!(user["email"], "bob@example.com");
            let (status, me) = anonymous.with_token(&token).get("/users/me").await;
            assert_eq!((status, id(&me)), (StatusCode::OK, id(&bob)));
        }
    }
    let wrong_password = anonymous
        .post(
            "/users/login",
            json!({"login_id": "bob", "password": "password-alice"}),
        )
        .await;
    assert_error(
        &wrong_password,
        StatusCode::UNAUTHORIZED,
        "api.user.login.invalid_credentials_email_username",
    );
    let unknown = anonymous
        .post(
            "/users/login",
            json!({"login_id": "nobody", "password": "password-bob"}),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::UNAUTHORIZED,
        "api.user.login.invalid_credentials_email_username",
    );
    let missing = anonymous
        .post("/users/login", json!({"password": "password-bob"}))
        .await;
    assert_error(
        &missing,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    server.stop().await;
}

async fn logout_ends_only_that_session(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (first, _) = server.user("bob").await;
    let second = server.client().login("bob", "password-bob").await;
    assert_ne!(first.token(), second.token());
    assert_eq!(server.count("sessions").await, 2);

    let (status, body) = first.post("/users/logout", json!({})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    assert_error(
        &first.get("/users/me").await,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    let (status, _) = second.get("/users/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.count("sessions").await, 1);

    // Without a session, or with a dead one, logout still answers 200 as Mattermost
    // does (matterbridge and other integrations call it blindly).
    let anonymous = server.client().post("/users/logout", json!({})).await;
    assert_eq!(anonymous, (StatusCode::OK, json!({"status": "OK"})));
    let stale = first.post("/users/logout", json!({})).await;
    assert_eq!(stale, (StatusCode::OK, json!({"status": "OK"})));
    assert_eq!(server.count("sessions").await, 1);
    server.stop().await;
}

async fn read_users_by_id_username_and_ids(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_user) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (_, carol_user) = server.user("carol").await;

    let (status, me) = bob.get("/users/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, bob_user);
    let (status, by_id) = bob.get(&format!("/users/{}", id(&bob_user))).await;
    assert_eq!((status, &by_id), (StatusCode::OK, &me));
    let (status, by_id) = alice.get(&format!("/users/{}", id(&bob_user))).await;
    assert_eq!((status, &by_id), (StatusCode::OK, &bob_user));

    let (status, by_name) = bob.get("/users/username/alice").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(id(&by_name), id(&alice_user));
    assert_eq!(by_name["username"], "alice");
    for field in [
        "id",
        "create_at",
        "update_at",
        "delete_at",
        "username",
        "email",
        "nickname",
        "first_name",
        "last_name",
        "position",
        "roles",
        "locale",
    ] {
        assert!(
            by_name.get(field).is_some(),
            "user without {field}: {by_name}"
        );
    }
    assert!(by_name.get("password").is_none() && by_name.get("password_hash").is_none());

    let (status, listed) = bob
        .post(
            "/users/ids",
            json!([id(&carol_user), id(&alice_user), chorus_model::new_id()]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut got = ids(&listed);
    got.sort();
    let mut want = vec![id(&alice_user), id(&carol_user)];
    want.sort();
    assert_eq!(got, want);
    let (status, none) = bob.post("/users/ids", json!([])).await;
    assert_eq!((status, none), (StatusCode::OK, json!([])));
    let bad = bob.post("/users/ids", json!(["not-an-id"])).await;
    assert_error(
        &bad,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );

    let unknown = bob.get(&format!("/users/{}", chorus_model::new_id())).await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "app.user.missing_account.const",
    );
    let unknown = bob.get("/users/username/nobody").await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "app.user.missing_account.const",
    );
    let anonymous = server.client().get("/users/me").await;
    assert_error(
        &anonymous,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    server.stop().await;
}

async fn list_users_pages_and_filters(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, _) = server.member(&alice, &team_id, "bob").await;
    let (_, carol) = server.member(&alice, &team_id, "carol").await;
    let (dave, _) = server.user("dave").await;
    server.user("erin").await;

    let usernames = |users: &Value| -> Vec<String> {
        users
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, all) = bob.get("/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(usernames(&all), ["alice", "bob", "carol", "dave", "erin"]);
    let mut paged = Vec::new();
    for page in 0..3 {
        let (status, users) = bob.get(&format!("/users?page={page}&per_page=2")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            users.as_array().unwrap().len(),
            if page < 2 { 2 } else { 1 }
        );
        paged.extend(usernames(&users));
    }
    assert_eq!(paged, usernames(&all));
    let (_, beyond) = bob.get("/users?page=3&per_page=2").await;
    assert_eq!(beyond, json!([]));
    let bad = bob.get("/users?page=-1").await;
    assert_error(
        &bad,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    let bad = bob.get("/users?per_page=lots").await;
    assert_error(
        &bad,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );

    let (status, in_team) = bob.get(&format!("/users?in_team={team_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(usernames(&in_team), ["alice", "bob", "carol"]);
    let (_, in_team_page) = bob
        .get(&format!("/users?in_team={team_id}&page=1&per_page=2"))
        .await;
    assert_eq!(usernames(&in_team_page), ["carol"]);
    let outsider = dave.get(&format!("/users?in_team={team_id}")).await;
    assert_error(
        &outsider,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );

    let private = alice.channel(&team_id, "inner", "P").await;
    alice.add_to_channel(&id(&private), &id(&carol)).await;
    let (status, in_channel) = alice
        .get(&format!("/users?in_channel={}", id(&private)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(usernames(&in_channel), ["alice", "carol"]);
    let (_, not_in_channel) = alice
        .get(&format!(
            "/users?in_team={team_id}&not_in_channel={}",
            id(&private)
        ))
        .await;
    assert_eq!(usernames(&not_in_channel), ["bob"]);
    let hidden = bob
        .get(&format!("/users?in_channel={}", id(&private)))
        .await;
    assert_error(
        &hidden,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    server.stop().await;
}

async fn emails_hidden_from_non_admins(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_user) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let alice_id = id(&alice_user);
    let bob_id = id(&bob_user);

    let (_, seen) = bob.get(&format!("/users/{alice_id}")).await;
    assert_eq!(seen["email"], "");
    assert_eq!(seen["username"], "alice");
    let (_, seen) = bob.get("/users/username/alice").await;
    assert_eq!(seen["email"], "");
    let (_, seen) = bob.post("/users/ids", json!([alice_id, bob_id])).await;
    for user in seen.as_array().unwrap() {
        let expected = if id(user) == bob_id {
            "bob@example.com"
        } else {
            ""
        };
        assert_eq!(user["email"], expected, "{user}");
    }
    let (_, listed) = bob.get("/users").await;
    for user in listed.as_array().unwrap() {
        let expected = if id(user) == bob_id {
            "bob@example.com"
        } else {
            ""
        };
        assert_eq!(user["email"], expected, "{user}");
    }
    let (_, me) = bob.get("/users/me").await;
    assert_eq!(me["email"], "bob@example.com");

    // A system admin sees everyone's address.
    let (_, seen) = alice.get(&format!("/users/{bob_id}")).await;
    assert_eq!(seen["email"], "bob@example.com");
    let (_, listed) = alice.get("/users").await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["email"].as_str().unwrap().ends_with("@example.com")));
    server.stop().await;
}

async fn token_in_header_or_query(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, bob_user) = server.user("bob").await;
    let token = bob.token().to_string();
    let anonymous = server.client();
    let me = |builder: reqwest::RequestBuilder| {
        let anonymous = anonymous.clone();
        async move { anonymous.send(builder).await }
    };
    for header in [
        format!("BEARER {token}"),
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("Token {token}"),
        format!("TOKEN {token}"),
    ] {
        let (status, user) = me(anonymous
            .request(Method::GET, "/users/me")
            .header("Authorization", &header))
        .await;
        assert_eq!(status, StatusCode::OK, "{header}: {user}");
        assert_eq!(id(&user), id(&bob_user));
    }
    let (status, user) =
        me(anonymous.request(Method::GET, &format!("/users/me?access_token={token}"))).await;
    assert_eq!((status, id(&user)), (StatusCode::OK, id(&bob_user)));

    for header in [
        "Basic abc".to_string(),
        format!("Bearer {}", chorus_model::new_id()),
        "Bearer".to_string(),
    ] {
        let reply = me(anonymous
            .request(Method::GET, "/users/me")
            .header("Authorization", &header))
        .await;
        assert_error(
            &reply,
            StatusCode::UNAUTHORIZED,
            "api.context.session_expired.app_error",
        );
    }
    let reply = me(anonymous.request(
        Method::GET,
        &format!("/users/me?access_token={}", chorus_model::new_id()),
    ))
    .await;
    assert_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    // A token is no password: writes authenticated by header need no CSRF proof.
    let (status, _) = bob
        .post(
            "/teams",
            json!({"name": "by-header", "display_name": "By header"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    server.stop().await;
}

async fn cookie_auth_needs_csrf_proof_for_writes(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob_user) = server.user("bob").await;
    let anonymous = server.client();
    let (token, csrf) = anonymous.login_cookies("bob", "password-bob").await;
    assert_ne!(token, csrf);
    let cookies = format!(
        "MMAUTHTOKEN={token}; MMUSERID={}; MMCSRF={csrf}",
        id(&bob_user)
    );

    let (status, me) = anonymous
        .send(
            anonymous
                .request(Method::GET, "/users/me")
                .header("Cookie", &cookies),
        )
        .await;
    assert_eq!((status, id(&me)), (StatusCode::OK, id(&bob_user)));

    let create = |name: &str| {
        anonymous
            .request(Method::POST, "/teams")
            .header("Cookie", &cookies)
            .json(&json!({"name": name, "display_name": name}))
    };
    let refused = anonymous.send(create("no-proof")).await;
    assert_error(
        &refused,
        StatusCode::UNAUTHORIZED,
        "api.context.csrf_check_failed.app_error",
    );
    let refused = anonymous
        .send(create("wrong-proof").header("X-CSRF-Token", chorus_model::new_id()))
        .await;
    assert_error(
        &refused,
        StatusCode::UNAUTHORIZED,
        "api.context.csrf_check_failed.app_error",
    );
    assert_eq!(server.count("teams").await, 0);

    let (status, team) = anonymous
        .send(create("csrf-token").header("X-CSRF-Token", &csrf))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (status, team) = anonymous
        .send(create("requested-with").header("X-Requested-With", "XMLHttpRequest"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (status, teams) = anonymous.with_token(&token).get("/users/me/teams").await;
    assert_eq!(status, StatusCode::OK);
    let mut names: Vec<&str> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["csrf-token", "requested-with"]);
    server.stop().await;
}

async fn expired_session_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let (status, _) = bob.get("/users/me").await;
    assert_eq!(status, StatusCode::OK);
    server
        .state
        .store
        .set_session_expiry(bob.token(), 0)
        .await
        .unwrap();
    for _ in 0..2 {
        let reply = bob.get("/users/me").await;
        assert_error(
            &reply,
            StatusCode::UNAUTHORIZED,
            "api.context.session_expired.app_error",
        );
    }
    let reply = bob
        .post("/teams", json!({"name": "late", "display_name": "Late"}))
        .await;
    assert_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    assert_eq!(server.count("teams").await, 0);
    // The expired session is gone; logging in again gives a fresh one.
    assert_eq!(server.count("sessions").await, 0);
    let again = server.client().login("bob", "password-bob").await;
    let (status, _) = again.get("/users/me").await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

/// mattermostdriver sends `{}` with `Content-Type: application/json` on every GET.
async fn get_with_json_body_accepted(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, bob_user) = server.user("bob").await;
    let team = bob.team("crew").await;
    let town_square = bob.channel_named(&id(&team), "town-square").await;
    bob.create_post(&id(&town_square), "hello").await;
    let with_body = |path: &str| bob.request(Method::GET, path).json(&json!({}));

    let (status, me) = bob.send(with_body("/users/me")).await;
    assert_eq!((status, id(&me)), (StatusCode::OK, id(&bob_user)));
    let (status, teams) = bob.send(with_body("/users/me/teams")).await;
    assert_eq!((status, ids(&teams)), (StatusCode::OK, vec![id(&team)]));
    let (status, posts) = bob
        .send(with_body(&format!(
            "/channels/{}/posts?page=0&per_page=60",
            id(&town_square)
        )))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(posts["order"].as_array().unwrap().len(), 1);
    let (status, ping) = server
        .client()
        .send(
            server
                .client()
                .request(Method::GET, "/system/ping")
                .json(&json!({})),
        )
        .await;
    assert_eq!((status, &ping["status"]), (StatusCode::OK, &json!("OK")));
    server.stop().await;
}

/// Two sign-ups racing for one email address (both pass the early checks while their
/// passwords hash): one wins, the other is told the *email* is taken.
async fn concurrent_sign_ups_of_one_email_name_the_email(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    for round in 0..3 {
        let mut tasks = Vec::new();
        for n in 0..2 {
            let anonymous = server.client();
            let body = json!({"username": format!("racer{round}x{n}"), "email": format!("race{round}@example.com"), "password": "password-race"});
            tasks.push(tokio::spawn(
                async move { anonymous.post("/users", body).await },
            ));
        }
        let mut replies = Vec::new();
        for task in tasks {
            replies.push(task.await.expect("sign-up"));
        }
        replies.sort_by_key(|(status, _)| *status);
        assert_eq!(replies[0].0, StatusCode::CREATED, "{:?}", replies);
        assert_error(
            &replies[1],
            StatusCode::BAD_REQUEST,
            "app.user.save.email_exists.app_error",
        );
    }
    // And racing for one username names the username.
    let mut tasks = Vec::new();
    for n in 0..2 {
        let anonymous = server.client();
        let body = json!({"username": "samename", "email": format!("same{n}@example.com"), "password": "password-same"});
        tasks.push(tokio::spawn(
            async move { anonymous.post("/users", body).await },
        ));
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("sign-up"));
    }
    replies.sort_by_key(|(status, _)| *status);
    assert_eq!(replies[0].0, StatusCode::CREATED, "{:?}", replies);
    assert_error(
        &replies[1],
        StatusCode::BAD_REQUEST,
        "app.user.save.username_exists.app_error",
    );
    assert_eq!(server.count("users").await, 5);
    server.stop().await;
}

/// Several people signing up at once on a fresh PostgreSQL database (as on the nodes of
/// a new cluster): exactly one of them becomes system admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_sign_ups_make_exactly_one_admin() {
    let Some(server) = TestServer::start(Backend::Postgres).await else {
        return;
    };
    let sign_ups: Vec<_> = (0..8)
        .map(|i| {
            let client = server.client();
            tokio::spawn(async move {
                let name = format!("early{i}");
                client
                    .post(
                        "/users",
                        json!({"username": name, "email": format!("{name}@example.com"), "password": "password-early"}),
                    )
                    .await
            })
        })
        .collect();
    let mut admins = 0;
    for sign_up in sign_ups {
        let (status, user) = sign_up.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{user}");
        if user["roles"].as_str().unwrap().contains("system_admin") {
            admins += 1;
        }
    }
    assert_eq!(admins, 1, "one first user, one admin");
    server.stop().await;
}
