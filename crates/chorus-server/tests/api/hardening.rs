//! The holes a hostile test found, each shown closed against a real server: login
//! lockout, per-address throttling and bounded hashing; cross-site websockets, socket
//! caps and expired sessions on sockets; tokens and interim statuses at the plugin
//! boundary; the default channel; e-mail addresses; team invite ids; cookies behind
//! TLS; the web app's Content-Security-Policy; `/metrics`.

use crate::both_backends;
use crate::common::{assert_error, id, plugin_bundle, Api, Backend, Endpoint, TestServer, Ws};
use chorus_server::store::Session;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const FAULTY: &str = "com.chorus.test.faulty";
const INVALID: &str = "api.user.login.invalid_credentials_email_username";
const LOCKED: &str = "api.user.check_user_login_attempts.too_many.app_error";

async fn login_reply(api: &Api, login_id: &str, password: &str) -> (StatusCode, Value) {
    api.post(
        "/users/login",
        json!({"login_id": login_id, "password": password}),
    )
    .await
}

both_backends!(
    the_last_committed_edit_has_the_highest_update_at,
    long_threads_are_read_in_pages,
    catching_up_with_since_misses_no_post,
    replies_racing_a_delete_never_outlive_their_root,
    accounts_lock_after_failed_logins_until_the_password_is_set,
    unknown_accounts_answer_like_wrong_passwords,
    the_default_channel_cannot_be_left,
    invite_ids_are_for_team_admins,
);

