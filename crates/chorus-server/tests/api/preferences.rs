//! Preferences: saved, read, deleted and announced to the user; what is refused.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    preferences_are_saved_read_and_deleted,
    preferences_are_refused_where_they_should_be,
);

fn preference(user: &Value, category: &str, name: &str, value: &str) -> Value {
    json!({"user_id": user["id"], "category": category, "name": name, "value": value})
}

async fn preferences_are_saved_read_and_deleted(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_admin, _) = server.user("admin").await;
    let (bob, bob_user) = server.user("bob").await;
    let mut socket = Ws::ready(&server, bob.token()).await;
    let (status, all) = bob.get("/users/me/preferences").await;
    assert_eq!((status, all), (StatusCode::OK, json!([])));

    let saved = json!([
        preference(&bob_user, "display_settings", "use_military_time", "true"),
        preference(&bob_user, "theme", "", r##"{"sidebarBg":"#1e325c"}"##),
        preference(&bob_user, "direct_channel_show", &id(&bob_user), "true"),
    ]);
    let (status, body) = bob.put("/users/me/preferences", saved.clone()).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    let event = socket.next_event("preferences_changed").await;
    let announced: Value =
        serde_json::from_str(event["data"]["preferences"].as_str().unwrap()).unwrap();
    assert_eq!(announced, saved);
    assert_eq!(event["broadcast"]["user_id"], bob_user["id"]);

    // Saving again replaces the value (an upsert).
    let changed = json!([preference(
        &bob_user,
        "display_settings",
        "use_military_time",
        "false"
    )]);
    assert_eq!(
        bob.put("/users/me/preferences", changed).await.0,
        StatusCode::OK
    );
    socket.next_event("preferences_changed").await;
    let (_, all) = bob
        .get(&format!("/users/{}/preferences", id(&bob_user)))
        .await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let (status, one) = bob
        .get("/users/me/preferences/display_settings/name/use_military_time")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["value"], "false");
    let (status, category) = bob.get("/users/me/preferences/theme").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(category.as_array().unwrap().len(), 1);

    let doomed = json!([preference(&bob_user, "theme", "", "")]);
    let (status, body) = bob.post("/users/me/preferences/delete", doomed).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    let event = socket.next_event("preferences_deleted").await;
    assert!(event["data"]["preferences"]
        .as_str()
        .unwrap()
        .contains("theme"));
    assert_error(
        &bob.get("/users/me/preferences/theme").await,
        StatusCode::NOT_FOUND,
        "api.preference.preferences_category.get.app_error",
    );
    assert_error(
        &bob.get("/users/me/preferences/display_settings/name/nope")
            .await,
        StatusCode::BAD_REQUEST,
        "app.preference.get.app_error",
    );
    assert_eq!(server.count("preferences").await, 2);
    server.stop().await;
}

async fn preferences_are_refused_where_they_should_be(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    let (bob, bob_user) = server.user("bob").await;
    let (carol, _) = server.user("carol").await;

    // Someone else's: only admins.
    assert_error(
        &carol
            .get(&format!("/users/{}/preferences", id(&bob_user)))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &carol
            .put(
                &format!("/users/{}/preferences", id(&bob_user)),
                json!([preference(&bob_user, "display_settings", "x", "y")]),
            )
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, _) = admin
        .put(
            &format!("/users/{}/preferences", id(&bob_user)),
            json!([preference(
                &bob_user,
                "display_settings",
                "set_by_admin",
                "1"
            )]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A body naming another user than the path.
    assert_error(
        &bob.put(
            "/users/me/preferences",
            json!([preference(&admin_user, "display_settings", "x", "y")]),
        )
        .await,
        StatusCode::FORBIDDEN,
        "api.preference.update_preferences.set.app_error",
    );
    assert_error(
        &bob.post(
            "/users/me/preferences/delete",
            json!([preference(&admin_user, "display_settings", "x", "")]),
        )
        .await,
        StatusCode::FORBIDDEN,
        "api.preference.delete_preferences.delete.app_error",
    );
    // Batches: none, too many, or one bad item saves nothing.
    assert_error(
        &bob.put("/users/me/preferences", json!([])).await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    let many: Vec<Value> = (0..101)
        .map(|i| preference(&bob_user, "display_settings", &format!("n{i}"), "v"))
        .collect();
    assert_error(
        &bob.put("/users/me/preferences", json!(many)).await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    for (bad, error) in [
        (
            preference(&bob_user, "", "x", "y"),
            "model.preference.is_valid.category.app_error",
        ),
        (
            preference(&bob_user, &"c".repeat(33), "x", "y"),
            "model.preference.is_valid.category.app_error",
        ),
        (
            preference(&bob_user, "display_settings", &"n".repeat(33), "y"),
            "model.preference.is_valid.name.app_error",
        ),
        (
            preference(&bob_user, "display_settings", "x", &"v".repeat(20_001)),
            "model.preference.is_valid.value.app_error",
        ),
        (
            preference(&bob_user, "theme", "", "not json"),
            "model.preference.is_valid.theme.app_error",
        ),
    ] {
        let batch = json!([preference(&bob_user, "display_settings", "fine", "1"), bad]);
        assert_error(
            &bob.put("/users/me/preferences", batch).await,
            StatusCode::BAD_REQUEST,
            error,
        );
    }
    // A flagged post must exist and be readable.
    assert_error(
        &bob.put(
            "/users/me/preferences",
            json!([preference(
                &bob_user,
                "flagged_post",
                &chorus_model::new_id(),
                "true"
            )]),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    let team = id(&admin.team("crew").await);
    let secret = id(&admin.channel(&team, "secret", "P").await);
    let hidden = admin.create_post(&secret, "admins only").await;
    let refused = bob
        .put(
            "/users/me/preferences",
            json!([preference(&bob_user, "flagged_post", &id(&hidden), "true")]),
        )
        .await;
    assert!(
        refused.0 == StatusCode::FORBIDDEN || refused.0 == StatusCode::NOT_FOUND,
        "{refused:?}"
    );
    assert_error(
        &bob.get("/users/me/preferences/bad%20category").await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    // Only the admin's one preference for bob was ever stored.
    assert_eq!(server.count("preferences").await, 1);
    server.stop().await;
}
