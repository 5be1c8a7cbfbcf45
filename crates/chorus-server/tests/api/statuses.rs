//! Statuses: online while a socket is open, offline when the last one closes, away
//! when idle, manual statuses and timed do-not-disturb kept until changed, and the
//! REST and websocket calls that read and set them.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    statuses_follow_sockets_and_choices,
    idle_users_turn_away_and_come_back,
    custom_statuses_show_on_the_user,
);

/// Polls a user's status until it is `expected` (the server writes it when a socket
/// closes, just after the client sees the close).
async fn wait_status(api: &crate::common::Api, user_id: &str, expected: &str) -> Value {
    for _ in 0..100 {
        let (_, status) = api.get(&format!("/users/{user_id}/status")).await;
        if status["status"] == expected {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{user_id} never became {expected}");
}

async fn statuses_follow_sockets_and_choices(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_user) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let alice_id = id(&alice_user);
    let bob_id = id(&bob_user);

    let (status, never_seen) = bob.get(&format!("/users/{alice_id}/status")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        never_seen,
        json!({"user_id": alice_id, "status": "offline", "manual": false,
               "last_activity_at": 0, "dnd_end_time": 0})
    );

    // A socket makes her online; her other sockets hear it, the new one does not.
    let mut first = Ws::ready(&server, alice.token()).await;
    let online = wait_status(&bob, &alice_id, "online").await;
    assert_eq!(online["manual"], false);
    assert!(online["last_activity_at"].as_i64().unwrap() > 0);
    first.expect_silence().await;
    let (_, statuses) = bob
        .post("/users/status/ids", json!([alice_id, bob_id]))
        .await;
    assert_eq!(statuses[0]["status"], "online");
    assert_eq!(statuses[1]["status"], "offline");
    let reply = first
        .request(
            "get_statuses_by_ids",
            json!({"user_ids": [alice_id, bob_id]}),
        )
        .await;
    assert_eq!(reply["data"][&alice_id], "online");
    assert_eq!(reply["data"][&bob_id], "offline");
    let reply = first.request("get_statuses", json!({})).await;
    assert_eq!(reply["data"], json!({alice_id.clone(): "online"}));

    // Do not disturb, until a time rounded down to the minute; it outlives sockets.
    let end = (chrono_seconds() + 3600) / 60 * 60 + 17;
    let (status, dnd) = alice
        .put(
            "/users/me/status",
            json!({"user_id": alice_id, "status": "dnd", "dnd_end_time": end}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dnd}");
    assert_eq!(dnd["status"], "dnd");
    assert_eq!(dnd["manual"], true);
    assert_eq!(dnd["dnd_end_time"], end - 17);
    let change = first.next_event("status_change").await;
    assert_eq!(
        change["data"],
        json!({"status": "dnd", "user_id": alice_id})
    );
    let second = Ws::ready(&server, alice.token()).await;
    second.close().await;
    first.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        bob.get(&format!("/users/{alice_id}/status")).await.1["status"],
        "dnd"
    );

    // Back online by hand: activity decides again, and closing the last socket
    // makes her offline.
    let (_, back) = alice
        .put(
            &format!("/users/{alice_id}/status"),
            json!({"user_id": alice_id, "status": "online"}),
        )
        .await;
    assert_eq!(
        (back["status"].clone(), back["manual"].clone()),
        (json!("online"), json!(false))
    );
    let socket = Ws::ready(&server, alice.token()).await;
    socket.close().await;
    wait_status(&bob, &alice_id, "offline").await;

    // Posting without a socket (a script on REST alone) does not make her online.
    let team_id = id(&alice.team("crew").await);
    let town = id(&alice.channel_named(&team_id, "town-square").await);
    alice.create_post(&town, "from a script").await;
    assert_eq!(
        bob.get(&format!("/users/{alice_id}/status")).await.1["status"],
        "offline"
    );

    // Away by hand stays away while she is connected.
    alice
        .put(
            "/users/me/status",
            json!({"user_id": alice_id, "status": "away"}),
        )
        .await;
    let mut socket = Ws::ready(&server, alice.token()).await;
    let reply = socket
        .request("user_update_active_status", json!({"user_is_active": true}))
        .await;
    assert_eq!(reply["status"], "OK");
    let away = bob.get(&format!("/users/{alice_id}/status")).await.1;
    assert_eq!(
        (away["status"].clone(), away["manual"].clone()),
        (json!("away"), json!(true))
    );

    // Refusals change nothing.
    assert_error(
        &bob.put(
            &format!("/users/{alice_id}/status"),
            json!({"user_id": alice_id, "status": "offline"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    for body in [
        json!({"user_id": alice_id, "status": "sleeping"}),
        json!({"user_id": bob_id, "status": "online"}),
        json!({"user_id": alice_id, "status": "dnd", "dnd_end_time": 1000}),
    ] {
        assert_error(
            &alice.put("/users/me/status", body).await,
            StatusCode::BAD_REQUEST,
            "api.context.invalid_param.app_error",
        );
    }
    assert_error(
        &bob.post("/users/status/ids", json!([])).await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    assert_eq!(
        bob.get(&format!("/users/{alice_id}/status")).await.1["status"],
        "away"
    );
}

fn chrono_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn idle_users_turn_away_and_come_back(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |config| {
        config.team_settings.user_status_away_timeout = 1;
        config.cluster_settings.heartbeat_seconds = 1;
    })
    .await
    else {
        return;
    };
    let (alice, alice_user) = server.user("alice").await;
    let alice_id = id(&alice_user);
    let mut first = Ws::ready(&server, alice.token()).await;
    let mut second = Ws::ready(&server, alice.token()).await;
    // Idle past the timeout: away, announced to every socket of hers.
    let change = first.next_event("status_change").await;
    assert_eq!(
        change["data"],
        json!({"status": "away", "user_id": alice_id})
    );
    second.next_event("status_change").await;
    // Activity brings her back; the client told it so.
    let reply = first
        .request("user_update_active_status", json!({"user_is_active": true}))
        .await;
    assert_eq!(reply["status"], "OK");
    let change = second.next_event("status_change").await;
    assert_eq!(change["data"]["status"], "online");
    assert_eq!(
        first.next_event("status_change").await["data"]["status"],
        "online"
    );
    // Idle again, then posting brings her back.
    assert_eq!(
        first.next_event("status_change").await["data"]["status"],
        "away"
    );
    second.next_event("status_change").await;
    let team_id = id(&alice.team("crew").await);
    let town = id(&alice.channel_named(&team_id, "town-square").await);
    alice.create_post(&town, "back").await;
    assert_eq!(
        second.expect_event("status_change").await["data"]["status"],
        "online"
    );
    first.expect_event("status_change").await;
    // An inactive client with `manual` sets away that activity does not undo.
    let reply = first
        .request(
            "user_update_active_status",
            json!({"user_is_active": false, "manual": true}),
        )
        .await;
    assert_eq!(reply["status"], "OK");
    assert_eq!(
        second.next_event("status_change").await["data"]["status"],
        "away"
    );
    first.next_event("status_change").await;
    first
        .request("user_update_active_status", json!({"user_is_active": true}))
        .await;
    let status = alice.get("/users/me/status").await.1;
    assert_eq!(
        (status["status"].clone(), status["manual"].clone()),
        (json!("away"), json!(true))
    );
}

/// The custom status a `user_updated` event or a user carries, parsed.
fn custom_status_of(user: &Value) -> Value {
    match user["props"]["customStatus"].as_str() {
        Some("") | None => Value::Null,
        Some(text) => serde_json::from_str(text).expect("customStatus is JSON text"),
    }
}

async fn custom_statuses_show_on_the_user(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (alice, alice_user) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let alice_id = id(&alice_user);
    let mut alice_ws = Ws::ready(&server, alice.token()).await;
    let mut bob_ws = Ws::ready(&server, bob.token()).await;
    let custom = |emoji: &str, text: &str| json!({"emoji": emoji, "text": text});

    let (status, body) = alice
        .put("/users/me/status/custom", custom("palm_tree", "On holiday"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "OK");
    // Everyone's clients learn it; only alice's see her email.
    let seen_by_bob = bob_ws.expect_event("user_updated").await;
    let user = &seen_by_bob["data"]["user"];
    assert_eq!(user["id"], json!(alice_id));
    assert_eq!(user["email"], "");
    assert_eq!(custom_status_of(user)["text"], "On holiday");
    let seen_by_alice = alice_ws.expect_event("user_updated").await;
    assert_eq!(seen_by_alice["data"]["user"]["email"], "alice@example.com");
    let (_, read) = bob.get(&format!("/users/{alice_id}")).await;
    assert_eq!(
        custom_status_of(&read),
        json!({"emoji": "palm_tree", "text": "On holiday", "duration": "",
               "expires_at": "0001-01-01T00:00:00Z"})
    );

    // Durations need a future expiry; a time alone means "until then"; long texts are cut.
    for bad in [
        json!({}),
        custom("no_such_emoji_here", "x"),
        json!({"emoji": "coffee", "duration": "one_hour"}),
        json!({"emoji": "coffee", "duration": "one_hour", "expires_at": "2001-01-01T00:00:00Z"}),
        json!({"emoji": "coffee", "duration": "fortnight", "expires_at": "2999-01-01T00:00:00Z"}),
        json!({"emoji": "coffee", "expires_at": "next tuesday"}),
    ] {
        let reply = alice.put("/users/me/status/custom", bad.clone()).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "api.context.invalid_param.app_error",
        );
    }
    let (status, _) = alice
        .put(
            "/users/me/status/custom",
            json!({"emoji": "coffee", "text": "x".repeat(150), "expires_at": "2999-01-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = alice.get("/users/me").await;
    let kept = custom_status_of(&read);
    assert_eq!(kept["text"].as_str().unwrap().len(), 100);
    assert_eq!(kept["duration"], "date_and_time");

    // Only the user or an admin sets it.
    let reply = bob
        .put(
            &format!("/users/{alice_id}/status/custom"),
            custom("coffee", "x"),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, _) = admin
        .put(
            &format!("/users/{alice_id}/status/custom"),
            custom("sunny", "Set by admin"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The five most recent are kept, newest first, one per text.
    for text in ["a", "b", "On holiday", "c", "d"] {
        let (status, _) = alice
            .put("/users/me/status/custom", custom("coffee", text))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let recent = |api: crate::common::Api| async move {
        let (_, prefs) = api
            .get("/users/me/preferences/custom_status/name/recent_custom_statuses")
            .await;
        let list: Vec<Value> = serde_json::from_str(prefs["value"].as_str().unwrap()).unwrap();
        list.iter()
            .map(|s| s["text"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        recent(alice.clone()).await,
        ["d", "c", "On holiday", "b", "a"]
    );
    let (status, _) = alice
        .post(
            "/users/me/status/custom/recent/delete",
            json!({"emoji": "coffee", "text": "b", "duration": "",
                   "expires_at": "0001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recent(alice.clone()).await, ["d", "c", "On holiday", "a"]);

    // Cleared: the prop is empty, and clients are told.
    let (status, _) = alice.delete("/users/me/status/custom").await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = bob.get(&format!("/users/{alice_id}")).await;
    assert_eq!(read["props"]["customStatus"], "");
    loop {
        let event = bob_ws.expect_event("user_updated").await;
        if event["data"]["user"]["props"]["customStatus"] == "" {
            break;
        }
    }
    server.stop().await;

    let Some(server) = TestServer::start_with(backend, |config| {
        config.team_settings.enable_custom_user_statuses = false;
    })
    .await
    else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let reply = alice
        .put("/users/me/status/custom", custom("coffee", "x"))
        .await;
    assert_error(
        &reply,
        StatusCode::NOT_IMPLEMENTED,
        "api.custom_status.disabled",
    );
    server.stop().await;
}
