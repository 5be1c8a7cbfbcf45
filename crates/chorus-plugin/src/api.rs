//! [`Api`]: the typed client of the `PluginApi` service the server offers each plugin
//! on its own Unix socket, and [`ApiError`], the gRPC statuses it maps failures to.
//!
//! The client connects lazily and reconnects by itself: a plugin can hold one `Api`
//! for its whole life even while the server restarts its end. Cloning it is cheap
//! (one shared HTTP/2 connection), so hand clones to spawned tasks freely.

use crate::{
    Bot, BotPatch, Broadcast, Channel, ChannelMember, Command, FileInfo, PluginStatus, Post,
    PostList, Preference, Reaction, Status, Team, TeamMember, User,
};
use chorus_plugin_protocol::v1::{self, plugin_api_client::PluginApiClient};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use tonic::transport::{Channel as GrpcChannel, Endpoint};

/// Why an API call failed. The server answers with a gRPC status whose message a
/// person understands; the variants name the statuses a plugin may want to handle.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The thing asked for does not exist (`get_user` of an unknown id, ...).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request was malformed (a KV key longer than 150 characters, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The plugin may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The thing to create exists already.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The server could not be reached (it is restarting, or this plugin was not
    /// started by a server).
    #[error("the server is unavailable: {0}")]
    Unavailable(String),
    /// A value could not be encoded or decoded as JSON (`kv_get_json`, plugin config).
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Any other gRPC status.
    #[error("{code:?}: {message}")]
    Other { code: tonic::Code, message: String },
}

impl ApiError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::NotFound(_))
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let message = status.message().to_string();
        match status.code() {
            tonic::Code::NotFound => ApiError::NotFound(message),
            tonic::Code::InvalidArgument => ApiError::InvalidArgument(message),
            tonic::Code::PermissionDenied => ApiError::PermissionDenied(message),
            tonic::Code::AlreadyExists => ApiError::AlreadyExists(message),
            tonic::Code::Unavailable => ApiError::Unavailable(message),
            code => ApiError::Other { code, message },
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Which files [`Api::get_file_infos`] answers: empty lists match every user or
/// channel; `sort_by` is `"CreateAt"` (the default) or `"Size"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileQuery {
    pub page: i32,
    /// 1-200; 0 means 60.
    pub per_page: i32,
    pub user_ids: Vec<String>,
    pub channel_ids: Vec<String>,
    /// Only files created at or after this time (ms).
    pub since: i64,
    pub include_deleted: bool,
    pub sort_by: String,
    pub sort_descending: bool,
}

/// Options of [`Api::kv_set_with_options`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvSetOptions {
    /// Write only if the current value equals `old_value` (`None`: only if the key is
    /// absent or expired).
    pub atomic: bool,
    pub old_value: Option<Vec<u8>>,
    /// Delete the key after this long; `None` keeps it until deleted. Rounded up to
    /// whole seconds.
    pub expire_in: Option<Duration>,
}

/// Log levels of [`Api::log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl From<LogLevel> for v1::LogLevel {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Debug => v1::LogLevel::Debug,
            LogLevel::Info => v1::LogLevel::Info,
            LogLevel::Warn => v1::LogLevel::Warn,
            LogLevel::Error => v1::LogLevel::Error,
        }
    }
}

/// HTTP/2 settings shared by the SDK's client and server ends. Calls are small and
/// latency-bound: no adaptive window (its BDP pings compete with real calls), and
/// windows large enough that a 1 MiB KV value or a run of 64 KiB HTTP chunks never
/// waits for a WINDOW_UPDATE round trip. Unix sockets have no Nagle algorithm, so
/// there is no TCP_NODELAY to set.
pub(crate) const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
pub(crate) const CONNECTION_WINDOW: u32 = 8 * 1024 * 1024;

pub(crate) fn endpoint() -> Endpoint {
    // The URI is a placeholder tonic requires; the connector ignores it.
    Endpoint::from_static("http://chorus-plugin.invalid")
        .http2_adaptive_window(false)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
}

/// A gRPC channel to a Unix socket that connects on first use and reconnects after
/// a failure. Must be called inside a tokio runtime.
pub(crate) fn lazy_unix_channel(path: Option<PathBuf>) -> GrpcChannel {
    endpoint().connect_with_connector_lazy(tower::service_fn(move |_| {
        let path = path.clone();
        async move {
            let Some(path) = path else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "{} is not set; a plugin reaches the server only when the server started it",
                        chorus_plugin_protocol::ENV_API_SOCKET
                    ),
                ));
            };
            let stream = tokio::net::UnixStream::connect(path).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    }))
}

/// The server's API, as seen by one plugin. Every method is one gRPC call.
#[derive(Debug, Clone)]
pub struct Api {
    client: PluginApiClient<GrpcChannel>,
}

impl Api {
    /// An `Api` for the server at this Unix socket, connecting on first use. Must be
    /// called inside a tokio runtime. [`crate::serve`] makes one from
    /// `CHORUS_PLUGIN_API_SOCKET`; tests get one from [`crate::testing`].
    pub fn connect_lazy(socket: impl Into<PathBuf>) -> Api {
        Api::from_channel(lazy_unix_channel(Some(socket.into())))
    }