async fn accounts_lock_after_failed_logins_until_the_password_is_set(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (_, alice) = server.user("alice").await;
    let anonymous = server.client();
    for _ in 0..10 {
        assert_error(
            &login_reply(&anonymous, "alice", "not-her-password").await,
            StatusCode::UNAUTHORIZED,
            INVALID,
        );
    }
    // Locked: the right password is refused too.
    assert_error(
        &login_reply(&anonymous, "alice", "password-alice").await,
        StatusCode::UNAUTHORIZED,
        LOCKED,
    );
    // Only a system admin may set someone else's password; doing so unlocks.
    let (bob_api, _) = server.user("bob").await;
    let path = format!("/users/{}/password", id(&alice));
    let reply = bob_api
        .put(&path, json!({"new_password": "bobs-choice"}))
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, body) = admin
        .put(&path, json!({"new_password": "fresh-start"}))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    let alice_api = anonymous.login("alice", "fresh-start").await;
    // One's own password needs the current one.
    let reply = alice_api
        .put(
            "/users/me/password",
            json!({"current_password": "wrong", "new_password": "another-one"}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.user.update_password.incorrect.app_error",
    );
    let (status, _) = alice_api
        .put(
            "/users/me/password",
            json!({"current_password": "fresh-start", "new_password": "another-one"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    anonymous.login("alice", "another-one").await;

    // A lock ends by itself once LoginLockoutMinutes have passed since the last failure.
    for _ in 0..10 {
        login_reply(&anonymous, "alice", "wrong-again").await;
    }
    assert_error(
        &login_reply(&anonymous, "alice", "another-one").await,
        StatusCode::UNAUTHORIZED,
        LOCKED,
    );
    let long_ago = chorus_model::now_millis() - 31 * 60_000;
    let lock_long_ago = || async {
        server
            .state
            .store
            .execute_raw(&format!(
                "UPDATE users SET last_failed_at = {long_ago} WHERE username = 'alice'"
            ))
            .await
            .unwrap();
    };
    lock_long_ago().await;
    anonymous.login("alice", "another-one").await;
    // After an expired lock, one more failure starts a new count instead of locking.
    for _ in 0..10 {
        login_reply(&anonymous, "alice", "wrong-again").await;
    }
    lock_long_ago().await;
    assert_error(
        &login_reply(&anonymous, "alice", "wrong-once-more").await,
        StatusCode::UNAUTHORIZED,
        INVALID,
    );
    anonymous.login("alice", "another-one").await;
    server.stop().await;
}

async fn the_last_committed_edit_has_the_highest_update_at(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    let post = admin.create_post(&town, "first").await;
    let post_id = id(&post);
    let mut socket = Ws::ready(&server, admin.token()).await;
    let edits = (0..20).map(|n| {
        let (admin, post_id) = (&admin, &post_id);
        async move {
            let (status, body) = admin
                .put(
                    &format!("/posts/{post_id}/patch"),
                    json!({"message": format!("edit {n}")}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    });
    futures_util::future::join_all(edits).await;
    let mut versions = Vec::new();
    for _ in 0..20 {
        let event = socket.next_event("post_edited").await;
        let edited: Value = serde_json::from_str(event["data"]["post"].as_str().unwrap()).unwrap();
        versions.push((
            edited["update_at"].as_i64().unwrap(),
            edited["message"].clone(),
        ));
    }
    let distinct: std::collections::BTreeSet<i64> = versions.iter().map(|(at, _)| *at).collect();
    assert_eq!(
        distinct.len(),
        20,
        "two edits share an update_at: {versions:?}"
    );
    let (_, stored) = admin.get(&format!("/posts/{post_id}")).await;
    let newest = versions.iter().max_by_key(|(at, _)| *at).unwrap();
    assert_eq!(
        (newest.0, &newest.1),
        (stored["update_at"].as_i64().unwrap(), &stored["message"]),
        "the event a client keeps (highest update_at) is not what was stored"
    );
    server.stop().await;
}

async fn long_threads_are_read_in_pages(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    let root = id(&admin.create_post(&town, "a long thread").await);
    let mut replies = std::collections::BTreeSet::new();
    for chunk in 0..30 {
        let batch = (0..15).map(|n| {
            let (admin, town, root) = (&admin, &town, &root);
            async move {
                let (status, reply) = admin
                    .post(
                        "/posts",
                        json!({"channel_id": town, "root_id": root, "message": format!("reply {chunk}.{n}")}),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{reply}");
                reply
            }
        });
        for reply in futures_util::future::join_all(batch).await {
            replies.insert(id(&reply));
        }
    }
    // The count and the latest reply's time are the thread's, on the root and replies.
    let (_, root_post) = admin.get(&format!("/posts/{root}")).await;
    assert_eq!(root_post["reply_count"], 450);
    assert!(
        root_post["last_reply_at"].as_i64().unwrap() >= root_post["create_at"].as_i64().unwrap()
    );
    let one_reply = replies.iter().next().unwrap();
    let (_, reply_post) = admin.get(&format!("/posts/{one_reply}")).await;
    assert_eq!(reply_post["reply_count"], 450);

    // Pages of 200, oldest first, following the cursor to the end.
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: Option<(i64, String)> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/posts/{root}/thread?perPage=200&direction=down");
        if let Some((at, post_id)) = &cursor {
            path.push_str(&format!("&fromCreateAt={at}&fromPost={post_id}"));
        }
        let (status, page) = admin.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        let posts = page["posts"].as_object().unwrap();
        assert!(posts.contains_key(&root), "every page carries the root");
        let page_replies: Vec<&Value> = posts.values().filter(|p| p["id"] != json!(root)).collect();
        assert!(page_replies.len() <= 200);
        for reply in &page_replies {
            assert!(seen.insert(id(reply)), "a reply came twice");
        }
        if page["has_next"] != json!(true) {
            break;
        }
        let last = page_replies
            .iter()
            .max_by_key(|p| (p["create_at"].as_i64().unwrap(), id(p)))
            .unwrap();
        cursor = Some((last["create_at"].as_i64().unwrap(), id(last)));
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, replies);
    // Newest first by default, and Mattermost's limits on the parameters.
    let (_, newest) = admin.get(&format!("/posts/{root}/thread?perPage=10")).await;
    assert_eq!(newest["posts"].as_object().unwrap().len(), 11);
    assert_eq!(newest["has_next"], true);
    for bad in [
        "perPage=201",
        "perPage=-1",
        "direction=sideways",
        "fromPost=abc",
    ] {
        let reply = admin.get(&format!("/posts/{root}/thread?{bad}")).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "api.context.invalid_url_param.app_error",
        );
    }
    // Unpaged, the whole thread, as Mattermost answers it.
    let (_, whole) = admin.get(&format!("/posts/{root}/thread")).await;
    assert_eq!(whole["order"].as_array().unwrap().len(), 451);
    // Deleting a reply counts down.
    let (status, _) = admin.delete(&format!("/posts/{one_reply}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, root_post) = admin.get(&format!("/posts/{root}")).await;
    assert_eq!(root_post["reply_count"], 449);
    server.stop().await;
}

async fn catching_up_with_since_misses_no_post(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    let start = chorus_model::now_millis() - 1;
    // 1,500 posts, 16 at a time, so that many share a millisecond.
    let mut created = std::collections::BTreeSet::new();
    for chunk in 0..(1500 / 16 + 1) {
        let batch = (0..16)
            .map(|n| chunk * 16 + n)
            .filter(|n| *n < 1500)
            .map(|n| {
                let (admin, town) = (&admin, &town);
                async move { admin.create_post(town, &format!("missed {n}")).await }
            });
        for post in futures_util::future::join_all(batch).await {
            created.insert(id(&post));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut since = start;
    let mut batches = 0;
    loop {
        let (status, list) = admin
            .get(&format!("/channels/{town}/posts?since={since}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        batches += 1;
        let posts = list["posts"].as_object().unwrap();
        assert!(
            posts.len() <= 1000 || batches > 1,
            "a batch of {}",
            posts.len()
        );
        for (post_id, post) in posts {
            seen.insert(post_id.clone());
            since = since.max(post["update_at"].as_i64().unwrap());
        }
        if list["has_next"] != json!(true) {
            break;
        }
        assert!(batches < 10, "catch-up does not end");
    }
    assert!(batches >= 2, "1,500 changes came in one answer");
    let missed: Vec<_> = created.difference(&seen).collect();
    assert!(
        missed.is_empty(),
        "{} posts missed by the catch-up",
        missed.len()
    );
    server.stop().await;
}

async fn replies_racing_a_delete_never_outlive_their_root(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    for _trial in 0..3 {
        let root = id(&admin.create_post(&town, "root").await);
        let replies = (0..40).map(|n| {
            admin.post(
                "/posts",
                json!({"channel_id": town, "root_id": root, "message": format!("reply {n}")}),
            )
        });
        let delete = async {
            tokio::time::sleep(Duration::from_millis(15)).await;
            admin.delete(&format!("/posts/{root}")).await
        };
        let (replies, deleted) = tokio::join!(futures_util::future::join_all(replies), delete);
        assert_eq!(deleted.0, StatusCode::OK);
        for (status, body) in &replies {
            assert!(
                *status == StatusCode::CREATED
                    || (*status == StatusCode::BAD_REQUEST
                        && body["id"] == "api.post.create_post.root_id.app_error"),
                "{status} {body}"
            );
        }
    }
    let orphans = server
        .state
        .store
        .scalar_raw(
            "SELECT COUNT(*) FROM posts r JOIN posts p ON r.root_id = p.id \
             WHERE r.delete_at = 0 AND p.delete_at <> 0",
        )
        .await
        .unwrap();
    assert_eq!(orphans, 0, "live replies under a deleted root");
    server.stop().await;
}

async fn unknown_accounts_answer_like_wrong_passwords(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let anonymous = server.client();
    let wrong = login_reply(&anonymous, "alice", "not-her-password").await;
    let unknown = login_reply(&anonymous, "nobody-by-that-name", "whatever-it-is").await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, INVALID);
    assert_error(&unknown, StatusCode::UNAUTHORIZED, INVALID);
    assert_eq!(wrong.1["message"], unknown.1["message"]);
    server.stop().await;
}

async fn the_default_channel_cannot_be_left(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let (alice, alice_user) = server.member(&admin, &team_id, "alice").await;
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    for (api, user) in [
        (&alice, &alice_user),
        (&admin, &alice_user),
        (&alice, &admin_user),
    ] {
        let reply = api
            .delete(&format!("/channels/{town}/members/{}", id(user)))
            .await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "api.channel.remove.default.app_error",
        );
    }
    assert_eq!(admin.channel_member_ids(&town).await.len(), 2);
    // Other channels can still be left.
    let off_topic = id(&admin.channel_named(&team_id, "off-topic").await);
    let (status, _) = alice
        .delete(&format!(
            "/channels/{off_topic}/members/{}",
            id(&alice_user)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

async fn invite_ids_are_for_team_admins(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (owner, _) = server.user("owner").await;
    let team = owner.team("crew").await;
    let team_id = id(&team);
    assert!(!team["invite_id"].as_str().unwrap().is_empty(), "{team}");
    let (member, _) = server.member(&owner, &team_id, "member").await;
    for path in [format!("/teams/{team_id}"), "/teams/name/crew".to_string()] {
        let (status, seen) = member.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            seen["invite_id"], "",
            "a plain member saw the invite id at {path}"
        );
        for manager in [&owner, &admin] {
            let (_, seen) = manager.get(&path).await;
            assert_eq!(seen["invite_id"], team["invite_id"], "{path}");
        }
    }
    let (_, listed) = member.get("/users/me/teams").await;
    assert_eq!(listed[0]["invite_id"], "");
    let (_, listed) = member.get("/teams").await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["invite_id"] == ""));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_throttled_per_client_address() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.rate_limit_settings.login_per_minute = 1;
        config.rate_limit_settings.login_max_burst = 3;
        config.service_settings.trusted_proxy_ip_header = vec!["X-Forwarded-For".into()];
    })
    .await
    .unwrap();
    let anonymous = server.client();
    let attempt = |from: &'static str| {
        let request = anonymous
            .request(Method::POST, "/users/login")
            .header("X-Forwarded-For", format!("{from}, 127.0.0.1"))
            .json(&json!({"login_id": "nobody", "password": "nothing-at-all"}));
        anonymous.client.http().execute(request.build().unwrap())
    };
    for _ in 0..3 {
        let reply = attempt("192.0.2.10").await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = attempt("192.0.2.10").await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["id"], "api.context.rate_limit_exceeded.app_error");
    assert_eq!(body["status_code"], 429);
    // Another address is not held back, and sign-ups count against the same bucket.
    assert_eq!(
        attempt("192.0.2.11").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let signup = anonymous
        .request(Method::POST, "/users")
        .header("X-Forwarded-For", "192.0.2.10")
        .json(&json!({"username": "eve", "email": "eve@example.com", "password": "password-eve"}));
    let reply = anonymous.send(signup).await;
    assert_error(
        &reply,
        StatusCode::TOO_MANY_REQUESTS,
        "api.context.rate_limit_exceeded.app_error",
    );
    assert_eq!(
        server.count("users").await,
        0,
        "a throttled sign-up wrote nothing"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_beyond_the_hashing_slots_are_refused_with_503() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.service_settings.maximum_concurrent_password_hashes = 1;
        config.service_settings.password_hash_wait_milliseconds = 1;
    })
    .await
    .unwrap();
    server.user("alice").await;
    let anonymous = server.client();
    let replies = futures_util::future::join_all(
        (0..24).map(|_| login_reply(&anonymous, "alice", "not-her-password")),
    )
    .await;
    let busy: Vec<&(StatusCode, Value)> = replies
        .iter()
        .filter(|(status, _)| *status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(
        !busy.is_empty(),
        "24 logins at once on one slot were all served"
    );
    for reply in &replies {
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE].contains(&reply.0),
            "{reply:?}"
        );
    }
    assert_error(
        busy[0],
        StatusCode::SERVICE_UNAVAILABLE,
        "app.user.password_hashing_busy.app_error",
    );
    server.stop().await;
}

/// Opens a websocket with extra request headers; the HTTP status when refused.
async fn open_socket(
    server: &TestServer,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    StatusCode,
> {
    let mut request = server.ws_url().into_client_request().unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    }
    for (name, value) in headers {
        let name: reqwest::header::HeaderName = name.parse().unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
        }
        Err(other) => panic!("websocket connect failed: {other}"),
    }
}

async fn first_event(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Message {
    tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a frame in time")
        .expect("the socket is open")
        .expect("a frame")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_from_foreign_origins_are_refused() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.service_settings.allow_cors_from = "https://chat.example.com".into();
    })
    .await
    .unwrap();
    let (alice, _) = server.user("alice").await;
    let token = alice.token();
    let own_origin = server.url.clone();
    let host = own_origin.trim_start_matches("http://").to_string();
    // Another port of the same host is another site.
    let other_port = format!(
        "http://127.0.0.1:{}",
        server
            .url
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap()
            + 1
    );
    for foreign in [other_port.as_str(), "http://evil.example", "null"] {
        assert_eq!(
            open_socket(&server, Some(token), &[("Origin", foreign)])
                .await
                .err(),
            Some(StatusCode::FORBIDDEN),
            "{foreign}"
        );
    }
    for allowed in [own_origin.as_str(), "https://chat.example.com"] {
        let mut socket = open_socket(
            &server,
            Some(token),
            &[("Origin", allowed), ("Host", &host)],
        )
        .await
        .unwrap_or_else(|status| panic!("{allowed}: {status}"));
        let hello: Value =
            serde_json::from_str(first_event(&mut socket).await.to_text().unwrap()).unwrap();
        assert_eq!(hello["event"], "hello");
    }
    // No Origin at all: not a browser, as bots and mobile apps connect.
    assert!(open_socket(&server, Some(token), &[]).await.is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_are_capped_per_user_per_session_and_unauthenticated() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.service_settings.maximum_websockets_per_user = 3;
        config.service_settings.maximum_websockets_per_session = 2;
        config.service_settings.maximum_unauthenticated_websockets = 1;
    })
    .await
    .unwrap();
    let (alice, _) = server.user("alice").await;
    let second_session = server.client().login("alice", "password-alice").await;
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(Ws::ready(&server, alice.token()).await);
    }
    let refused = |frame: Message| match frame {
        Message::Close(Some(close)) => {
            assert_eq!(u16::from(close.code), 1008);
            assert!(close.reason.contains("websockets open"), "{}", close.reason);
        }
        other => panic!("expected a policy close, got {other:?}"),
    };
    let mut third = open_socket(&server, Some(alice.token()), &[])
        .await
        .unwrap();
    refused(first_event(&mut third).await);
    open.push(Ws::ready(&server, second_session.token()).await);
    let mut fourth = open_socket(&server, Some(second_session.token()), &[])
        .await
        .unwrap();
    refused(first_event(&mut fourth).await);
    // Closing one frees its place.
    open.pop().unwrap().close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    open.push(Ws::ready(&server, second_session.token()).await);

    // One socket may wait for its authentication_challenge; the next is turned away
    // before the upgrade.
    let mut waiting = open_socket(&server, None, &[]).await.unwrap();
    assert_eq!(
        open_socket(&server, None, &[]).await.err(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    waiting.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut next = open_socket(&server, None, &[]).await.unwrap();
    next.send(Message::Text(
        json!({"seq": 1, "action": "authentication_challenge", "data": {"token": second_session.token()}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    // Its session has two live sockets already: refused after authenticating.
    let reply: Value =
        serde_json::from_str(first_event(&mut next).await.to_text().unwrap()).unwrap();
    assert_eq!(reply["status"], "FAIL", "{reply}");
    assert_eq!(
        reply["error"]["id"],
        "api.web_socket.connect.too_many.app_error"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_closes_when_its_session_expires() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let (_, alice) = server.user("alice").await;
    let now = chorus_model::now_millis();
    let session = Session {
        id: chorus_model::new_id(),
        token: chorus_model::new_id(),
        user_id: id(&alice),
        create_at: now,
        expires_at: now + 1500,
        csrf_token: chorus_model::new_id(),
        device_id: String::new(),
        from_access_token: false,
    };
    server.state.store.create_session(&session).await.unwrap();
    let mut socket = Ws::ready(&server, &session.token).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    server.state.hub.sweep();
    socket.expect_closed().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_never_see_access_tokens_nor_answer_interim_statuses() {
    let metrics_port = chorus_testkit::cluster::free_port();
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.plugin_settings.enable_uploads = true;
        config.metrics_settings.enable = true;
        config.metrics_settings.listen_address = format!("127.0.0.1:{metrics_port}");
    })
    .await
    .unwrap();
    let (admin, _) = server.user("admin").await;
    admin
        .install_plugin(plugin_bundle("faulty", "faulty"))
        .await;
    let token = admin.token().to_string();
    let anonymous = server.client();
    let (status, echo) = anonymous
        .send(anonymous.plugin_request(
            Method::GET,
            FAULTY,
            &format!("/echo?before=1&access_token={token}&after=2"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{echo}");
    assert_eq!(echo["query"], "before=1&after=2");
    assert!(
        !echo.to_string().contains(&token),
        "the token reached the plugin: {echo}"
    );
    // The token still authenticated the request.
    assert!(
        echo["headers"].as_array().unwrap().iter().any(|h| h
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .starts_with("mattermost-user-id:")),
        "{echo}"
    );
    for interim in [100, 101, 103] {
        let reply = admin
            .send(admin.plugin_request(Method::GET, FAULTY, &format!("/status/{interim}")))
            .await;
        assert_error(
            &reply,
            StatusCode::BAD_GATEWAY,
            "app.plugin.http_failed.app_error",
        );
    }
    let (status, _) = admin
        .send(admin.plugin_request(Method::GET, FAULTY, "/status/204"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Hook latency is measured per plugin and hook.
    let team_id = id(&admin.team("crew").await);
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    admin.create_post(&town, "hello").await;
    let text = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = format!(
        "chorus_plugin_hook_duration_seconds_count{{plugin_id=\"{FAULTY}\",hook=\"MessageWillBePosted\"}} 1"
    );
    assert!(text.contains(&count), "no {count} in\n{text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_in_a_team_of_the_caller_and_uploads_must_be_multipart() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.plugin_settings.enable_uploads = true;
    })
    .await
    .unwrap();
    let (admin, _) = server.user("admin").await;
    let (alice, alice_user) = server.user("alice").await;
    let (_, bob_user) = server.user("bob").await;
    let foreign_team = id(&admin.team("not-alices").await);
    let (status, direct) = alice
        .post("/channels/direct", json!([id(&alice_user), id(&bob_user)]))
        .await;
    assert!(status.is_success(), "{direct}");
    // In a direct channel the client names the team; it must be one of the caller's.
    let reply = alice
        .post(
            "/commands/execute",
            json!({"channel_id": id(&direct), "team_id": foreign_team, "command": "/echo hi"}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, _) = alice
        .post(
            "/commands/execute",
            json!({"channel_id": id(&direct), "command": "/echo hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A bundle sent as anything but a multipart form gets Mattermost's JSON error.
    let reply = admin
        .send(
            admin
                .request(Method::POST, "/plugins")
                .header("Content-Type", "application/gzip")
                .body(plugin_bundle("faulty", "faulty")),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.plugin.upload.multipart.app_error",
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_refuses_tricky_email_addresses() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let anonymous = server.client();
    for (n, email) in [
        "<script>alert(1)</script>@x.com",
        "a@b@c.com",
        "ali\u{200b}ce@example.com",
    ]
    .into_iter()
    .enumerate()
    {
        let reply = anonymous
            .post(
                "/users",
                json!({"username": format!("user{n}"), "email": email, "password": "long-enough"}),
            )
            .await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "model.user.is_valid.email.app_error",
        );
    }
    assert_eq!(server.count("users").await, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_tls() {
    let plain = TestServer::start(Backend::Sqlite).await.unwrap();
    let https_site = TestServer::start_with(Backend::Sqlite, |config| {
        config.service_settings.site_url = "https://chat.example.com".into();
    })
    .await
    .unwrap();
    let cookies = |server: &TestServer, forwarded_https: bool| {
        let api = server.client();
        async move {
            let mut request = api
                .request(Method::POST, "/users/login")
                .json(&json!({"login_id": "alice", "password": "password-alice"}));
            if forwarded_https {
                request = request.header("X-Forwarded-Proto", "https");
            }
            let reply = request.send().await.unwrap();
            assert_eq!(reply.status(), StatusCode::OK);
            reply
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    plain.user("alice").await;
    https_site.user("alice").await;
    let secure = |set: &[String]| set.len() == 3 && set.iter().all(|c| c.ends_with("; Secure"));
    assert!(!cookies(&plain, false)
        .await
        .iter()
        .any(|c| c.contains("Secure")));
    assert!(secure(&cookies(&plain, true).await));
    assert!(secure(&cookies(&https_site, false).await));
    plain.stop().await;
    https_site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_page_has_a_content_security_policy() {
    let server = TestServer::start(Backend::Sqlite).await.unwrap();
    let reply = reqwest::Client::new()
        .get(format!("{}/", server.url))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let policy = reply.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(
        !policy.contains("unsafe-eval") && !policy.contains("script-src 'self' 'unsafe-inline'")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_the_bounds_at_work() {
    let port = chorus_testkit::cluster::free_port();
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.metrics_settings.enable = true;
        config.metrics_settings.listen_address = format!("127.0.0.1:{port}");
    })
    .await
    .unwrap();
    let (alice, _) = server.user("alice").await;
    let _socket = Ws::ready(&server, alice.token()).await;
    let anonymous = server.client();
    assert_error(
        &login_reply(&anonymous, "alice", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        INVALID,
    );
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("chorus_login_failures_total"), 1.0);
    assert_eq!(value("chorus_login_locked_total"), 0.0);
    assert_eq!(value("chorus_websockets_open"), 1.0);
    assert!(value("chorus_websocket_resume_backlog_bytes") > 0.0);
    assert!(text.contains("# TYPE chorus_cluster_bus_lag_seconds histogram"));
    server.stop().await;
}

fn connection_id(hello: &Value) -> String {
    hello["data"]["connection_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_backlogs_are_capped_and_the_oldest_dropped_state_goes_first() {
    // Room for three 16 KiB posts per connection, and not for two such connections in
    // the whole hub.
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.service_settings.websocket_resume_bytes = 50 * 1024;
        config.service_settings.websocket_hub_resume_bytes = 60 * 1024;
    })
    .await
    .unwrap();
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    let (bob, _) = server.member(&admin, &team_id, "bob").await;
    let big = "b".repeat(16_000);

    // The first socket drops; a second one stays.
    let mut first = Ws::connect(&server, bob.token(), "").await;
    let first_id = connection_id(&first.hello().await);
    first.close().await;
    let mut second = Ws::connect(&server, bob.token(), "").await;
    let second_id = connection_id(&second.hello().await);
    admin.create_post(&town, "small").await;
    second.next_event("posted").await;
    second.close().await;
    // Eight big posts (seq 2 to 9 on each connection): more than a connection keeps,
    // and more than the hub keeps for both.
    for _ in 0..8 {
        admin.create_post(&town, &big).await;
    }
    let (_, backlog) = server.state.hub.gauges();
    assert!(backlog <= 60 * 1024, "the hub keeps {backlog} bytes");

    // The connection dropped longest ago lost its resume state: a fresh start.
    let mut again = Ws::connect(
        &server,
        bob.token(),
        &format!("connection_id={first_id}&sequence_number=7"),
    )
    .await;
    let hello = again.next_frame().await.unwrap();
    assert_eq!(hello["event"], "hello", "{hello}");
    assert_ne!(connection_id(&hello), first_id);
    again.close().await;
    // The other kept its newest three events: those are replayed, older ones are not.
    let mut resumed = Ws::connect(
        &server,
        bob.token(),
        &format!("connection_id={second_id}&sequence_number=7"),
    )
    .await;
    for seq in 7..=9 {
        let frame = resumed.next_frame().await.unwrap();
        assert_eq!(
            (&frame["event"], &frame["seq"]),
            (&json!("posted"), &json!(seq)),
            "{frame}"
        );
    }
    resumed.close().await;
    let mut old = Ws::connect(
        &server,
        bob.token(),
        &format!("connection_id={second_id}&sequence_number=6"),
    )
    .await;
    let frame = old.next_frame().await.unwrap();
    assert_eq!(
        frame["event"], "hello",
        "events older than the cap were replayed: {frame}"
    );
    assert_ne!(connection_id(&frame), second_id);
    server.stop().await;
}
