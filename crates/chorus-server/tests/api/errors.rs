//! Errors in Mattermost's shape for everything a client can get wrong, plus the
//! system routes (`/system/ping`, `/config`). The harness's `send` checks the shape and
//! the exact `Content-Type` of every reply.

use crate::both_backends;
use crate::common::{assert_error, id, Api, Backend, Endpoint, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_backends!(
    unknown_routes_are_404,
    wrong_methods_are_405,
    malformed_bodies_are_400,
    missing_required_fields_are_400,
    oversized_bodies_are_413,
    invalid_ids_are_400_and_unknown_ids_404,
    error_replies_carry_the_request_id,
    config_is_for_admins_and_redacted,
    system_ping_reports_status,
    nul_characters_refused_on_every_backend,
    paging_offsets_that_overflow_refused,
);

/// Rows of every chat table, to show that refused requests wrote nothing.
async fn row_counts(server: &TestServer) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "users",
        "sessions",
        "teams",
        "team_members",
        "channels",
        "channel_members",
        "posts",
    ] {
        counts.push(server.count(table).await);
    }
    counts
}

async fn unknown_routes_are_404(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let anonymous = server.client();
    for (api, method, path) in [
        (&anonymous, Method::GET, "/nothing/here"),
        (&bob, Method::GET, "/nothing/here"),
        (&bob, Method::POST, "/users/me/nothing"),
        (&bob, Method::GET, "/teams/name/crew/members"),
        (&bob, Method::DELETE, "/no/such/resource"),
    ] {
        let reply = api.send(api.request(method.clone(), path)).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "api.context.404.app_error");
    }
    // Outside /api/v4 too, except page loads, which get the web app (tested in `web`).
    let outside = reqwest::Client::new();
    for request in [
        outside.delete(format!("{}/no/such/page", server.url)),
        outside.get(format!("{}/static/no/such/asset.js", server.url)),
        outside.get(format!("{}/api/v3/users/me", server.url)),
    ] {
        let reply = anonymous.send(request).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "api.context.404.app_error");
    }
    server.stop().await;
}

async fn wrong_methods_are_405(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let post_path = format!("/posts/{}", chorus_model::new_id());
    for (method, path) in [
        (Method::DELETE, "/users/login"),
        (Method::GET, "/users/logout"),
        (Method::PUT, "/system/ping"),
        (Method::PATCH, post_path.as_str()),
        (Method::DELETE, "/teams"),
        (Method::PUT, "/commands/execute"),
    ] {
        let reply = bob
            .send(bob.request(method.clone(), path).json(&json!({})))
            .await;
        assert_error(
            &reply,
            StatusCode::METHOD_NOT_ALLOWED,
            "api.context.405.app_error",
        );
    }
    assert_eq!(server.count("teams").await, 0);
    server.stop().await;
}

