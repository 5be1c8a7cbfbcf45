//! The REST client of tests, [`Api`]: `chorus_client`'s raw layer with test
//! assertions (every call returns the status and the parsed JSON body, and checks the
//! exact `Content-Type`), the [`Endpoint`] trait that gives any running server
//! (in-process or a cluster node) the same helpers, and assertions on Mattermost-shaped
//! replies.

use chorus_client::{Client, Reply};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Anything serving the Chorus API at a base URL.
pub trait Endpoint {
    /// `http://host:port`, without a trailing slash.
    fn base_url(&self) -> String;

    fn ws_url(&self) -> String {
        chorus_client::websocket_url(&self.base_url())
    }

    /// An anonymous client.
    fn client(&self) -> Api {
        Api {
            client: Client::new(self.base_url()),
        }
    }

    /// Signs `username` up (password `password-<username>`) and logs in.
    #[allow(
        async_fn_in_trait,
        reason = "only the test kit calls these, with no Send bound needed"
    )]
    async fn user(&self, username: &str) -> (Api, Value) {
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
    #[allow(
        async_fn_in_trait,
        reason = "only the test kit calls these, with no Send bound needed"
    )]
    async fn member(&self, team_admin: &Api, team_id: &str, username: &str) -> (Api, Value) {
        let (api, user) = self.user(username).await;
        team_admin.add_to_team(team_id, &id(&user)).await;
        (api, user)
    }
}

/// A REST client for tests: every call returns the status and the parsed JSON body,
/// and checks that replies carry exactly `Content-Type: application/json`.
#[derive(Clone)]
pub struct Api {
    /// The client underneath, for typed calls.
    pub client: Client,
}

impl Api {
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            client: self.client.with_token(token),
        }
    }

    /// The same client (and session) talking to another server of the cluster.
    pub fn at(&self, endpoint: &impl Endpoint) -> Api {
        Api {
            client: self.client.at(&endpoint.base_url()),
        }
    }

    pub fn token(&self) -> &str {
        self.client.token().expect("logged in")
    }

    pub async fn login(&self, login_id: &str, password: &str) -> Api {
        let (token, _) = self
            .client
            .login(login_id, password)
            .await
            .unwrap_or_else(|e| panic!("login of {login_id}: {e}"));
        self.with_token(&token)
    }

    /// Logs in and returns the session token and the CSRF token, as a browser would get
    /// them in the `MMAUTHTOKEN` and `MMCSRF` cookies.
    pub async fn login_cookies(&self, login_id: &str, password: &str) -> (String, String) {
        let request = self
            .client
            .signed_out()
            .request(reqwest::Method::POST, "/users/login")
            .json(&json!({"login_id": login_id, "password": password}));
        let reply = self.client.send_raw(request).await.expect("login request");
        assert_eq!(reply.status, StatusCode::OK, "login of {login_id}");
        let cookie = |name: &str| {
            reply
                .headers
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

    /// A request to `/api/v4{path}` with this client's session.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, path)
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> (StatusCode, Value) {
        checked(self.client.send_raw(builder).await.expect("request sent"))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        checked(
            self.client
                .call(method, path, body.as_ref())
                .await
                .expect("request sent"),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// `POST /files` as a multipart form (`channel_id`, then the file), as Mattermost's
    /// web app and `mattermostdriver` send it.
    pub async fn upload_file(
        &self,
        channel_id: &str,
        name: &str,
        data: Vec<u8>,
    ) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .text("channel_id", channel_id.to_string())
            .part(
                "files",
                reqwest::multipart::Part::bytes(data).file_name(name.to_string()),
            );
        self.send(
            self.request(reqwest::Method::POST, "/files")
                .multipart(form),
        )
        .await
    }

    /// A GET whose reply is not JSON (a file): its status, headers and bytes.
    pub async fn download(&self, path: &str) -> Reply {
        self.client
            .send_raw(self.request(reqwest::Method::GET, path))
            .await
            .expect("request sent")
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

/// A reply's status and JSON body (`Null` when empty, which only a success may be),
/// checking that a body is exactly `Content-Type: application/json` and that errors
/// have Mattermost's shape.
fn checked(reply: Reply) -> (StatusCode, Value) {
    let status = reply.status;
    if reply.body.is_empty() {
        assert!(status.is_success(), "a {status} reply without a body");
        return (status, Value::Null);
    }
    assert_eq!(
        reply.content_type(),
        Some("application/json"),
        "Content-Type of a {status} reply: {}",
        reply.text()
    );
    let body: Value = serde_json::from_slice(&reply.body).expect("JSON body");
    if !status.is_success() {
        assert_error_shape(status, &body);
    }
    (status, body)
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

impl Api {
    /// `POST /plugins` with the multipart form the official client sends.
    pub async fn upload_plugin(&self, bundle: Vec<u8>, force: bool) -> (StatusCode, Value) {
        let bundle = reqwest::multipart::Part::bytes(bundle).file_name("plugin.tar.gz");
        self.send(self.client.plugin_upload_request(bundle, force))
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
        self.client.plugin_request(method, plugin_id, path)
    }
}
