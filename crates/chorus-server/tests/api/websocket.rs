//! The websocket: authentication, hello, actions, events and who gets them, sequence
//! numbers, resumption, and the protocol details real clients depend on.

use crate::both_backends;
use crate::common::{event_post, id, strings, Api, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

both_backends!(
    challenge_then_hello_at_seq_zero,
    events_caused_right_after_the_challenge_arrive,
    credentials_at_upgrade_skip_the_challenge,
    ping_action_answers_pong,
    posted_event_carries_channel_details_and_mentions,
    post_edited_and_post_deleted_events,
    channel_and_membership_events,
    seq_is_contiguous_across_many_events,
    events_reach_only_allowed_users,
    resume_replays_missed_events,
    unresumable_connections_get_a_new_id_and_hello,
    logout_closes_that_sessions_sockets,
    invalid_challenge_fails_without_hello,
    malformed_frames_fail_and_the_socket_survives,
    protocol_ping_gets_pong,
);

/// `alice` (system admin), and `bob` who created team `crew` with `carol` in it; all
/// three are in its town-square.
struct Crew {
    alice: Api,
    bob: Api,
    bob_user: Value,
    carol: Api,
    carol_user: Value,
    team_id: String,
    town_square: String,
}

async fn crew(server: &TestServer) -> Crew {
    let (alice, alice_user) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let (carol, carol_user) = server.member(&bob, &team_id, "carol").await;
    bob.add_to_team(&team_id, &id(&alice_user)).await;
    let town_square = id(&bob.channel_named(&team_id, "town-square").await);
    Crew {
        alice,
        bob,
        bob_user,
        carol,
        carol_user,
        team_id,
        town_square,
    }
}

fn connection_id(hello: &Value) -> String {
    hello["data"]["connection_id"]
        .as_str()
        .expect("connection_id")
        .to_string()
}

async fn challenge_then_hello_at_seq_zero(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, bob_user) = server.user("bob").await;
    let mut ws = Ws::open(&server, "connection_id=&sequence_number=0").await;
    let reply = ws
        .request("authentication_challenge", json!({"token": bob.token()}))
        .await;
    assert_eq!(reply, json!({"status": "OK", "seq_reply": 1}));

    let hello = ws.hello().await;
    let connection = connection_id(&hello);
    assert_eq!(connection.len(), 26);
    assert!(chorus_model::is_valid_id(&connection));
    assert_eq!(
        hello["data"]["server_version"],
        server.state.client_config.version_id
    );
    assert!(!hello["data"]["server_hostname"]
        .as_str()
        .unwrap()
        .is_empty());
    assert_eq!(hello["broadcast"]["user_id"], bob_user["id"]);

    // Every connection gets its own id.
    let mut other = Ws::connect(&server, bob.token(), "").await;
    assert_ne!(connection_id(&other.hello().await), connection);
    ws.expect_silence().await;
    server.stop().await;
}

/// A client may act as soon as its challenge is answered: the connection is already
/// attached by then, so the events its actions cause are not lost.
async fn events_caused_right_after_the_challenge_arrive(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let mut ws = Ws::connect(&server, c.bob.token(), "").await;
    let post = c.bob.create_post(&c.town_square, "right away").await;
    ws.hello().await;
    let posted = ws.next_event("posted").await;
    assert_eq!(posted["seq"], 1);
    assert_eq!(event_post(&posted), post);
    server.stop().await;
}

async fn credentials_at_upgrade_skip_the_challenge(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    for header in [
        format!("BEARER {}", c.bob.token()),
        format!("Token {}", c.bob.token()),
    ] {
        let mut ws = Ws::open_with_header(&server, &header).await;
        let hello = ws.hello().await;
        assert_eq!(hello["broadcast"]["user_id"], c.bob_user["id"]);
        let reply = ws.request("ping", json!({})).await;
        assert_eq!(reply["status"], "OK");
        let post = c
            .carol
            .create_post(&c.town_square, "for the header socket")
            .await;
        assert_eq!(event_post(&ws.next_event("posted").await)["id"], post["id"]);
    }
    let mut ws = Ws::open(&server, &format!("access_token={}", c.bob.token())).await;
    assert_eq!(ws.hello().await["broadcast"]["user_id"], c.bob_user["id"]);

    // A stale token at upgrade is no error: the socket waits for a challenge instead.
    let mut ws = Ws::open_with_header(&server, &format!("Bearer {}", chorus_model::new_id())).await;
    ws.expect_silence().await;
    let reply = ws
        .request(
            "authentication_challenge",
            json!({"token": c.carol.token()}),
        )
        .await;
    assert_eq!(reply["status"], "OK");
    assert_eq!(ws.hello().await["broadcast"]["user_id"], c.carol_user["id"]);
    server.stop().await;
}