async fn malformed_bodies_are_400(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let channel_id = id(&bob.channel_named(&team_id, "town-square").await);
    let posts_before = server.count("posts").await;
    let raw = |method: Method, path: &str, body: &'static str| {
        bob.request(method, path)
            .header("Content-Type", "application/json")
            .body(body)
    };
    for body in [
        "{not json",
        "",
        "   ",
        "[1, 2, 3]",
        "\"a string\"",
        "{\"channel_id\": 5, \"message\": \"x\"}",
        "{\"message\": \"x\"} trailing",
    ] {
        let reply = bob.send(raw(Method::POST, "/posts", body)).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "api.context.invalid_body_param.app_error",
        );
    }
    let reply = bob
        .send(raw(Method::POST, "/users", "{\"username\": [\"dave\"]}"))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_body_param.app_error",
    );
    let reply = bob
        .send(raw(Method::POST, "/users/login", "login_id=bob&password=x"))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_body_param.app_error",
    );
    let reply = bob
        .send(raw(Method::POST, "/channels/direct", "{\"a\": 1}"))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_body_param.app_error",
    );
    let reply = bob.send(raw(Method::POST, "/users/ids", "{}")).await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_body_param.app_error",
    );
    // No body and no Content-Type at all.
    let reply = bob.send(bob.request(Method::POST, "/teams")).await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_body_param.app_error",
    );
    // The content type is not what decides: a JSON body labelled as text is read.
    let body = json!({"channel_id": channel_id, "message": "labelled as text"}).to_string();
    let (status, post) = bob
        .send(
            bob.request(Method::POST, "/posts")
                .header("Content-Type", "text/plain")
                .body(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(server.count("posts").await, posts_before + 1);
    assert_eq!(server.count("users").await, 1);
    server.stop().await;
}

async fn missing_required_fields_are_400(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let channel_id = id(&bob.channel_named(&team_id, "town-square").await);
    let post = bob.create_post(&channel_id, "hello").await;
    let anonymous = server.client();
    let before = row_counts(&server).await;

    let cases: [(&Api, Method, String, Value, &str); 10] = [
        (
            &anonymous,
            Method::POST,
            "/users".into(),
            json!({}),
            "model.user.is_valid.username.app_error",
        ),
        (
            &anonymous,
            Method::POST,
            "/users".into(),
            json!({"username": "dave", "password": "password-dave"}),
            "model.user.is_valid.email.app_error",
        ),
        (
            &anonymous,
            Method::POST,
            "/users/login".into(),
            json!({}),
            "api.context.invalid_param.app_error",
        ),
        (
            &anonymous,
            Method::POST,
            "/users/login".into(),
            json!({"login_id": "bob"}),
            "api.context.invalid_param.app_error",
        ),
        (
            &bob,
            Method::POST,
            "/teams".into(),
            json!({}),
            "model.team.is_valid.name.app_error",
        ),
        (
            &bob,
            Method::POST,
            "/channels".into(),
            json!({"name": "news", "display_name": "News", "type": "O"}),
            "api.context.invalid_url_param.app_error",
        ),
        (
            &bob,
            Method::POST,
            "/channels".into(),
            json!({"team_id": team_id, "type": "O"}),
            "model.channel.is_valid.name.app_error",
        ),
        (
            &bob,
            Method::POST,
            "/posts".into(),
            json!({"message": "where to?"}),
            "api.context.invalid_url_param.app_error",
        ),
        (
            &bob,
            Method::POST,
            "/posts".into(),
            json!({"channel_id": channel_id}),
            "model.post.is_valid.msg.app_error",
        ),
        (
            &bob,
            Method::PUT,
            format!("/posts/{}", id(&post)),
            json!({}),
            "api.context.invalid_param.app_error",
        ),
    ];
    for (api, method, path, body, error_id) in cases {
        let reply = api.send(api.request(method, &path).json(&body)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, error_id);
    }
    let reply = bob
        .post(&format!("/teams/{team_id}/members"), json!({}))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    let reply = bob
        .post(&format!("/channels/{channel_id}/members"), json!({}))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    let reply = bob
        .post("/commands/execute", json!({"command": "/echo x"}))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );

    assert_eq!(row_counts(&server).await, before);
    let (_, unchanged) = bob.get(&format!("/posts/{}", id(&post))).await;
    assert_eq!(unchanged, post);
    server.stop().await;
}

async fn oversized_bodies_are_413(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |c| {
        c.service_settings.maximum_payload_size_bytes = 2048
    })
    .await
    else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let channel_id = id(&bob.channel_named(&team_id, "town-square").await);
    let fits = bob.create_post(&channel_id, &"a".repeat(1500)).await;

    let big = bob
        .post(
            "/posts",
            json!({"channel_id": channel_id, "message": "b".repeat(3000)}),
        )
        .await;
    assert_error(
        &big,
        StatusCode::PAYLOAD_TOO_LARGE,
        "api.context.request_body_too_large.app_error",
    );
    let big = server
        .client()
        .post(
            "/users",
            json!({"username": "dave", "email": "dave@example.com", "password": "p".repeat(3000)}),
        )
        .await;
    assert_error(
        &big,
        StatusCode::PAYLOAD_TOO_LARGE,
        "api.context.request_body_too_large.app_error",
    );
    let big = bob
        .put(
            &format!("/posts/{}", id(&fits)),
            json!({"message": "c".repeat(3000)}),
        )
        .await;
    assert_error(
        &big,
        StatusCode::PAYLOAD_TOO_LARGE,
        "api.context.request_body_too_large.app_error",
    );

    assert_eq!(bob.post_order(&channel_id).await, [id(&fits)]);
    let (_, unchanged) = bob.get(&format!("/posts/{}", id(&fits))).await;
    assert_eq!(unchanged, fits);
    assert_eq!(server.count("users").await, 1);
    server.stop().await;
}