    /// An `Api` over a gRPC channel you built yourself.
    pub fn from_channel(channel: GrpcChannel) -> Api {
        Api {
            // Files come back whole (`get_file`); the server bounds them by
            // FileSettings.MaxFileSize, not gRPC's 4 MiB default.
            client: PluginApiClient::new(channel)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        }
    }

    /// An `Api` whose every call fails with [`ApiError::Unavailable`], for a plugin
    /// started without `CHORUS_PLUGIN_API_SOCKET`.
    pub(crate) fn unconnected() -> Api {
        Api::from_channel(lazy_unix_channel(None))
    }

    fn client(&self) -> PluginApiClient<GrpcChannel> {
        // Clones share the connection; tonic's generated methods take `&mut self`.
        self.client.clone()
    }

    // ----- Key-value store -----

    /// Stores `value` under `key` (keys are 1-150 characters, values at most 1 MiB).
    pub async fn kv_set(&self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> ApiResult<()> {
        self.kv_set_with_options(key, Some(value.into()), KvSetOptions::default())
            .await
            .map(|_| ())
    }

    /// Stores `value` under `key` for `ttl` (rounded up to whole seconds).
    pub async fn kv_set_with_expiry(
        &self,
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
        ttl: Duration,
    ) -> ApiResult<()> {
        let options = KvSetOptions {
            expire_in: Some(ttl),
            ..KvSetOptions::default()
        };
        self.kv_set_with_options(key, Some(value.into()), options)
            .await
            .map(|_| ())
    }

    /// The general KV write: `value` `None` deletes. Returns whether it wrote (always
    /// true unless `options.atomic` found a different current value).
    pub async fn kv_set_with_options(
        &self,
        key: impl Into<String>,
        value: Option<Vec<u8>>,
        options: KvSetOptions,
    ) -> ApiResult<bool> {
        let expire_in_seconds = match options.expire_in {
            // Round up: a positive TTL below one second must not become 0 ("forever").
            Some(ttl) => i64::try_from(ttl.as_millis().div_ceil(1000)).unwrap_or(i64::MAX),
            None => 0,
        };
        let request = v1::KvSetRequest {
            key: key.into(),
            value,
            atomic: options.atomic,
            old_value: options.old_value,
            expire_in_seconds,
        };
        Ok(self.client().kv_set(request).await?.into_inner().written)
    }

    /// Sets `key` to `new` only if its current value is `old` (`None`: only if the key
    /// is absent or expired). Returns whether it wrote. Build counters and locks on it.
    pub async fn kv_compare_and_set(
        &self,
        key: impl Into<String>,
        old: Option<&[u8]>,
        new: impl Into<Vec<u8>>,
    ) -> ApiResult<bool> {
        let options = KvSetOptions {
            atomic: true,
            old_value: old.map(<[u8]>::to_vec),
            expire_in: None,
        };
        self.kv_set_with_options(key, Some(new.into()), options)
            .await
    }

    /// Deletes `key` only if its current value is `old`. Returns whether it deleted.
    pub async fn kv_compare_and_delete(
        &self,
        key: impl Into<String>,
        old: &[u8],
    ) -> ApiResult<bool> {
        let options = KvSetOptions {
            atomic: true,
            old_value: Some(old.to_vec()),
            expire_in: None,
        };
        self.kv_set_with_options(key, None, options).await
    }

    /// The value under `key`, or `None` when it is absent or expired.
    pub async fn kv_get(&self, key: impl Into<String>) -> ApiResult<Option<Vec<u8>>> {
        Ok(self
            .client()
            .kv_get(v1::KvGetRequest { key: key.into() })
            .await?
            .into_inner()
            .value)
    }

    /// The live values of several keys in one call (at most 1000); absent or expired
    /// keys are missing from the map. Use it where a hook would otherwise read key after
    /// key on the path of every post.
    pub async fn kv_get_many(
        &self,
        keys: impl IntoIterator<Item = impl Into<String>>,
    ) -> ApiResult<HashMap<String, Vec<u8>>> {
        let request = v1::KvGetManyRequest {
            keys: keys.into_iter().map(Into::into).collect(),
        };
        Ok(self
            .client()
            .kv_get_many(request)
            .await?
            .into_inner()
            .values)
    }

    pub async fn kv_delete(&self, key: impl Into<String>) -> ApiResult<()> {
        self.client()
            .kv_delete(v1::KvDeleteRequest { key: key.into() })
            .await?;
        Ok(())
    }

    /// Deletes every key of this plugin.
    pub async fn kv_delete_all(&self) -> ApiResult<()> {
        self.client().kv_delete_all(v1::Empty {}).await?;
        Ok(())
    }

    /// The keys starting with `prefix`, sorted, one page at a time (`page` from 0;
    /// `per_page` 0 means 100, at most 1000).
    pub async fn kv_list(
        &self,
        prefix: impl Into<String>,
        page: u32,
        per_page: u32,
    ) -> ApiResult<Vec<String>> {
        let request = v1::KvListRequest {
            prefix: prefix.into(),
            page,
            per_page,
        };
        Ok(self.client().kv_list(request).await?.into_inner().keys)
    }

    /// The value under `key` decoded from JSON, or `None` when absent.
    pub async fn kv_get_json<T: DeserializeOwned>(
        &self,
        key: impl Into<String>,
    ) -> ApiResult<Option<T>> {
        match self.kv_get(key).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Stores `value` as JSON under `key`.
    pub async fn kv_set_json<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
    ) -> ApiResult<()> {
        self.kv_set(key, serde_json::to_vec(value)?).await
    }

    // ----- Posts -----

    /// Creates a post; the server fills `id` and the timestamps. Plugin posts do not
    /// go through `MessageWillBePosted`.
    pub async fn create_post(&self, post: Post) -> ApiResult<Post> {
        let request = v1::PostRequest {
            post: Some(post.into()),
        };
        Ok(self
            .client()
            .create_post(request)
            .await?
            .into_inner()
            .into())
    }

    /// Replaces a post's editable fields (message, props, pinning).
    pub async fn update_post(&self, post: Post) -> ApiResult<Post> {
        let request = v1::PostRequest {
            post: Some(post.into()),
        };
        Ok(self
            .client()
            .update_post(request)
            .await?
            .into_inner()
            .into())
    }

    pub async fn delete_post(&self, post_id: impl Into<String>) -> ApiResult<()> {
        self.client()
            .delete_post(v1::PostIdRequest {
                post_id: post_id.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn get_post(&self, post_id: impl Into<String>) -> ApiResult<Post> {
        let request = v1::PostIdRequest {
            post_id: post_id.into(),
        };
        Ok(self.client().get_post(request).await?.into_inner().into())
    }

    /// A user's status, cluster-wide (`online`, `away`, `offline`, `dnd`).
    pub async fn get_user_status(&self, user_id: impl Into<String>) -> ApiResult<Status> {
        let request = v1::UserIdRequest {
            user_id: user_id.into(),
        };
        Ok(self
            .client()
            .get_user_status(request)
            .await?
            .into_inner()
            .into())
    }

    /// The statuses of these users, in the order asked (`offline` for users never
    /// seen).
    pub async fn get_user_statuses_by_ids(&self, user_ids: &[String]) -> ApiResult<Vec<Status>> {
        let request = v1::UserIdsRequest {
            user_ids: user_ids.to_vec(),
        };
        let list = self
            .client()
            .get_user_statuses_by_ids(request)
            .await?
            .into_inner();
        Ok(list.statuses.into_iter().map(Into::into).collect())
    }

    /// Sets a user's status as they could themselves: `online` (activity decides
    /// again), `away`, `offline`, or `dnd` until `dnd_end_time` (seconds; 0: until
    /// changed).
    pub async fn update_user_status(
        &self,
        user_id: impl Into<String>,
        status: impl Into<String>,
        dnd_end_time: i64,
    ) -> ApiResult<Status> {
        let request = v1::UpdateUserStatusRequest {
            user_id: user_id.into(),
            status: status.into(),
            dnd_end_time,
        };
        Ok(self
            .client()
            .update_user_status(request)
            .await?
            .into_inner()
            .into())
    }

    /// A user's preferences (theme, display settings, flagged posts, …).
    pub async fn get_preferences_for_user(
        &self,
        user_id: impl Into<String>,
    ) -> ApiResult<Vec<Preference>> {
        let request = v1::UserIdRequest {
            user_id: user_id.into(),
        };
        let list = self
            .client()
            .get_preferences_for_user(request)
            .await?
            .into_inner();
        Ok(list.preferences.into_iter().map(Into::into).collect())
    }

    /// Saves (inserts or replaces) preferences of `user_id`, all or none; the user's
    /// clients are told.
    pub async fn update_preferences_for_user(
        &self,
        user_id: impl Into<String>,
        preferences: Vec<Preference>,
    ) -> ApiResult<()> {
        let request = v1::PreferencesRequest {
            user_id: user_id.into(),
            preferences: preferences.into_iter().map(Into::into).collect(),
        };
        self.client().update_preferences_for_user(request).await?;
        Ok(())
    }

    /// Deletes preferences of `user_id` (by category and name); missing ones are fine.
    pub async fn delete_preferences_for_user(
        &self,
        user_id: impl Into<String>,
        preferences: Vec<Preference>,
    ) -> ApiResult<()> {
        let request = v1::PreferencesRequest {
            user_id: user_id.into(),
            preferences: preferences.into_iter().map(Into::into).collect(),
        };
        self.client().delete_preferences_for_user(request).await?;
        Ok(())
    }

    /// Reacts to a post as `reaction.user_id` with `reaction.emoji_name`; reacting
    /// twice answers the first reaction.
    pub async fn add_reaction(&self, reaction: Reaction) -> ApiResult<Reaction> {
        Ok(self
            .client()
            .add_reaction(v1::Reaction::from(reaction))
            .await?
            .into_inner()
            .into())
    }

    /// Takes back `reaction.user_id`'s `reaction.emoji_name` on `reaction.post_id`.
    pub async fn remove_reaction(&self, reaction: Reaction) -> ApiResult<()> {
        self.client()
            .remove_reaction(v1::Reaction::from(reaction))
            .await?;
        Ok(())
    }

    /// A post's reactions, oldest first.
    pub async fn get_reactions(&self, post_id: impl Into<String>) -> ApiResult<Vec<Reaction>> {
        let request = v1::PostIdRequest {
            post_id: post_id.into(),
        };
        let list = self.client().get_reactions(request).await?.into_inner();
        Ok(list.reactions.into_iter().map(Into::into).collect())
    }

    // ----- Files -----

    /// Stores `data` as `filename` in a channel; any author may then attach it to a
    /// post there (`Post::file_ids`).
    pub async fn upload_file(
        &self,
        data: Vec<u8>,
        channel_id: impl Into<String>,
        filename: impl Into<String>,
    ) -> ApiResult<FileInfo> {
        let request = v1::UploadFileRequest {
            data,
            channel_id: channel_id.into(),
            filename: filename.into(),
        };
        Ok(self
            .client()
            .upload_file(request)
            .await?
            .into_inner()
            .into())
    }

    /// A file's content.
    pub async fn get_file(&self, file_id: impl Into<String>) -> ApiResult<Vec<u8>> {
        let request = v1::FileIdRequest {
            file_id: file_id.into(),
        };
        Ok(self.client().get_file(request).await?.into_inner().data)
    }

    pub async fn get_file_info(&self, file_id: impl Into<String>) -> ApiResult<FileInfo> {
        let request = v1::FileIdRequest {
            file_id: file_id.into(),
        };
        Ok(self
            .client()
            .get_file_info(request)
            .await?
            .into_inner()
            .into())
    }

    /// A page of files matching `query` (the defaults match every live file, newest
    /// first).
    pub async fn get_file_infos(&self, query: FileQuery) -> ApiResult<Vec<FileInfo>> {
        let request = v1::GetFileInfosRequest {
            page: query.page,
            per_page: query.per_page,
            user_ids: query.user_ids,
            channel_ids: query.channel_ids,
            since: query.since,
            include_deleted: query.include_deleted,
            sort_by: query.sort_by,
            sort_descending: query.sort_descending,
        };
        let list = self.client().get_file_infos(request).await?.into_inner();
        Ok(list.file_infos.into_iter().map(Into::into).collect())
    }

    /// The file's public link (public links on, the file attached to a post).
    pub async fn get_file_link(&self, file_id: impl Into<String>) -> ApiResult<String> {
        let request = v1::FileIdRequest {
            file_id: file_id.into(),
        };
        Ok(self
            .client()
            .get_file_link(request)
            .await?
            .into_inner()
            .link)
    }

    /// New files owned by `user_id` with the same content as `file_ids`, to attach to
    /// a new post; their ids in the same order.
    pub async fn copy_file_infos(
        &self,
        user_id: impl Into<String>,
        file_ids: Vec<String>,
    ) -> ApiResult<Vec<String>> {
        let request = v1::CopyFileInfosRequest {
            user_id: user_id.into(),
            file_ids,
        };
        Ok(self
            .client()
            .copy_file_infos(request)
            .await?
            .into_inner()
            .file_ids)
    }

    /// Shows `post` to one user only, without storing it.
    pub async fn send_ephemeral_post(
        &self,
        user_id: impl Into<String>,
        post: Post,
    ) -> ApiResult<Post> {
        let request = v1::SendEphemeralPostRequest {
            user_id: user_id.into(),
            post: Some(post.into()),
        };
        Ok(self
            .client()
            .send_ephemeral_post(request)
            .await?
            .into_inner()
            .into())
    }

    /// Replaces the ephemeral post `post.id` that `user_id` sees.
    pub async fn update_ephemeral_post(
        &self,
        user_id: impl Into<String>,
        post: Post,
    ) -> ApiResult<Post> {
        let request = v1::SendEphemeralPostRequest {
            user_id: user_id.into(),
            post: Some(post.into()),
        };
        Ok(self
            .client()
            .update_ephemeral_post(request)
            .await?
            .into_inner()
            .into())
    }

    /// Takes the ephemeral post `post_id` away from `user_id`'s clients.
    pub async fn delete_ephemeral_post(
        &self,
        user_id: impl Into<String>,
        post_id: impl Into<String>,
    ) -> ApiResult<()> {
        let request = v1::DeleteEphemeralPostRequest {
            user_id: user_id.into(),
            post_id: post_id.into(),
        };
        self.client().delete_ephemeral_post(request).await?;
        Ok(())
    }

    /// Opens a dialog for the user whose command or click gave `trigger_id`; its
    /// submission is POSTed to `url` (a URL, or this plugin's `/plugins/{id}/…` route).
    pub async fn open_interactive_dialog(
        &self,
        trigger_id: impl Into<String>,
        url: impl Into<String>,
        dialog: &chorus_model::Dialog,
    ) -> ApiResult<()> {
        let request = v1::OpenInteractiveDialogRequest {
            trigger_id: trigger_id.into(),
            url: url.into(),
            dialog_json: serde_json::to_string(dialog).expect("a dialog is JSON"),
        };
        self.client().open_interactive_dialog(request).await?;
        Ok(())
    }

    /// The thread `post_id` belongs to, root and replies.
    pub async fn get_post_thread(&self, post_id: impl Into<String>) -> ApiResult<PostList> {
        let request = v1::PostIdRequest {
            post_id: post_id.into(),
        };
        Ok(self
            .client()
            .get_post_thread(request)
            .await?
            .into_inner()
            .into())
    }

    /// A channel's posts created, edited or deleted after `since` (ms).
    pub async fn get_posts_since(
        &self,
        channel_id: impl Into<String>,
        since: i64,
    ) -> ApiResult<PostList> {
        let request = v1::PostsSinceRequest {
            channel_id: channel_id.into(),
            since,
        };
        Ok(self
            .client()
            .get_posts_since(request)
            .await?
            .into_inner()
            .into())
    }

    // ----- Users, channels, teams -----

    pub async fn get_user(&self, user_id: impl Into<String>) -> ApiResult<User> {
        let request = v1::UserIdRequest {
            user_id: user_id.into(),
        };
        Ok(self.client().get_user(request).await?.into_inner().into())
    }

    pub async fn get_user_by_username(&self, username: impl Into<String>) -> ApiResult<User> {
        let request = v1::UsernameRequest {
            username: username.into(),
        };
        Ok(self
            .client()
            .get_user_by_username(request)
            .await?
            .into_inner()
            .into())
    }

    pub async fn get_channel(&self, channel_id: impl Into<String>) -> ApiResult<Channel> {
        let request = v1::ChannelIdRequest {
            channel_id: channel_id.into(),
        };
        Ok(self
            .client()
            .get_channel(request)
            .await?
            .into_inner()
            .into())
    }

    /// The channel named `name` (the URL name, not the display name) in a team.
    pub async fn get_channel_by_name(
        &self,
        team_id: impl Into<String>,
        name: impl Into<String>,
    ) -> ApiResult<Channel> {
        let request = v1::ChannelByNameRequest {
            team_id: team_id.into(),
            name: name.into(),
        };
        Ok(self
            .client()
            .get_channel_by_name(request)
            .await?
            .into_inner()
            .into())
    }

    /// The direct-message channel between two users, created if needed.
    pub async fn get_direct_channel(
        &self,
        user_id_1: impl Into<String>,
        user_id_2: impl Into<String>,
    ) -> ApiResult<Channel> {
        let request = v1::DirectChannelRequest {
            user_id_1: user_id_1.into(),
            user_id_2: user_id_2.into(),
        };
        Ok(self
            .client()
            .get_direct_channel(request)
            .await?
            .into_inner()
            .into())
    }

    pub async fn add_channel_member(
        &self,
        channel_id: impl Into<String>,
        user_id: impl Into<String>,
    ) -> ApiResult<ChannelMember> {
        let request = v1::AddChannelMemberRequest {
            channel_id: channel_id.into(),
            user_id: user_id.into(),
        };
        Ok(self
            .client()
            .add_channel_member(request)
            .await?
            .into_inner()
            .into())
    }

    /// The membership of `user_id` in `channel_id`; [`ApiError::NotFound`] when the
    /// user is not a member (use it to check who may see a post).
    pub async fn get_channel_member(
        &self,
        channel_id: impl Into<String>,
        user_id: impl Into<String>,
    ) -> ApiResult<ChannelMember> {
        let request = v1::ChannelMemberRequest {
            channel_id: channel_id.into(),
            user_id: user_id.into(),
        };
        Ok(self
            .client()
            .get_channel_member(request)
            .await?
            .into_inner()
            .into())
    }

    pub async fn get_team(&self, team_id: impl Into<String>) -> ApiResult<Team> {
        let request = v1::TeamIdRequest {
            team_id: team_id.into(),
        };
        Ok(self.client().get_team(request).await?.into_inner().into())
    }

    /// Every team.
    pub async fn get_teams(&self) -> ApiResult<Vec<Team>> {
        let teams = self.client().get_teams(v1::Empty {}).await?.into_inner();
        Ok(teams.teams.into_iter().map(Team::from).collect())
    }

    pub async fn get_team_by_name(&self, name: impl Into<String>) -> ApiResult<Team> {
        let request = v1::TeamByNameRequest { name: name.into() };
        Ok(self
            .client()
            .get_team_by_name(request)
            .await?
            .into_inner()
            .into())
    }

    /// [`ApiError::NotFound`] when the user is not in the team.
    pub async fn get_team_member(
        &self,
        team_id: impl Into<String>,
        user_id: impl Into<String>,
    ) -> ApiResult<TeamMember> {
        let request = v1::TeamMemberRequest {
            team_id: team_id.into(),
            user_id: user_id.into(),
        };
        Ok(self
            .client()
            .get_team_member(request)
            .await?
            .into_inner()
            .into())
    }

    /// A page of a team's members (`per_page` 0: Mattermost's default of 60).
    pub async fn get_team_members(
        &self,
        team_id: impl Into<String>,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<TeamMember>> {
        let request = v1::TeamPageRequest {
            team_id: team_id.into(),
            page,
            per_page,
        };
        let members = self.client().get_team_members(request).await?.into_inner();
        Ok(members.members.into_iter().map(TeamMember::from).collect())
    }

    /// Adds a user to a team and its default channels.
    pub async fn create_team_member(
        &self,
        team_id: impl Into<String>,
        user_id: impl Into<String>,
    ) -> ApiResult<TeamMember> {
        let request = v1::TeamMemberRequest {
            team_id: team_id.into(),
            user_id: user_id.into(),
        };
        Ok(self
            .client()
            .create_team_member(request)
            .await?
            .into_inner()
            .into())
    }

    pub async fn get_channel_by_name_for_team_name(
        &self,
        team_name: impl Into<String>,
        channel_name: impl Into<String>,
    ) -> ApiResult<Channel> {
        let request = v1::ChannelByTeamNameRequest {
            team_name: team_name.into(),
            channel_name: channel_name.into(),
        };
        Ok(self
            .client()
            .get_channel_by_name_for_team_name(request)
            .await?
            .into_inner()
            .into())
    }

    /// A page of a channel's members (`per_page` 0: 60).
    pub async fn get_channel_members(
        &self,
        channel_id: impl Into<String>,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<ChannelMember>> {
        let request = v1::ChannelPageRequest {
            channel_id: channel_id.into(),
            page,
            per_page,
        };
        let members = self
            .client()
            .get_channel_members(request)
            .await?
            .into_inner();
        Ok(members
            .members
            .into_iter()
            .map(ChannelMember::from)
            .collect())
    }

    /// A page of the users in a channel (`per_page` 0: 60).
    pub async fn get_users_in_channel(
        &self,
        channel_id: impl Into<String>,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<User>> {
        let request = v1::ChannelPageRequest {
            channel_id: channel_id.into(),
            page,
            per_page,
        };
        let users = self
            .client()
            .get_users_in_channel(request)
            .await?
            .into_inner();
        Ok(users.users.into_iter().map(User::from).collect())
    }

    /// A page of users, only those in `in_team` or `in_channel` when not empty.
    pub async fn get_users(
        &self,
        page: i64,
        per_page: i64,
        in_team: impl Into<String>,
        in_channel: impl Into<String>,
    ) -> ApiResult<Vec<User>> {
        let request = v1::GetUsersRequest {
            page,
            per_page,
            in_team: in_team.into(),
            in_channel: in_channel.into(),
        };
        let users = self.client().get_users(request).await?.into_inner();
        Ok(users.users.into_iter().map(User::from).collect())
    }

    /// An open (`"O"`) or private (`"P"`) channel; `creator_id` is recorded, nobody is
    /// added to it.
    pub async fn create_channel(&self, channel: Channel) -> ApiResult<Channel> {
        Ok(self
            .client()
            .create_channel(v1::Channel::from(channel))
            .await?
            .into_inner()
            .into())
    }

    /// Saves a channel's name, display name, header and purpose; its type cannot
    /// change here.
    pub async fn update_channel(&self, channel: Channel) -> ApiResult<Channel> {
        Ok(self
            .client()
            .update_channel(v1::Channel::from(channel))
            .await?
            .into_inner()
            .into())
    }

    /// Takes a user out of a team and its channels; `requestor_id` is who asked (the
    /// user themselves when they leave).
    pub async fn delete_team_member(
        &self,
        team_id: impl Into<String>,
        user_id: impl Into<String>,
        requestor_id: impl Into<String>,
    ) -> ApiResult<()> {
        let request = v1::DeleteTeamMemberRequest {
            team_id: team_id.into(),
            user_id: user_id.into(),
            requestor_id: requestor_id.into(),
        };
        self.client().delete_team_member(request).await?;
        Ok(())
    }

    /// Saves a user's username, email, nickname, names, position and locale.
    pub async fn update_user(&self, user: User) -> ApiResult<User> {
        Ok(self
            .client()
            .update_user(v1::User::from(user))
            .await?
            .into_inner()
            .into())
    }

    /// A user's profile picture, as PNG.
    pub async fn get_profile_image(&self, user_id: impl Into<String>) -> ApiResult<Vec<u8>> {
        let request = v1::UserIdRequest {
            user_id: user_id.into(),
        };
        Ok(self
            .client()
            .get_profile_image(request)
            .await?
            .into_inner()
            .png)
    }

    /// Sets a user's profile picture from PNG, JPEG, GIF or WebP bytes.
    pub async fn set_profile_image(
        &self,
        user_id: impl Into<String>,
        data: Vec<u8>,
    ) -> ApiResult<()> {
        let request = v1::SetProfileImageRequest {
            user_id: user_id.into(),
            data,
        };
        self.client().set_profile_image(request).await?;
        Ok(())
    }

    pub async fn delete_channel_member(
        &self,
        channel_id: impl Into<String>,
        user_id: impl Into<String>,
    ) -> ApiResult<()> {
        let request = v1::ChannelMemberRequest {
            channel_id: channel_id.into(),
            user_id: user_id.into(),
        };
        self.client().delete_channel_member(request).await?;
        Ok(())
    }

    /// Whether a user holds a Mattermost permission (`"manage_system"`, …) system-wide.
    pub async fn has_permission_to(
        &self,
        user_id: impl Into<String>,
        permission: impl Into<String>,
    ) -> ApiResult<bool> {
        self.has_permission(user_id.into(), permission.into(), "", "")
            .await
    }

    /// … in a team, through their team roles too.
    pub async fn has_permission_to_team(
        &self,
        user_id: impl Into<String>,
        team_id: impl Into<String>,
        permission: impl Into<String>,
    ) -> ApiResult<bool> {
        let team_id = team_id.into();
        self.has_permission(user_id.into(), permission.into(), &team_id, "")
            .await
    }

    /// … in a channel, through their channel and team roles too.
    pub async fn has_permission_to_channel(
        &self,
        user_id: impl Into<String>,
        channel_id: impl Into<String>,
        permission: impl Into<String>,
    ) -> ApiResult<bool> {
        let channel_id = channel_id.into();
        self.has_permission(user_id.into(), permission.into(), "", &channel_id)
            .await
    }

    async fn has_permission(
        &self,
        user_id: String,
        permission: String,
        team_id: &str,
        channel_id: &str,
    ) -> ApiResult<bool> {
        let request = v1::PermissionRequest {
            user_id,
            permission,
            team_id: team_id.to_string(),
            channel_id: channel_id.to_string(),
        };
        let mut client = self.client();
        let answer = if !channel_id.is_empty() {
            client.has_permission_to_channel(request).await?
        } else if !team_id.is_empty() {
            client.has_permission_to_team(request).await?
        } else {
            client.has_permission_to(request).await?
        };
        Ok(answer.into_inner().allowed)
    }

    // ----- Slash commands -----

    /// Registers `/trigger`; runs of it arrive at [`crate::Plugin::execute_command`].
    pub async fn register_command(&self, command: Command) -> ApiResult<()> {
        self.client()
            .register_command(v1::Command::from(command))
            .await?;
        Ok(())
    }

    pub async fn unregister_command(&self, trigger: impl Into<String>) -> ApiResult<()> {
        let request = v1::UnregisterCommandRequest {
            trigger: trigger.into(),
        };
        self.client().unregister_command(request).await?;
        Ok(())
    }

    // ----- Bots, events, configuration -----

    /// A new bot owned by this plugin (`username`, `display_name`, `description`).
    pub async fn create_bot(&self, bot: Bot) -> ApiResult<Bot> {
        Ok(self
            .client()
            .create_bot(v1::Bot::from(bot))
            .await?
            .into_inner()
            .into())
    }

    pub async fn get_bot(
        &self,
        bot_user_id: impl Into<String>,
        include_deleted: bool,
    ) -> ApiResult<Bot> {
        let request = v1::GetBotRequest {
            bot_user_id: bot_user_id.into(),
            include_deleted,
        };
        Ok(self.client().get_bot(request).await?.into_inner().into())
    }

    /// Changes the fields the patch sets.
    pub async fn patch_bot(
        &self,
        bot_user_id: impl Into<String>,
        patch: &BotPatch,
    ) -> ApiResult<Bot> {
        let request = v1::PatchBotRequest {
            bot_user_id: bot_user_id.into(),
            patch: Some(patch.into()),
        };
        Ok(self.client().patch_bot(request).await?.into_inner().into())
    }

    /// The bot account `username`, created on first call; safe to call on every
    /// activation, on every node.
    pub async fn ensure_bot_user(
        &self,
        username: impl Into<String>,
        display_name: impl Into<String>,
        description: impl Into<String>,
    ) -> ApiResult<User> {
        let request = v1::EnsureBotUserRequest {
            username: username.into(),
            display_name: display_name.into(),
            description: description.into(),
        };
        Ok(self
            .client()
            .ensure_bot_user(request)
            .await?
            .into_inner()
            .into())
    }

    /// Sends a websocket event to clients, who receive it as
    /// `custom_<plugin id>_<event>`. `data` should be a JSON object (`null` sends `{}`).
    pub async fn publish_websocket_event(
        &self,
        event: impl Into<String>,
        data: Value,
        broadcast: Broadcast,
    ) -> ApiResult<()> {
        let data_json = if data.is_null() {
            "{}".to_string()
        } else {
            data.to_string()
        };
        let request = v1::PublishWebSocketEventRequest {
            event: event.into(),
            data_json,
            broadcast: Some(broadcast.into()),
        };
        self.client().publish_web_socket_event(request).await?;
        Ok(())
    }

    /// Sends `data` to the other running copies of this plugin (every other node, or
    /// only `target_node_id`), through their `OnPluginClusterEvent` hook.
    pub async fn publish_plugin_cluster_event(
        &self,
        id: impl Into<String>,
        data: impl Into<Vec<u8>>,
        target_node_id: Option<&str>,
    ) -> ApiResult<()> {
        let request = v1::PublishPluginClusterEventRequest {
            id: id.into(),
            data: data.into(),
            target_node_id: target_node_id.unwrap_or_default().to_string(),
        };
        self.client().publish_plugin_cluster_event(request).await?;
        Ok(())
    }

    /// The plugin's settings (the administrator's values over the manifest's
    /// defaults) as one JSON object.
    pub async fn get_plugin_config(&self) -> ApiResult<Value> {
        let config = self
            .client()
            .get_plugin_config(v1::Empty {})
            .await?
            .into_inner();
        if config.config_json.trim().is_empty() {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        Ok(serde_json::from_str(&config.config_json)?)
    }

    /// The plugin's settings decoded into your own type (use `#[serde(default)]` and
    /// the setting keys of your manifest as field names).
    pub async fn get_plugin_config_as<T: DeserializeOwned>(&self) -> ApiResult<T> {
        Ok(serde_json::from_value(self.get_plugin_config().await?)?)
    }

    /// Replaces the plugin's settings; other nodes see them and every copy of the
    /// plugin gets `OnConfigurationChange`.
    pub async fn save_plugin_config<T: Serialize + ?Sized>(&self, config: &T) -> ApiResult<()> {
        let request = v1::PluginConfig {
            config_json: serde_json::to_string(config)?,
        };
        self.client().save_plugin_config(request).await?;
        Ok(())
    }

    pub async fn get_server_version(&self) -> ApiResult<String> {
        Ok(self
            .client()
            .get_server_version(v1::Empty {})
            .await?
            .into_inner()
            .version)
    }

    /// The server's running configuration (Mattermost's JSON shape), secrets hidden.
    pub async fn get_config(&self) -> ApiResult<Value> {
        let config = self.client().get_config(v1::Empty {}).await?.into_inner();
        Ok(serde_json::from_str(&config.config_json)?)
    }

    /// The licence's id; `None`: no licence (always, on Chorus).
    pub async fn get_license(&self) -> ApiResult<Option<String>> {
        let license = self.client().get_license(v1::Empty {}).await?.into_inner();
        Ok(Some(license.id).filter(|id| !id.is_empty()))
    }

    /// The deployment's telemetry id, the same on every node.
    pub async fn get_diagnostic_id(&self) -> ApiResult<String> {
        Ok(self
            .client()
            .get_diagnostic_id(v1::Empty {})
            .await?
            .into_inner()
            .id)
    }

    /// A plugin's status on this node.
    pub async fn get_plugin_status(&self, plugin_id: impl Into<String>) -> ApiResult<PluginStatus> {
        let request = v1::PluginIdRequest {
            plugin_id: plugin_id.into(),
        };
        Ok(self
            .client()
            .get_plugin_status(request)
            .await?
            .into_inner()
            .into())
    }

    // ----- Logging -----

    /// Writes a line to the server's log, tagged with this plugin's id. Logging never
    /// fails the caller: when the server cannot be reached, the line goes to standard
    /// error (which the server also logs).
    pub async fn log<K, V>(
        &self,
        level: LogLevel,
        message: impl Into<String>,
        fields: impl IntoIterator<Item = (K, V)>,
    ) where
        K: Into<String>,
        V: Into<String>,
    {
        let request = v1::LogRequest {
            level: v1::LogLevel::from(level) as i32,
            message: message.into(),
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect::<HashMap<_, _>>(),
        };
        let fallback = format!("{level:?}: {} {:?}", request.message, request.fields);
        if let Err(status) = self.client().log(request).await {
            eprintln!(
                "{fallback} (the server did not take this log line: {})",
                status.message()
            );
        }
    }

    pub async fn log_debug(&self, message: impl Into<String>) {
        self.log(LogLevel::Debug, message, NO_FIELDS).await
    }

    pub async fn log_info(&self, message: impl Into<String>) {
        self.log(LogLevel::Info, message, NO_FIELDS).await
    }

    pub async fn log_warn(&self, message: impl Into<String>) {
        self.log(LogLevel::Warn, message, NO_FIELDS).await
    }

    pub async fn log_error(&self, message: impl Into<String>) {
        self.log(LogLevel::Error, message, NO_FIELDS).await
    }
}

const NO_FIELDS: [(&str, &str); 0] = [];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_errors() {
        assert!(ApiError::from(tonic::Status::not_found("no user x")).is_not_found());
        assert!(matches!(
            ApiError::from(tonic::Status::invalid_argument("key too long")),
            ApiError::InvalidArgument(m) if m == "key too long"
        ));
        assert!(matches!(
            ApiError::from(tonic::Status::permission_denied("")),
            ApiError::PermissionDenied(_)
        ));
        assert!(matches!(
            ApiError::from(tonic::Status::unavailable("")),
            ApiError::Unavailable(_)
        ));
        assert!(matches!(
            ApiError::from(tonic::Status::internal("boom")),
            ApiError::Other {
                code: tonic::Code::Internal,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn an_unconnected_api_fails_with_unavailable() {
        let api = Api::unconnected();
        let error = api.kv_get("x").await.unwrap_err();
        assert!(matches!(error, ApiError::Unavailable(_)), "{error:?}");
        api.log_info("goes to stderr instead").await;
    }
}
