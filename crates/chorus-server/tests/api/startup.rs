//! The calls Mattermost's apps make at start-up: the user's team memberships and
//! unread counts per team, the built-in roles and the channel sidebar's categories.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer};
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    team_memberships_and_unreads_of_a_user,
    built_in_roles_by_name,
    sidebar_categories_follow_channels_and_favorites,
);

async fn team_memberships_and_unreads_of_a_user(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let crew = id(&admin.team("crew").await);
    let band = id(&admin.team("band").await);
    let (bob, bob_user) = server.member(&admin, &crew, "bob").await;
    admin.add_to_team(&band, &id(&bob_user)).await;
    let (carol, _) = server.user("carol").await;

    let (status, members) = bob.get("/users/me/teams/members").await;
    assert_eq!(status, StatusCode::OK, "{members}");
    let mut teams: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["team_id"].as_str().unwrap())
        .collect();
    teams.sort();
    let mut expected = [crew.as_str(), band.as_str()];
    expected.sort();
    assert_eq!(teams, expected);
    let member = &members[0];
    assert_eq!(member["user_id"], bob_user["id"]);
    assert_eq!(member["roles"], "team_user");
    assert_eq!(member["explicit_roles"], "");
    assert_eq!(
        (
            member["scheme_user"].clone(),
            member["scheme_guest"].clone()
        ),
        (json!(true), json!(false))
    );
    let (_, admins) = admin.get("/users/me/teams/members").await;
    assert!(admins
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["scheme_admin"] == true));
    assert_error(
        &carol
            .get(&format!("/users/{}/teams/members", id(&bob_user)))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );

    // Three posts in crew's town square and one reply: bob has read none of them.
    let town = id(&admin.channel_named(&crew, "town-square").await);
    let root = admin.create_post(&town, "one").await;
    admin.create_post(&town, "two").await;
    let (status, _) = admin
        .post(
            "/posts",
            json!({"channel_id": town, "message": "three", "root_id": id(&root)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, unread) = bob.get("/users/me/teams/unread").await;
    assert_eq!(status, StatusCode::OK, "{unread}");
    let crew_unread = unread
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team_id"] == json!(crew))
        .unwrap_or_else(|| panic!("crew is listed: {unread}"));
    assert_eq!(crew_unread["msg_count"], 3);
    assert_eq!(crew_unread["msg_count_root"], 2);
    assert_eq!(crew_unread["mention_count"], 0);
    assert_eq!(crew_unread["thread_count"], 0);
    let band_unread = unread
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team_id"] == json!(band))
        .unwrap();
    assert_eq!(band_unread["msg_count"], 0);

    // Read: nothing left in crew; excluding a team leaves it out.
    let (status, _) = bob
        .post("/channels/members/me/view", json!({"channel_id": town}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, unread) = bob
        .get(&format!("/users/me/teams/unread?exclude_team={band}"))
        .await;
    assert_eq!(unread.as_array().unwrap().len(), 1, "{unread}");
    assert_eq!(unread[0]["team_id"], json!(crew));
    assert_eq!(unread[0]["msg_count"], 0);
    assert_eq!(unread[0]["msg_count_root"], 0);
    assert_error(
        &carol
            .get(&format!("/users/{}/teams/unread", id(&bob_user)))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    server.stop().await;
}

async fn built_in_roles_by_name(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_admin, _) = server.user("admin").await;
    let (bob, _) = server.user("bob").await;
    let (status, role) = bob.get("/roles/name/system_user").await;
    assert_eq!(status, StatusCode::OK, "{role}");
    assert_eq!(role["name"], "system_user");
    assert_eq!(role["built_in"], true);
    assert_eq!(role["scheme_managed"], true);
    assert_eq!(role["id"].as_str().unwrap().len(), 26);
    let permissions: Vec<&str> = role["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        permissions.contains(&"create_direct_channel"),
        "{permissions:?}"
    );
    assert!(!permissions.contains(&"manage_system"));
    let (_, again) = bob.get("/roles/name/system_user").await;
    assert_eq!(again["id"], role["id"], "a role's id is stable");

    let (status, roles) = bob
        .post(
            "/roles/names",
            json!([
                "channel_user",
                "team_admin",
                "no_such_role",
                "channel_user",
                ""
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{roles}");
    let mut names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["channel_user", "team_admin"]);
    let (_, by_id) = bob
        .get(&format!("/roles/{}", roles[0]["id"].as_str().unwrap()))
        .await;
    assert_eq!(by_id["name"], roles[0]["name"]);
    let (_, admin_role) = bob.get("/roles/name/system_admin").await;
    assert!(admin_role["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("manage_system")));
    let (_, token_role) = bob.get("/roles/name/system_user_access_token").await;
    assert_eq!(token_role["scheme_managed"], false);
    assert_eq!(
        token_role["permissions"],
        json!([
            "create_user_access_token",
            "read_user_access_token",
            "revoke_user_access_token"
        ])
    );

    assert_error(
        &bob.get("/roles/name/wizard").await,
        StatusCode::NOT_FOUND,
        "app.role.get_by_name.app_error",
    );
    assert_error(
        &bob.get(&format!("/roles/{}", chorus_model::new_id())).await,
        StatusCode::NOT_FOUND,
        "app.role.get.app_error",
    );
    assert_error(
        &bob.post("/roles/names", json!([])).await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    assert_error(
        &bob.post("/roles/names", json!(["Bad Name"])).await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    let many: Vec<String> = (0..101).map(|i| format!("role_{i}")).collect();
    assert_error(
        &bob.post("/roles/names", json!(many)).await,
        StatusCode::BAD_REQUEST,
        "api.roles.get_multiple_by_name_too_many.request_error",
    );
    server.stop().await;
}

async fn sidebar_categories_follow_channels_and_favorites(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    let crew = id(&admin.team("crew").await);
    let (bob, bob_user) = server.member(&admin, &crew, "bob").await;
    let ops = id(&admin.channel(&crew, "ops", "O").await);
    admin.add_to_channel(&ops, &id(&bob_user)).await;
    let (status, dm) = bob
        .post(
            "/channels/direct",
            json!([bob_user["id"], admin_user["id"]]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dm}");
    let path = format!("/users/me/teams/{crew}/channels/categories");

    let (status, sidebar) = bob.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{sidebar}");
    let bob_id = id(&bob_user);
    let ids: Vec<String> = ["favorites", "channels", "direct_messages"]
        .iter()
        .map(|kind| format!("{kind}_{bob_id}_{crew}"))
        .collect();
    assert_eq!(sidebar["order"], json!(ids));
    let categories = sidebar["categories"].as_array().unwrap();
    assert_eq!(categories[0]["display_name"], "Favorites");
    assert_eq!(categories[0]["channel_ids"], json!([]));
    assert_eq!(categories[2]["sorting"], "recent");
    assert_eq!(categories[2]["channel_ids"], json!([id(&dm)]));
    let in_channels = categories[1]["channel_ids"].as_array().unwrap();
    assert!(in_channels.contains(&json!(ops)), "{sidebar}");
    assert!(!in_channels.contains(&json!(id(&dm))));

    // A favorite moves from Channels to Favorites.
    let favorite =
        json!([{"user_id": bob_id, "category": "favorite_channel", "name": ops, "value": "true"}]);
    assert_eq!(
        bob.put("/users/me/preferences", favorite).await.0,
        StatusCode::OK
    );
    let (_, sidebar) = bob.get(&path).await;
    assert_eq!(sidebar["categories"][0]["channel_ids"], json!([ops]));
    assert!(!sidebar["categories"][1]["channel_ids"]
        .as_array()
        .unwrap()
        .contains(&json!(ops)));

    // Another team of which bob is no member: nothing.
    let band = id(&admin.team("band").await);
    let (status, none) = bob
        .get(&format!("/users/me/teams/{band}/channels/categories"))
        .await;
    assert_eq!(
        (status, none),
        (StatusCode::OK, json!({"categories": [], "order": []}))
    );
    let (carol, _) = server.user("carol").await;
    assert_error(
        &carol
            .get(&format!("/users/{bob_id}/teams/{crew}/channels/categories"))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    server.stop().await;
}