async fn invalid_ids_are_400_and_unknown_ids_404(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let unknown = chorus_model::new_id();
    let invalid = [
        "short",
        "UPPERCASEUPPERCASEUPPERCAS",
        "abcdefghijklmnopqrstuvwxy_",
        "abcdefghijklmnopqrstuvwxyz0",
    ];
    let routes = [
        ("/users/{}", "app.user.missing_account.const"),
        ("/users/{}/teams", ""),
        ("/teams/{}", "app.team.get.find.app_error"),
        ("/teams/{}/members", "app.team.get.find.app_error"),
        ("/channels/{}", "app.channel.get.existing.app_error"),
        ("/channels/{}/posts", "app.channel.get.existing.app_error"),
        ("/channels/{}/members", "app.channel.get.existing.app_error"),
        ("/posts/{}", "app.post.get.app_error"),
        ("/posts/{}/thread", "app.post.get.app_error"),
    ];
    for (route, not_found) in routes {
        for bad in invalid {
            let reply = bob.get(&route.replace("{}", bad)).await;
            assert_error(
                &reply,
                StatusCode::BAD_REQUEST,
                "api.context.invalid_url_param.app_error",
            );
        }
        if !not_found.is_empty() {
            let reply = bob.get(&route.replace("{}", &unknown)).await;
            assert_error(&reply, StatusCode::NOT_FOUND, not_found);
        }
    }
    for path in [
        format!("/posts/{unknown}"),
        format!("/channels/{unknown}/members/me"),
    ] {
        let reply = bob.delete(&path).await;
        assert_eq!(reply.0, StatusCode::NOT_FOUND, "{path}: {}", reply.1);
    }
    let reply = bob.delete("/posts/nope").await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}

async fn error_replies_carry_the_request_id(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let anonymous = server.client();
    let response = anonymous
        .request(Method::GET, "/users/me")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    let request_id = headers["X-Request-Id"].to_str().unwrap().to_string();
    assert_eq!(request_id.len(), 26);
    assert!(headers["X-Version-Id"]
        .to_str()
        .unwrap()
        .contains(chorus_server::SERVER_VERSION));
    assert_eq!(
        headers["X-Cluster-Id"].to_str().unwrap(),
        server.state.node_id
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], json!(request_id));
    assert_eq!(body["status_code"], 401);
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{body}");

    // Every request gets its own id.
    let again = anonymous
        .request(Method::GET, "/users/me")
        .send()
        .await
        .unwrap();
    assert_ne!(
        again.headers()["X-Request-Id"].to_str().unwrap(),
        request_id
    );
    server.stop().await;
}

async fn config_is_for_admins_and_redacted(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;

    let reply = server.client().get("/config").await;
    assert_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "api.context.session_expired.app_error",
    );
    let reply = bob.get("/config").await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );

    let (status, config) = alice.get("/config").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["SqlSettings"]["DataSource"], "********");
    let driver = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(config["SqlSettings"]["DriverName"], driver);
    assert!(config["ServiceSettings"]["MaximumPayloadSizeBytes"].is_u64());
    assert_eq!(config["TeamSettings"]["EnableOpenServer"], true);
    let secret = &server.state.config.sql_settings.data_source;
    assert!(
        !config.to_string().contains(secret.as_str()),
        "the data source leaked: {config}"
    );
    server.stop().await;
}

async fn system_ping_reports_status(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let anonymous = server.client();
    let (status, ping) = anonymous.get("/system/ping").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ping["status"], "OK");
    assert!(ping.get("database_status").is_none());
    let (status, ping) = anonymous.get("/system/ping?get_server_status=true").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&ping["status"], &ping["database_status"]),
        (&json!("OK"), &json!("OK"))
    );
    let (status, ping) = anonymous
        .get("/system/ping?get_server_status=false&device_id=x")
        .await;
    assert_eq!((status, &ping["status"]), (StatusCode::OK, &json!("OK")));
    server.stop().await;
}

