//! The typed layer: one method per endpoint the CLI, the test kit and the benchmarks
//! call, taking plain arguments and returning `chorus_model` types. Names typed by
//! people are percent-encoded into their path segment, so a stray `/` or `?` cannot
//! turn into another request.

use crate::{multipart, Client, ClientError, Method};
use chorus_model::{
    Channel, ChannelMember, ClusterNode, CommandResponse, CreateUserRequest, LoginRequest,
    Manifest, PluginStatus, PluginsResponse, Post, StatusOk, Team, TeamMember, User,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Percent-encodes `value` for use as one path segment.
pub fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Client {
    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.request(Method::GET, path)).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, ClientError> {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// `POST /users/login`: the session token (the `Token` header) and the user.
    pub async fn login(
        &self,
        login_id: &str,
        password: &str,
    ) -> Result<(String, User), ClientError> {
        let request = LoginRequest {
            login_id: login_id.to_string(),
            password: password.to_string(),
            ..LoginRequest::default()
        };
        let reply = self
            .send_raw(
                self.signed_out()
                    .request(Method::POST, "/users/login")
                    .json(&request),
            )
            .await?;
        let token = reply
            .headers
            .get("token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let user = reply.decode()?;
        let token = token.ok_or_else(|| ClientError::NoSessionToken {
            url: self.server_url.clone(),
        })?;
        Ok((token, user))
    }

    /// `POST /users`: sign-up, or an admin creating a user.
    pub async fn create_user(&self, user: &CreateUserRequest) -> Result<User, ClientError> {
        self.send(self.request(Method::POST, "/users").json(user))
            .await
    }

    /// `GET /users`, one page.
    pub async fn users(&self, page: i64, per_page: i64) -> Result<Vec<User>, ClientError> {
        self.get(&format!("/users?page={page}&per_page={per_page}"))
            .await
    }

    pub async fn user(&self, user_id: &str) -> Result<User, ClientError> {
        self.get(&format!("/users/{}", path_segment(user_id))).await
    }

    pub async fn user_by_username(&self, username: &str) -> Result<User, ClientError> {
        self.get(&format!("/users/username/{}", path_segment(username)))
            .await
    }

    /// `POST /teams` of `team_type` (`O` open, `I` invite only); the caller becomes its admin.
    pub async fn create_team(
        &self,
        name: &str,
        display_name: &str,
        team_type: &str,
    ) -> Result<Team, ClientError> {
        self.post(
            "/teams",
            &json!({"name": name, "display_name": display_name, "type": team_type}),
        )
        .await
    }

    pub async fn team(&self, team_id: &str) -> Result<Team, ClientError> {
        self.get(&format!("/teams/{}", path_segment(team_id))).await
    }

    pub async fn team_by_name(&self, name: &str) -> Result<Team, ClientError> {
        self.get(&format!("/teams/name/{}", path_segment(name)))
            .await
    }

    pub async fn add_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> Result<TeamMember, ClientError> {
        self.post(
            &format!("/teams/{}/members", path_segment(team_id)),
            &json!({"team_id": team_id, "user_id": user_id}),
        )
        .await
    }

    /// `POST /channels` of `channel_type` (`O` open, `P` private); the caller joins it.
    pub async fn create_channel(
        &self,
        team_id: &str,
        name: &str,
        display_name: &str,
        channel_type: &str,
    ) -> Result<Channel, ClientError> {
        self.post(
            "/channels",
            &json!({"team_id": team_id, "name": name, "display_name": display_name, "type": channel_type}),
        )
        .await
    }

    pub async fn channel(&self, channel_id: &str) -> Result<Channel, ClientError> {
        self.get(&format!("/channels/{}", path_segment(channel_id)))
            .await
    }

    pub async fn channel_by_name(&self, team_id: &str, name: &str) -> Result<Channel, ClientError> {
        self.get(&format!(
            "/teams/{}/channels/name/{}",
            path_segment(team_id),
            path_segment(name)
        ))
        .await
    }

    pub async fn add_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> Result<ChannelMember, ClientError> {
        self.post(
            &format!("/channels/{}/members", path_segment(channel_id)),
            &json!({"user_id": user_id}),
        )
        .await
    }

    /// `POST /posts`; `root_id` is the thread's root post, or `""` for a new thread.
    pub async fn create_post(
        &self,
        channel_id: &str,
        message: &str,
        root_id: &str,
    ) -> Result<Post, ClientError> {
        self.post(
            "/posts",
            &json!({"channel_id": channel_id, "message": message, "root_id": root_id}),
        )
        .await
    }

    /// `POST /commands/execute`: runs a slash command in a channel.
    pub async fn execute_command(
        &self,
        channel_id: &str,
        team_id: &str,
        command: &str,
    ) -> Result<CommandResponse, ClientError> {
        self.post(
            "/commands/execute",
            &json!({"channel_id": channel_id, "team_id": team_id, "command": command}),
        )
        .await
    }

    /// `GET /plugins`: the installed plugins, active and inactive.
    pub async fn plugins(&self) -> Result<PluginsResponse, ClientError> {
        self.get("/plugins").await
    }

    /// `POST /plugins` with the multipart form the official client sends: `bundle` is
    /// the `plugin` part, and `force` replaces an installed plugin with the same id.
    pub fn plugin_upload_request(
        &self,
        bundle: multipart::Part,
        force: bool,
    ) -> reqwest::RequestBuilder {
        let mut form = multipart::Form::new();
        if force {
            form = form.text("force", "true");
        }
        form = form.part("plugin", bundle);
        self.request(Method::POST, "/plugins").multipart(form)
    }

    /// Uploads a bundle (see [`Client::plugin_upload_request`]); every node installs it.
    pub async fn upload_plugin(
        &self,
        bundle: multipart::Part,
        force: bool,
    ) -> Result<Manifest, ClientError> {
        self.send(self.plugin_upload_request(bundle, force)).await
    }

    pub async fn enable_plugin(&self, plugin_id: &str) -> Result<StatusOk, ClientError> {
        self.send(self.request(
            Method::POST,
            &format!("/plugins/{}/enable", path_segment(plugin_id)),
        ))
        .await
    }

    pub async fn disable_plugin(&self, plugin_id: &str) -> Result<StatusOk, ClientError> {
        self.send(self.request(
            Method::POST,
            &format!("/plugins/{}/disable", path_segment(plugin_id)),
        ))
        .await
    }

    /// `DELETE /plugins/{id}`: removes a plugin from every node.
    pub async fn remove_plugin(&self, plugin_id: &str) -> Result<StatusOk, ClientError> {
        self.send(self.request(
            Method::DELETE,
            &format!("/plugins/{}", path_segment(plugin_id)),
        ))
        .await
    }

    /// `GET /plugins/statuses`: every plugin on every live node.
    pub async fn plugin_statuses(&self) -> Result<Vec<PluginStatus>, ClientError> {
        self.get("/plugins/statuses").await
    }

    /// `GET /cluster/status`: the live nodes.
    pub async fn cluster_status(&self) -> Result<Vec<ClusterNode>, ClientError> {
        self.get("/cluster/status").await
    }

    /// `GET /system/ping`: succeeds once the server serves requests.
    pub async fn ping(&self) -> Result<Value, ClientError> {
        self.get("/system/ping").await
    }
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn segments_cannot_escape_the_path() {
        assert_eq!(path_segment("town-square_1.x~"), "town-square_1.x~");
        assert_eq!(path_segment("a/../b?c#d"), "a%2F..%2Fb%3Fc%23d");
        assert_eq!(path_segment("é"), "%C3%A9");
    }
}
