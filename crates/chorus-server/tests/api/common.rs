//! Test harness: a real Chorus server on a port-0 listener, on a fresh SQLite file or a
//! fresh PostgreSQL database, plus small HTTP and websocket clients.
//!
//! PostgreSQL runs on 127.0.0.1:5432 (user `postgres`, trust auth) unless
//! `CHORUS_TEST_POSTGRES_URL` says otherwise. Each server gets its own database, dropped
//! when the test stops the server. When PostgreSQL is unreachable the PostgreSQL variant
//! of a test is skipped with a loud message, except under `CI`, where it fails.

#![allow(dead_code)]

use chorus_server::{AppState, Config};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `mod name { sqlite(), postgres() }` tests from `async fn name(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )*};
}

pub fn postgres_admin_url() -> String {
    std::env::var("CHORUS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(admin_url: &str, database: &str) -> String {
    match admin_url.rfind('/') {
        Some(at) if admin_url[..at].contains("@") || admin_url[..at].ends_with(':') || at > 12 => {
            format!("{}/{}", &admin_url[..at], database)
        }
        _ => format!("{admin_url}/{database}"),
    }
}

/// Creates a fresh database, first dropping test databases left over by runs that died
/// more than an hour ago. `None` when PostgreSQL is unreachable outside CI.
pub async fn fresh_postgres_database() -> Option<(String, String)> {
    let admin_url = postgres_admin_url();
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(err) => {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL is required under CI but {admin_url} is unreachable: {err}");
            }
            eprintln!("SKIPPED (PostgreSQL unreachable at {admin_url}: {err})");
            return None;
        }
    };
    let now = chorus_model::now_millis() / 1000;
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'chorus_test_%'")
            .fetch_all(&mut admin)
            .await
            .expect("list databases");
    for name in stale {
        let started: i64 = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(now);
        if now - started > 3600 {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
    let name = format!("chorus_test_{now}_{}", chorus_model::new_id());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create test database");
    Some((name.clone(), with_database(&admin_url, &name)))
}

pub async fn drop_postgres_database(name: &str) {
    if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }
}

pub struct TestServer {
    pub url: String,
    pub state: Arc<AppState>,
    pub backend: Backend,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    pg_database: Option<String>,
}

impl TestServer {
    /// A server on `backend` with default settings; `None` means "skip this test".
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(
        backend: Backend,
        adjust: impl FnOnce(&mut Config),
    ) -> Option<TestServer> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::load(None, Vec::new()).expect("default config");
        let mut pg_database = None;
        match backend {
            Backend::Sqlite => {
                config.sql_settings.data_source =
                    dir.path().join("chorus.db").to_string_lossy().into_owned();
            }
            Backend::Postgres => {
                let (name, url) = fresh_postgres_database().await?;
                config.sql_settings.driver_name = "postgres".into();
                config.sql_settings.data_source = url;
                config.sql_settings.max_open_conns = 5;
                pg_database = Some(name);
            }
        }
        config.service_settings.listen_address = "127.0.0.1:0".into();
        config.plugin_settings.directory =
            dir.path().join("plugins").to_string_lossy().into_owned();
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = chorus_server::build_state(config)
            .await
            .expect("server state");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        let task = tokio::spawn(async move {
            chorus_server::serve(listener, serve_state, async move {
                let _ = rx.await;
            })
            .await
            .expect("server ran");
        });
        Some(TestServer {
            url,
            state,
            backend,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
            pg_database,
        })
    }

    /// `PluginSettings.Directory` of this server.
    pub fn plugin_dir(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(&self.state.config.plugin_settings.directory)
    }

    pub fn ws_url(&self) -> String {
        format!("{}/api/v4/websocket", self.url.replacen("http", "ws", 1))
    }

    /// An anonymous client.
    pub fn client(&self) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: format!("{}/api/v4", self.url),
            token: None,
        }
    }

    /// Signs `username` up (password `password-<username>`) and logs in.
    pub async fn user(&self, username: &str) -> (Api, Value) {
        let anonymous = self.client();
        let (status, user) = anonymous
            .post(
                "/users",
                json!({"username": username, "email": format!("{username}@example.com"), "password": format!("password-{username}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "sign-up of {username}: {user}");
        let api = anonymous
            .login(username, &format!("password-{username}"))
            .await;
        (api, user)
    }

    /// Signs `username` up and has `team_admin` add them to `team_id`.
    pub async fn member(&self, team_admin: &Api, team_id: &str, username: &str) -> (Api, Value) {
        let (api, user) = self.user(username).await;
        team_admin.add_to_team(team_id, &id(&user)).await;
        (api, user)
    }

    /// Rows in `table`, read straight from the database, to show that a refused request
    /// wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.state.store.pool())
            .await
            .expect("count rows")
    }

    /// Stops the server, and drops its PostgreSQL database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        if let Some(name) = self.pg_database.take() {
            drop_postgres_database(&name).await;
        }
    }
}

/// A tiny REST client: every call returns the status and the parsed JSON body, and
/// checks that replies carry exactly `Content-Type: application/json`.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Api {
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    pub fn token(&self) -> &str {
        self.token.as_deref().expect("logged in")
    }

    pub async fn login(&self, login_id: &str, password: &str) -> Api {
        let response = self
            .http
            .post(format!("{}/users/login", self.base))
            .json(&json!({"login_id": login_id, "password": password, "token": null}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK, "login of {login_id}");
        let token = response
            .headers()
            .get("Token")
            .expect("Token header")
            .to_str()
            .unwrap()
            .to_string();
        self.with_token(&token)
    }

    /// Logs in and returns the session token and the CSRF token, as a browser would get
    /// them in the `MMAUTHTOKEN` and `MMCSRF` cookies.
    pub async fn login_cookies(&self, login_id: &str, password: &str) -> (String, String) {
        let response = self
            .http
            .post(format!("{}/users/login", self.base))
            .json(&json!({"login_id": login_id, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK, "login of {login_id}");
        let cookie = |name: &str| {
            response
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|c| c.strip_prefix(&format!("{name}=")))
                .and_then(|c| c.split(';').next())
                .unwrap_or_else(|| panic!("no {name} cookie"))
                .to_string()
        };
        (cookie("MMAUTHTOKEN"), cookie("MMCSRF"))
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut builder = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        builder
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = builder.send().await.expect("request sent");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = response.text().await.expect("body");
        if text.is_empty() {
            assert!(status.is_success(), "a {status} reply without a body");
            return (status, Value::Null);
        }
        assert_eq!(
            content_type.as_deref(),
            Some("application/json"),
            "Content-Type of a {status} reply: {text}"
        );
        let body: Value = serde_json::from_str(&text).expect("JSON body");
        if !status.is_success() {
            assert_error_shape(status, &body);
        }
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.request(reqwest::Method::POST, path).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.request(reqwest::Method::PUT, path).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// Creates an open team named `name`; the caller becomes its admin.
    pub async fn team(&self, name: &str) -> Value {
        let (status, team) = self
            .post(
                "/teams",
                json!({"name": name, "display_name": name, "type": "O"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{team}");
        team
    }

    /// Creates a channel of `kind` ("O" or "P") in `team_id`.
    pub async fn channel(&self, team_id: &str, name: &str, kind: &str) -> Value {
        let (status, channel) = self
            .post(
                "/channels",
                json!({"team_id": team_id, "name": name, "display_name": name, "type": kind}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{channel}");
        channel
    }

    pub async fn add_to_team(&self, team_id: &str, user_id: &str) {
        let (status, body) = self
            .post(
                &format!("/teams/{team_id}/members"),
                json!({"team_id": team_id, "user_id": user_id}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    pub async fn add_to_channel(&self, channel_id: &str, user_id: &str) {
        let (status, body) = self
            .post(
                &format!("/channels/{channel_id}/members"),
                json!({"user_id": user_id}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// A team's channel by name (`town-square`, say).
    pub async fn channel_named(&self, team_id: &str, name: &str) -> Value {
        let (status, channel) = self
            .get(&format!("/teams/{team_id}/channels/name/{name}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{channel}");
        channel
    }

    /// Ids of the members of a channel, sorted.
    pub async fn channel_member_ids(&self, channel_id: &str) -> Vec<String> {
        let (status, members) = self.get(&format!("/channels/{channel_id}/members")).await;
        assert_eq!(status, StatusCode::OK, "{members}");
        let mut ids: Vec<String> = members
            .as_array()
            .expect("member list")
            .iter()
            .map(|m| m["user_id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }

    /// A channel's post ids, newest first (`GET /channels/{id}/posts`).
    pub async fn post_order(&self, channel_id: &str) -> Vec<String> {
        let (status, list) = self.get(&format!("/channels/{channel_id}/posts")).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        strings(&list["order"])
    }

    pub async fn create_post(&self, channel_id: &str, message: &str) -> Value {
        let (status, post) = self
            .post(
                "/posts",
                json!({"channel_id": channel_id, "message": message}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{post}");
        post
    }
}

/// Every error is `{id, message, detailed_error, request_id, status_code}` with the HTTP
/// status repeated.
pub fn assert_error_shape(status: StatusCode, body: &Value) {
    for field in ["id", "message", "detailed_error", "request_id"] {
        assert!(body[field].is_string(), "error without {field}: {body}");
    }
    assert!(
        !body["id"].as_str().unwrap().is_empty(),
        "empty error id: {body}"
    );
    assert!(
        !body["message"].as_str().unwrap().is_empty(),
        "empty message: {body}"
    );
    assert_eq!(
        body["status_code"],
        json!(status.as_u16()),
        "status_code: {body}"
    );
}

/// Asserts a failed call's status and error id.
#[track_caller]
pub fn assert_error(reply: &(StatusCode, Value), status: StatusCode, id: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["id"], json!(id), "{}", reply.1);
}

/// The `id` of a JSON object.
#[track_caller]
pub fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_string()
}

/// A JSON array of strings as a `Vec`.
#[track_caller]
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

/// The `id`s of a JSON array of objects.
#[track_caller]
pub fn ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(id)
        .collect()
}

/// The post carried by a `posted`/`post_edited`/`post_deleted`/`ephemeral_message`
/// event, which Mattermost sends as a JSON string inside the JSON event.
#[track_caller]
pub fn event_post(event: &Value) -> Value {
    let text = event["data"]["post"]
        .as_str()
        .unwrap_or_else(|| panic!("data.post is not a string: {event}"));
    serde_json::from_str(text).expect("data.post is JSON")
}

/// A websocket client speaking the Mattermost protocol.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_seq: i64,
}

pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long "nothing arrives" checks wait.
pub const QUIET_PERIOD: Duration = Duration::from_millis(300);

impl Ws {
    /// Connects without credentials and authenticates by challenge; returns after the
    /// challenge's reply (the `hello` event, or resumed events, come next). The server
    /// answers once the connection is attached, so every event caused afterwards
    /// reaches it.
    pub async fn connect(server: &TestServer, token: &str, query: &str) -> Ws {
        let mut ws = Ws::open(server, query).await;
        let reply = ws
            .request("authentication_challenge", json!({"token": token}))
            .await;
        assert_eq!(reply["status"], "OK", "{reply}");
        ws
    }

    /// Connects, authenticates by challenge and reads the `hello`.
    pub async fn ready(server: &TestServer, token: &str) -> Ws {
        let mut ws = Ws::connect(server, token, "").await;
        ws.hello().await;
        ws
    }

    /// Opens a socket without authenticating: the caller speaks first.
    pub async fn open(server: &TestServer, query: &str) -> Ws {
        let url = if query.is_empty() {
            server.ws_url()
        } else {
            format!("{}?{query}", server.ws_url())
        };
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        Ws {
            stream,
            next_seq: 1,
        }
    }

    /// Opens a socket authenticated at upgrade by an `Authorization` header.
    pub async fn open_with_header(server: &TestServer, authorization: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = server.ws_url().into_client_request().expect("ws request");
        request.headers_mut().insert(
            "Authorization",
            authorization.parse().expect("header value"),
        );
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("ws connect");
        Ws {
            stream,
            next_seq: 1,
        }
    }

    /// Reads the next frame, which must be `hello` at seq 0; returns it.
    pub async fn hello(&mut self) -> Value {
        let hello = self.next_frame().await.expect("hello frame");
        assert_eq!(hello["event"], "hello", "{hello}");
        assert_eq!(hello["seq"], 0, "{hello}");
        hello
    }

    /// Reads the next frame, which must be the event `name`; returns it.
    pub async fn next_event(&mut self, name: &str) -> Value {
        let frame = self
            .next_frame()
            .await
            .unwrap_or_else(|| panic!("socket ended while waiting for {name}"));
        assert_eq!(frame["event"], name, "expected {name}, got {frame}");
        frame
    }

    /// Asserts that no frame arrives within a short while.
    pub async fn expect_silence(&mut self) {
        if let Some(frame) = self.frame_within(QUIET_PERIOD).await {
            panic!("expected nothing, got {frame}");
        }
    }

    /// Asserts that the server closes the socket (without sending anything first).
    pub async fn expect_closed(&mut self) {
        loop {
            match tokio::time::timeout(EVENT_TIMEOUT, self.stream.next()).await {
                Err(_) => panic!("the socket is still open"),
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return,
                Ok(Some(Ok(Message::Text(text)))) => {
                    panic!("expected the socket to close, got {}", text.as_str())
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next raw websocket message (pings, pongs and closes included).
    pub async fn next_message(&mut self) -> Option<Message> {
        tokio::time::timeout(EVENT_TIMEOUT, self.stream.next())
            .await
            .ok()??
            .ok()
    }

    pub async fn send_message(&mut self, message: Message) {
        self.stream.send(message).await.expect("ws send");
    }

    pub async fn send_json(&mut self, value: Value) {
        self.stream
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("ws send");
    }

    /// Sends an action and waits for its reply (events arriving meanwhile are an error:
    /// callers read events with `next_event`).
    pub async fn request(&mut self, action: &str, data: Value) -> Value {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.send_json(json!({"action": action, "seq": seq, "data": data}))
            .await;
        let reply = self.next_frame().await.expect("reply");
        assert_eq!(reply["seq_reply"], json!(seq), "reply to {action}: {reply}");
        reply
    }

    /// The next text frame as JSON, or `None` if the socket closed or nothing came.
    pub async fn next_frame(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(EVENT_TIMEOUT, self.stream.next())
                .await
                .ok()??
                .ok()?;
            match message {
                Message::Text(text) => {
                    return Some(serde_json::from_str(text.as_str()).expect("JSON frame"))
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Waits up to `timeout` for any frame; `None` when nothing arrives.
    pub async fn frame_within(&mut self, timeout: Duration) -> Option<Value> {
        let message = tokio::time::timeout(timeout, self.stream.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => Some(serde_json::from_str(text.as_str()).expect("JSON frame")),
            _ => None,
        }
    }

    /// Reads events until one named `name` arrives, returning it and the ones skipped.
    pub async fn expect_event(&mut self, name: &str) -> Value {
        loop {
            let frame = self
                .next_frame()
                .await
                .unwrap_or_else(|| panic!("socket ended while waiting for {name}"));
            if frame["event"] == name {
                return frame;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// The workspace's root folder.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Builds a plugin package of the workspace (once per run) and returns its
/// executable. Plugins are real programs: tests and benchmarks run them as the server
/// would. Optimised builds of this harness (benchmarks) build optimised plugins.
pub fn built_plugin(package: &str) -> std::path::PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let release = !cfg!(debug_assertions);
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let executable = target
        .join(if release { "release" } else { "debug" })
        .join(package);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !built.iter().any(|p| p == package) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command
            .args(["build", "--quiet", "-p", package])
            .current_dir(&root);
        if release {
            command.arg("--release");
        }
        let status = command.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p {package} failed");
        built.push(package.to_string());
    }
    executable
}

/// A bundle of `plugins/<folder>` with the freshly built executable of `package`.
pub fn plugin_bundle(folder: &str, package: &str) -> Vec<u8> {
    let executable = built_plugin(package);
    chorus_server::plugins::bundle::bundle_folder(
        &workspace_root().join("plugins").join(folder),
        Some(&executable),
    )
    .expect("bundle the plugin")
}

impl Api {
    /// `POST /plugins` with the multipart form the official client sends.
    pub async fn upload_plugin(&self, bundle: Vec<u8>, force: bool) -> (StatusCode, Value) {
        let mut form = reqwest::multipart::Form::new();
        if force {
            form = form.text("force", "true");
        }
        form = form.part(
            "plugin",
            reqwest::multipart::Part::bytes(bundle).file_name("plugin.tar.gz"),
        );
        self.send(
            self.request(reqwest::Method::POST, "/plugins")
                .multipart(form),
        )
        .await
    }

    /// This node's status of `plugin_id`, if listed.
    pub async fn plugin_status(&self, plugin_id: &str) -> Option<Value> {
        let (status, list) = self.get("/plugins/statuses").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list.as_array()?
            .iter()
            .find(|s| s["plugin_id"] == plugin_id)
            .cloned()
    }

    /// Waits (up to 30 s) until `plugin_id` reports `state`; returns its status.
    pub async fn wait_for_plugin_state(&self, plugin_id: &str, state: i64) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let status = self.plugin_status(plugin_id).await;
            if let Some(status) = &status {
                if status["state"] == state {
                    return status.clone();
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{plugin_id} never reached state {state}; last status {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Uploads and enables a plugin, and waits until it runs.
    pub async fn install_plugin(&self, bundle: Vec<u8>) -> Value {
        let (status, manifest) = self.upload_plugin(bundle, false).await;
        assert_eq!(status, StatusCode::CREATED, "{manifest}");
        let id = manifest["id"].as_str().unwrap().to_string();
        let (status, body) = self
            .send(self.request(reqwest::Method::POST, &format!("/plugins/{id}/enable")))
            .await;
        assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
        self.wait_for_plugin_state(&id, 2).await;
        manifest
    }

    /// A request to a plugin's own HTTP endpoint (`/plugins/<id><path>`).
    pub fn plugin_request(
        &self,
        method: reqwest::Method,
        plugin_id: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let root = self.base.trim_end_matches("/api/v4");
        let mut builder = self
            .http
            .request(method, format!("{root}/plugins/{plugin_id}{path}"));
        if let Some(token) = &self.token {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        builder
    }
}

/// Whether a process is alive (signal 0 probes without touching it).
pub fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}