/// PostgreSQL cannot store U+0000 in text; both backends refuse it up front rather than
/// one storing it and the other failing with a 500.
async fn nul_characters_refused_on_every_backend(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let channel_id = id(&bob.channel_named(&team_id, "town-square").await);
    let anonymous = server.client();
    let before = row_counts(&server).await;

    let cases: [(&Api, &str, Value); 6] = [
        (
            &bob,
            "/posts",
            json!({"channel_id": channel_id, "message": "a\u{0}b"}),
        ),
        (
            &bob,
            "/posts",
            json!({"channel_id": channel_id, "message": "fine", "props": {"k": "\u{0}"}}),
        ),
        (
            &bob,
            "/channels",
            json!({"team_id": team_id, "name": "nul", "display_name": "a\u{0}b", "type": "O"}),
        ),
        (
            &bob,
            "/teams",
            json!({"name": "nul", "display_name": "N", "description": "\u{0}"}),
        ),
        (
            &anonymous,
            "/users",
            json!({"username": "carol", "email": "carol@example.com", "password": "password-carol", "nickname": "\u{0}"}),
        ),
        (
            &anonymous,
            "/users/login",
            json!({"login_id": "bob\u{0}", "password": "password-bob"}),
        ),
    ];
    for (api, path, body) in cases {
        let reply = api.post(path, body).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "api.context.invalid_body_param.app_error",
        );
    }
    for path in ["/users/username/bob%00", "/teams/name/crew%00"] {
        let reply = bob.get(path).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "api.context.invalid_url_param.app_error",
        );
    }
    let reply = bob.get(&format!("/users?in_team={team_id}%00")).await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    assert_eq!(row_counts(&server).await, before);

    // The six characters `\u0000` are ordinary text.
    let post = bob
        .create_post(&channel_id, r"printf(\u0000) and C:\u0000dir")
        .await;
    let (_, stored) = bob.get(&format!("/posts/{}", id(&post))).await;
    assert_eq!(stored["message"], r"printf(\u0000) and C:\u0000dir");
    server.stop().await;
}

async fn paging_offsets_that_overflow_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (bob, _) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let channel_id = id(&bob.channel_named(&team_id, "town-square").await);
    let huge = i64::MAX;
    for path in [
        format!("/users?page={huge}&per_page=200"),
        format!("/users?page={}", huge / 60 + 1),
        format!("/channels/{channel_id}/posts?page={huge}&per_page=2"),
        format!("/teams/{team_id}/members?page={huge}"),
    ] {
        let reply = bob.get(&path).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "api.context.invalid_url_param.app_error",
        );
    }
    // Large pages that do fit are simply empty.
    let (status, users) = bob
        .get(&format!("/users?page={}&per_page=200", huge / 200))
        .await;
    assert_eq!((status, users), (StatusCode::OK, json!([])));
    let (status, _) = bob.get("/users/me").await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

/// A client that sends its request headers too slowly (slowloris) has its connection
/// closed, and the server keeps answering everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(server) = TestServer::start_with(Backend::Sqlite, |c| {
        c.service_settings.header_read_timeout_seconds = 1;
    })
    .await
    else {
        return;
    };
    let address = server.url.trim_start_matches("http://").to_string();
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /api/v4/system/ping HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let (status, _) = server.client().get("/system/ping").await;
    assert_eq!(status, StatusCode::OK, "others are served meanwhile");
    for mut stream in slow {
        let mut buffer = [0u8; 256];
        // The end of the headers never comes: the server must hang up by itself.
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(30), stream.read(&mut buffer))
                .await
                .expect("the server kept a slow connection open");
        match read {
            Ok(n) => {
                let reply = String::from_utf8_lossy(&buffer[..n]);
                assert!(n == 0 || reply.starts_with("HTTP/1.1 408"), "{reply}");
            }
            Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset),
        }
    }
    server.stop().await;
}