async fn ping_action_answers_pong(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let mut ws = Ws::ready(&server, bob.token()).await;
    for _ in 0..3 {
        let reply = ws.request("ping", json!({})).await;
        assert_eq!(reply["status"], "OK", "{reply}");
        assert!(reply["seq_reply"].as_i64().unwrap() >= 2);
        assert_eq!(reply["data"]["text"], "pong");
        assert_eq!(reply["data"]["version"], chorus_server::MATTERMOST_VERSION);
        assert!(reply["data"]["server_time"].as_i64().unwrap() > 1_000_000_000_000);
        assert_eq!(reply["data"]["node_id"], json!(server.state.node_id));
        assert!(reply.get("error").is_none());
    }
    // The official client pings without `data`.
    ws.send_json(json!({"action": "ping", "seq": 9})).await;
    let reply = ws.next_frame().await.expect("pong");
    assert_eq!(
        (&reply["seq_reply"], &reply["data"]["text"]),
        (&json!(9), &json!("pong"))
    );
    server.stop().await;
}

async fn posted_event_carries_channel_details_and_mentions(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let mut bob_ws = Ws::ready(&server, c.bob.token()).await;
    let mut carol_ws = Ws::ready(&server, c.carol.token()).await;

    let post = c
        .carol
        .create_post(&c.town_square, "hey @bob, and @nobody")
        .await;
    for ws in [&mut bob_ws, &mut carol_ws] {
        let event = ws.next_event("posted").await;
        assert_eq!(event["seq"], 1);
        assert!(
            event["data"]["post"].is_string(),
            "data.post must be a JSON string: {event}"
        );
        assert_eq!(event_post(&event), post);
        let data = &event["data"];
        assert_eq!(data["channel_type"], "O");
        assert_eq!(data["channel_name"], "town-square");
        assert_eq!(data["channel_display_name"], "Town Square");
        assert_eq!(data["sender_name"], "@carol");
        assert_eq!(data["team_id"], json!(c.team_id));
        assert_eq!(data["set_online"], true);
        let mentions: Value = serde_json::from_str(
            data["mentions"]
                .as_str()
                .expect("mentions is a JSON string"),
        )
        .unwrap();
        assert_eq!(mentions, json!([c.bob_user["id"]]));
        assert_eq!(event["broadcast"]["channel_id"], json!(c.town_square));
    }

    let plain = c.bob.create_post(&c.town_square, "no names here").await;
    let event = carol_ws.next_event("posted").await;
    assert_eq!(event_post(&event)["id"], plain["id"]);
    assert!(event["data"].get("mentions").is_none(), "{event}");
    assert_eq!(event["data"]["sender_name"], "@bob");

    let everyone = c
        .bob
        .create_post(&c.town_square, "@channel listen up")
        .await;
    let event = carol_ws.next_event("posted").await;
    assert_eq!(event_post(&event)["id"], everyone["id"]);
    let mentions: Value =
        serde_json::from_str(event["data"]["mentions"].as_str().unwrap()).unwrap();
    let mut mentioned = strings(&mentions);
    mentioned.sort();
    let alice_id = id(&c.alice.get("/users/me").await.1);
    let mut expected = vec![alice_id, id(&c.carol_user)];
    expected.sort();
    assert_eq!(mentioned, expected);

    // Direct messages: type D, no team.
    let (status, direct) = c
        .bob
        .post(
            "/channels/direct",
            json!([id(&c.bob_user), id(&c.carol_user)]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let added = carol_ws.next_event("direct_added").await;
    assert_eq!(added["data"]["teammate_id"], c.bob_user["id"]);
    let whisper = c.bob.create_post(&id(&direct), "psst").await;
    let event = carol_ws.next_event("posted").await;
    assert_eq!(event_post(&event)["id"], whisper["id"]);
    assert_eq!(
        (&event["data"]["channel_type"], &event["data"]["team_id"]),
        (&json!("D"), &json!(""))
    );
    server.stop().await;
}

async fn post_edited_and_post_deleted_events(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let post = c.bob.create_post(&c.town_square, "draft").await;
    let mut carol_ws = Ws::ready(&server, c.carol.token()).await;

    let (status, edited) = c
        .bob
        .put(
            &format!("/posts/{}", id(&post)),
            json!({"message": "final"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let event = carol_ws.next_event("post_edited").await;
    assert_eq!(event["seq"], 1);
    let carried = event_post(&event);
    assert_eq!(carried, edited);
    assert_eq!(carried["message"], "final");
    assert_ne!(carried["edit_at"], 0);
    assert_eq!(event["broadcast"]["channel_id"], json!(c.town_square));

    let (status, _) = c
        .bob
        .put(
            &format!("/posts/{}/patch", id(&post)),
            json!({"is_pinned": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        event_post(&carol_ws.next_event("post_edited").await)["is_pinned"],
        true
    );

    let (status, _) = c.bob.delete(&format!("/posts/{}", id(&post))).await;
    assert_eq!(status, StatusCode::OK);
    let event = carol_ws.next_event("post_deleted").await;
    assert_eq!(event["seq"], 3);
    let carried = event_post(&event);
    assert_eq!(carried["id"], post["id"]);
    assert_ne!(carried["delete_at"], 0);
    assert_eq!(event["data"]["delete_by"], c.bob_user["id"]);
    server.stop().await;
}

async fn channel_and_membership_events(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let mut bob_ws = Ws::ready(&server, c.bob.token()).await;
    let mut carol_ws = Ws::ready(&server, c.carol.token()).await;

    let news = c.bob.channel(&c.team_id, "news", "O").await;
    for ws in [&mut bob_ws, &mut carol_ws] {
        let event = ws.next_event("channel_created").await;
        assert_eq!(event["data"]["channel_id"], news["id"]);
        assert_eq!(event["data"]["team_id"], json!(c.team_id));
        assert_eq!(event["seq"], 1);
    }
    // A private channel is announced to its creator only.
    let secrets = c.bob.channel(&c.team_id, "secrets", "P").await;
    let event = bob_ws.next_event("channel_created").await;
    assert_eq!(event["data"]["channel_id"], secrets["id"]);

    c.carol.add_to_channel(&id(&news), &id(&c.carol_user)).await;
    for ws in [&mut bob_ws, &mut carol_ws] {
        let event = ws.next_event("user_added").await;
        assert_eq!(event["data"]["user_id"], c.carol_user["id"]);
        assert_eq!(event["data"]["team_id"], json!(c.team_id));
        assert_eq!(event["broadcast"]["channel_id"], news["id"]);
    }

    let (status, _) = c
        .bob
        .delete(&format!(
            "/channels/{}/members/{}",
            id(&news),
            id(&c.carol_user)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let event = bob_ws.next_event("user_removed").await;
    assert_eq!(event["data"]["user_id"], c.carol_user["id"]);
    assert_eq!(event["data"]["remover_id"], c.bob_user["id"]);
    assert_eq!(event["broadcast"]["channel_id"], news["id"]);
    let event = carol_ws.next_event("user_removed").await;
    assert_eq!(event["data"]["channel_id"], news["id"]);
    assert_eq!(event["data"]["remover_id"], c.bob_user["id"]);
    assert_eq!(event["broadcast"]["user_id"], c.carol_user["id"]);

    // Nothing else was sent to either: the next events are these posts, numbered on.
    let marker = c.bob.create_post(&c.town_square, "marker").await;
    let event = bob_ws.next_event("posted").await;
    assert_eq!(
        (&event_post(&event)["id"], &event["seq"]),
        (&marker["id"], &json!(5))
    );
    let event = carol_ws.next_event("posted").await;
    assert_eq!(
        (&event_post(&event)["id"], &event["seq"]),
        (&marker["id"], &json!(4))
    );
    server.stop().await;
}

async fn seq_is_contiguous_across_many_events(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let mut ws = Ws::ready(&server, c.bob.token()).await;
    let mut expected = Vec::new();
    for n in 0..25 {
        let post = c
            .carol
            .create_post(&c.town_square, &format!("post {n}"))
            .await;
        expected.push(("posted", id(&post)));
        if n % 5 == 0 {
            c.carol
                .put(
                    &format!("/posts/{}", id(&post)),
                    json!({"message": "edited"}),
                )
                .await;
            expected.push(("post_edited", id(&post)));
        }
        if n % 8 == 0 {
            let channel = c
                .carol
                .channel(&c.team_id, &format!("topic-{n}"), "O")
                .await;
            expected.push(("channel_created", id(&channel)));
        }
    }
    for (seq, (name, subject)) in expected.iter().enumerate() {
        let event = ws.next_frame().await.expect("event");
        assert_eq!(event["seq"], json!(seq + 1), "{event}");
        assert_eq!(event["event"], *name, "{event}");
        let got = if *name == "channel_created" {
            event["data"]["channel_id"].as_str().unwrap().to_string()
        } else {
            id(&event_post(&event))
        };
        assert_eq!(&got, subject);
    }
    ws.expect_silence().await;
    server.stop().await;
}

async fn events_reach_only_allowed_users(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let (dave, dave_user) = server.user("dave").await;
    let secrets = id(&c.bob.channel(&c.team_id, "secrets", "P").await);
    let mut carol_ws = Ws::ready(&server, c.carol.token()).await;
    // A system admin who is not in the channel does not get its events either.
    let mut alice_ws = Ws::ready(&server, c.alice.token()).await;
    let mut dave_ws = Ws::ready(&server, dave.token()).await;

    c.bob.create_post(&secrets, "for members only").await;
    let (status, direct) = c
        .bob
        .post("/channels/direct", json!([id(&c.bob_user), id(&dave_user)]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    c.bob
        .create_post(&id(&direct), "between bob and dave")
        .await;
    let public = c.bob.create_post(&c.town_square, "for everyone").await;

    for ws in [&mut carol_ws, &mut alice_ws] {
        let first = ws.next_frame().await.expect("an event");
        assert_eq!(first["event"], "posted", "{first}");
        assert_eq!(event_post(&first)["id"], public["id"]);
        assert_eq!(first["seq"], 1);
        ws.expect_silence().await;
    }
    // Dave is in the direct channel but not the team.
    assert_eq!(dave_ws.next_event("direct_added").await["seq"], 1);
    let event = dave_ws.next_event("posted").await;
    assert_eq!(event_post(&event)["message"], "between bob and dave");
    dave_ws.expect_silence().await;
    server.stop().await;
}

async fn resume_replays_missed_events(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let mut ws = Ws::connect(&server, c.bob.token(), "connection_id=&sequence_number=0").await;
    let connection = connection_id(&ws.hello().await);
    let first = c.carol.create_post(&c.town_square, "one").await;
    let event = ws.next_event("posted").await;
    assert_eq!(
        (&event["seq"], &event_post(&event)["id"]),
        (&json!(1), &first["id"])
    );
    ws.close().await;

    let missed = [
        c.carol.create_post(&c.town_square, "two").await,
        c.carol.create_post(&c.town_square, "three").await,
    ];
    let resume = format!("connection_id={connection}&sequence_number=2");
    let mut ws = Ws::connect(&server, c.bob.token(), &resume).await;
    for (seq, post) in [(2, &missed[0]), (3, &missed[1])] {
        let event = ws.next_frame().await.expect("replayed event");
        assert_eq!(event["event"], "posted", "no new hello on resume: {event}");
        assert_eq!(
            (&event["seq"], &event_post(&event)["id"]),
            (&json!(seq), &post["id"])
        );
    }
    let live = c.carol.create_post(&c.town_square, "four").await;
    let event = ws.next_event("posted").await;
    assert_eq!(
        (&event["seq"], &event_post(&event)["id"]),
        (&json!(4), &live["id"])
    );
    ws.close().await;

    // Nothing missed: the resumed socket stays quiet until the next event.
    let resume = format!("connection_id={connection}&sequence_number=5");
    let mut ws = Ws::connect(&server, c.bob.token(), &resume).await;
    ws.expect_silence().await;
    let live = c.carol.create_post(&c.town_square, "five").await;
    let event = ws.next_event("posted").await;
    assert_eq!(
        (&event["seq"], &event_post(&event)["id"]),
        (&json!(5), &live["id"])
    );

    // Resuming while the old socket is still open moves the connection to the new one.
    let resume = format!("connection_id={connection}&sequence_number=6");
    let mut newer = Ws::connect(&server, c.bob.token(), &resume).await;
    ws.expect_closed().await;
    let live = c.carol.create_post(&c.town_square, "six").await;
    let event = newer.next_event("posted").await;
    assert_eq!(
        (&event["seq"], &event_post(&event)["id"]),
        (&json!(6), &live["id"])
    );
    server.stop().await;
}

async fn unresumable_connections_get_a_new_id_and_hello(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let mut bob_ws = Ws::ready(&server, c.bob.token()).await;
    let mut carol_ws = Ws::connect(&server, c.carol.token(), "").await;
    let carol_connection = connection_id(&carol_ws.hello().await);
    c.bob.create_post(&c.town_square, "one").await;
    carol_ws.next_event("posted").await;
    bob_ws.next_event("posted").await;

    let fresh = |query: String, token: String| {
        let server = &server;
        async move {
            let mut ws = Ws::connect(server, &token, &query).await;
            let hello = ws.hello().await;
            (ws, connection_id(&hello))
        }
    };
    // An id nobody has, a sequence number from the future, and someone else's id.
    let (_, id1) = fresh(
        format!("connection_id={}&sequence_number=1", chorus_model::new_id()),
        c.carol.token().into(),
    )
    .await;
    let (_, id2) = fresh(
        format!("connection_id={carol_connection}&sequence_number=50"),
        c.carol.token().into(),
    )
    .await;
    let (_, id3) = fresh(
        format!("connection_id={carol_connection}&sequence_number=1"),
        c.bob.token().into(),
    )
    .await;
    for new_id in [&id1, &id2, &id3] {
        assert_ne!(new_id, &carol_connection);
        assert_eq!(new_id.len(), 26);
    }

    // A sequence number that fell out of the backlog: carol is away while more events
    // than the backlog holds are sent to her (typing notices are the cheapest).
    carol_ws.close().await;
    let mut alice_ws = Ws::ready(&server, c.alice.token()).await;
    for _ in 0..600 {
        let reply = alice_ws
            .request(
                "user_typing",
                json!({"channel_id": c.town_square, "parent_id": ""}),
            )
            .await;
        assert_eq!(reply["status"], "OK", "{reply}");
    }
    let typing = bob_ws.expect_event("typing").await;
    assert_eq!(typing["broadcast"]["channel_id"], json!(c.town_square));
    let (mut carol_ws, id4) = fresh(
        format!("connection_id={carol_connection}&sequence_number=2"),
        c.carol.token().into(),
    )
    .await;
    assert_ne!(id4, carol_connection);
    // The new connection numbers from scratch.
    let post = c.bob.create_post(&c.town_square, "after the gap").await;
    let event = carol_ws.next_event("posted").await;
    assert_eq!(
        (&event["seq"], &event_post(&event)["id"]),
        (&json!(1), &post["id"])
    );
    server.stop().await;
}

async fn logout_closes_that_sessions_sockets(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let other_session = server.client().login("bob", "password-bob").await;
    let mut doomed = Ws::ready(&server, c.bob.token()).await;
    let mut doomed_too = Ws::ready(&server, c.bob.token()).await;
    let mut survivor = Ws::ready(&server, other_session.token()).await;

    let (status, _) = c.bob.post("/users/logout", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    doomed.expect_closed().await;
    doomed_too.expect_closed().await;

    let post = c.carol.create_post(&c.town_square, "still here?").await;
    let event = survivor.next_event("posted").await;
    assert_eq!(event_post(&event)["id"], post["id"]);

    // The logged-out token no longer opens a socket.
    let mut ws = Ws::open(&server, "").await;
    let reply = ws
        .request("authentication_challenge", json!({"token": c.bob.token()}))
        .await;
    assert_eq!(reply["status"], "FAIL", "{reply}");
    ws.expect_silence().await;
    server.stop().await;
}

async fn invalid_challenge_fails_without_hello(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, bob_user) = server.user("bob").await;
    let mut ws = Ws::open(&server, "").await;

    for token in [
        json!(chorus_model::new_id()),
        json!(""),
        json!(42),
        Value::Null,
    ] {
        let reply = ws
            .request("authentication_challenge", json!({"token": token}))
            .await;
        assert_eq!(reply["status"], "FAIL", "{reply}");
        assert_eq!(
            reply["error"]["id"], "api.context.session_expired.app_error",
            "{reply}"
        );
        assert_eq!(reply["error"]["status_code"], 401);
    }
    ws.expect_silence().await;
    // Actions other than the challenge are refused until it succeeds.
    let reply = ws.request("ping", json!({})).await;
    assert_eq!(reply["status"], "FAIL");
    assert_eq!(
        reply["error"]["id"],
        "api.web_socket_router.not_authenticated.app_error"
    );

    // The expired session of a real user is refused the same way.
    let expired = server.client().login("bob", "password-bob").await;
    server
        .state
        .store
        .set_session_expiry(expired.token(), 0)
        .await
        .unwrap();
    let reply = ws
        .request(
            "authentication_challenge",
            json!({"token": expired.token()}),
        )
        .await;
    assert_eq!(
        reply["error"]["id"], "api.context.session_expired.app_error",
        "{reply}"
    );
    ws.expect_silence().await;

    let reply = ws
        .request("authentication_challenge", json!({"token": bob.token()}))
        .await;
    assert_eq!(reply["status"], "OK");
    assert_eq!(ws.hello().await["broadcast"]["user_id"], bob_user["id"]);
    server.stop().await;
}

async fn malformed_frames_fail_and_the_socket_survives(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let c = crew(&server).await;
    let mut ws = Ws::ready(&server, c.bob.token()).await;

    for junk in [
        "this is not json",
        "{\"action\": 5, \"seq\": 3}",
        "[1, 2]",
        "{",
    ] {
        ws.send_message(Message::Text(junk.into())).await;
        let reply = ws.next_frame().await.expect("a reply");
        assert_eq!(reply["status"], "FAIL", "{junk}: {reply}");
        assert_eq!(
            reply["error"]["id"],
            "api.web_socket_router.bad_request.app_error"
        );
    }
    let reply = ws.request("no_such_action", json!({})).await;
    assert_eq!(reply["status"], "FAIL");
    assert_eq!(
        reply["error"]["id"],
        "api.web_socket_router.bad_action.app_error"
    );

    let reply = ws.request("ping", json!({})).await;
    assert_eq!(reply["data"]["text"], "pong");
    let post = c.carol.create_post(&c.town_square, "still listening").await;
    let event = ws.next_event("posted").await;
    assert_eq!(
        (&event["seq"], &event_post(&event)["id"]),
        (&json!(1), &post["id"])
    );
    server.stop().await;
}

async fn protocol_ping_gets_pong(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    // Before authentication and after.
    let mut ws = Ws::open(&server, "").await;
    for round in 0..2 {
        let payload = format!("are you there {round}");
        ws.send_message(Message::Ping(payload.clone().into_bytes().into()))
            .await;
        loop {
            match ws.next_message().await.expect("a pong") {
                Message::Pong(data) => {
                    assert_eq!(data.as_ref(), payload.as_bytes());
                    break;
                }
                Message::Text(text) if round == 1 => {
                    // The hello may come first after authentication.
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                    assert_eq!(frame["event"], "hello");
                }
                other => panic!("expected a pong, got {other:?}"),
            }
        }
        if round == 0 {
            ws.request("authentication_challenge", json!({"token": bob.token()}))
                .await;
        }
    }
    server.stop().await;
}

/// A client frame over the 64 KiB limit closes that socket only: the server keeps
/// serving, and the same user can connect again at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_close_only_their_socket() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let mut bystander = Ws::ready(&server, alice.token()).await;
    let mut ws = Ws::ready(&server, alice.token()).await;
    let huge = json!({"action": "ping", "seq": 1, "data": {"pad": "x".repeat(256 * 1024)}});
    ws.send_message(Message::Text(huge.to_string().into()))
        .await;
    ws.expect_closed().await;
    let (status, _) = alice.get("/users/me").await;
    assert_eq!(status, StatusCode::OK);
    let reply = bystander.request("ping", json!({})).await;
    assert_eq!(reply["data"]["text"], "pong", "{reply}");
    let mut again = Ws::ready(&server, alice.token()).await;
    let reply = again.request("ping", json!({})).await;
    assert_eq!(reply["data"]["text"], "pong", "{reply}");
    server.stop().await;
}
