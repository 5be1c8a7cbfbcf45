//! The plugin API the host serves to each plugin: a gRPC server on a Unix socket of
//! its own per plugin process, bound to that plugin's id. Requests carry no plugin id,
//! so a plugin can only ever reach its own KV keys, commands and settings.
//!
//! Each call is a thin translation to the same functions the REST API uses (posts go
//! through the same hooks and websocket fan-out), with plugin-level trust: a plugin
//! acts as the server, not as a user, so channel membership is not required.

use super::SharedContext;
use crate::api;
use crate::commands::CommandHandler;
use crate::error::AppError;
use crate::store::{KvWrite, KV_MAX_KEY_LEN, KV_MAX_VALUE_LEN};
use crate::AppState;
use axum::http::StatusCode;
use chorus_model as model;
use chorus_plugin_protocol::v1;
use chorus_plugin_protocol::v1::plugin_api_server::{PluginApi, PluginApiServer};
use std::path::Path;
use std::sync::{Arc, Weak};
use tonic::{Request, Response, Status};

/// A running API server; `stop` ends it and removes its socket. Dropped without
/// `stop` (a launch cancelled half-way), it aborts the server task.
pub struct ApiServer {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    path: std::path::PathBuf,
}

impl ApiServer {
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

pub fn spawn_api_server(
    path: &Path,
    plugin_id: &str,
    context: &SharedContext,
) -> std::io::Result<ApiServer> {
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path)?;
    let service = HostApi {
        plugin_id: plugin_id.to_string(),
        app: context.app.get().cloned().unwrap_or_default(),
    };
    let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = tonic::transport::Server::builder()
            .add_service(PluginApiServer::new(service))
            .serve_with_incoming_shutdown(chorus_plugin_protocol::unix_incoming(listener), async {
                let _ = shutdown_rx.await;
            })
            .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "plugin API server stopped with an error");
        }
    });
    Ok(ApiServer {
        shutdown: Some(shutdown),
        task: Some(task),
        path: path.to_path_buf(),
    })
}

struct HostApi {
    plugin_id: String,
    app: Weak<AppState>,
}

type Reply<T> = Result<Response<T>, Status>;

fn status_of(err: AppError) -> Status {
    let api = err.to_api_error();
    match err.status() {
        StatusCode::NOT_FOUND => Status::not_found(api.message),
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => {
            Status::invalid_argument(api.message)
        }
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => Status::permission_denied(api.message),
        StatusCode::CONFLICT => Status::already_exists(api.message),
        StatusCode::SERVICE_UNAVAILABLE => Status::unavailable(api.message),
        _ => Status::internal(api.message),
    }
}

fn store_status(err: sqlx::Error) -> Status {
    status_of(AppError::Store(err))
}

fn required<T>(value: Option<T>, what: &str) -> Result<T, Status> {
    value.ok_or_else(|| Status::invalid_argument(format!("{what} is required")))
}

fn check_key(key: &str) -> Result<(), Status> {
    if key.is_empty() || key.chars().count() > KV_MAX_KEY_LEN {
        return Err(Status::invalid_argument(format!(
            "KV keys must be 1-{KV_MAX_KEY_LEN} characters"
        )));
    }
    Ok(())
}

impl HostApi {
    fn app(&self) -> Result<Arc<AppState>, Status> {
        self.app
            .upgrade()
            .ok_or_else(|| Status::unavailable("the server is shutting down"))
    }
}

#[tonic::async_trait]
impl PluginApi for HostApi {
    async fn kv_set(&self, request: Request<v1::KvSetRequest>) -> Reply<v1::KvSetResponse> {
        let request = request.into_inner();
        check_key(&request.key)?;
        if request
            .value
            .as_ref()
            .is_some_and(|v| v.len() > KV_MAX_VALUE_LEN)
        {
            return Err(Status::invalid_argument(format!(
                "KV values must be at most {KV_MAX_VALUE_LEN} bytes"
            )));
        }
        if request.expire_in_seconds < 0 {
            return Err(Status::invalid_argument(
                "expire_in_seconds must not be negative",
            ));
        }
        let write = KvWrite {
            value: request.value,
            atomic: request.atomic,
            old_value: request.old_value,
            expire_in_seconds: request.expire_in_seconds,
        };
        let written = self
            .app()?
            .store
            .kv_write(&self.plugin_id, &request.key, &write)
            .await
            .map_err(store_status)?;
        Ok(Response::new(v1::KvSetResponse { written }))
    }

    async fn kv_get(&self, request: Request<v1::KvGetRequest>) -> Reply<v1::KvGetResponse> {
        let key = request.into_inner().key;
        check_key(&key)?;
        let value = self
            .app()?
            .store
            .kv_get(&self.plugin_id, &key)
            .await
            .map_err(store_status)?;
        Ok(Response::new(v1::KvGetResponse { value }))
    }

    async fn kv_get_many(
        &self,
        request: Request<v1::KvGetManyRequest>,
    ) -> Reply<v1::KvGetManyResponse> {
        let keys = request.into_inner().keys;
        if keys.len() > 1000 {
            return Err(Status::invalid_argument("at most 1000 keys per KVGetMany"));
        }
        for key in &keys {
            check_key(key)?;
        }
        let values = self
            .app()?
            .store
            .kv_get_many(&self.plugin_id, &keys)
            .await
            .map_err(store_status)?
            .into_iter()
            .collect();
        Ok(Response::new(v1::KvGetManyResponse { values }))
    }

    async fn kv_delete(&self, request: Request<v1::KvDeleteRequest>) -> Reply<v1::Empty> {
        let key = request.into_inner().key;
        check_key(&key)?;
        self.app()?
            .store
            .kv_write(&self.plugin_id, &key, &KvWrite::default())
            .await
            .map_err(store_status)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn kv_delete_all(&self, _: Request<v1::Empty>) -> Reply<v1::Empty> {
        self.app()?
            .store
            .kv_delete_all(&self.plugin_id)
            .await
            .map_err(store_status)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn kv_list(&self, request: Request<v1::KvListRequest>) -> Reply<v1::KvListResponse> {
        let request = request.into_inner();
        let per_page = match request.per_page {
            0 => 100,
            n => n.min(1000),
        };
        let keys = self
            .app()?
            .store
            .kv_list(
                &self.plugin_id,
                &request.prefix,
                i64::from(request.page),
                i64::from(per_page),
            )
            .await
            .map_err(store_status)?;
        Ok(Response::new(v1::KvListResponse { keys }))
    }

    async fn create_post(&self, request: Request<v1::PostRequest>) -> Reply<v1::Post> {
        let post = required(request.into_inner().post, "post")?;
        let created = api::posts::create_post_for_plugin(&*self.app()?, post.into())
            .await
            .map_err(status_of)?;
        Ok(Response::new((&created).into()))
    }

    async fn update_post(&self, request: Request<v1::PostRequest>) -> Reply<v1::Post> {
        let post = required(request.into_inner().post, "post")?;
        let updated = api::posts::update_post_for_plugin(&*self.app()?, post.into())
            .await
            .map_err(status_of)?;
        Ok(Response::new((&updated).into()))
    }

    async fn delete_post(&self, request: Request<v1::PostIdRequest>) -> Reply<v1::Empty> {
        let post_id = request.into_inner().post_id;
        api::posts::delete_post_for_plugin(&*self.app()?, &post_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn get_post(&self, request: Request<v1::PostIdRequest>) -> Reply<v1::Post> {
        let post_id = request.into_inner().post_id;
        let post = self
            .app()?
            .store
            .get_post(&post_id)
            .await
            .map_err(store_status)?
            .filter(|p| p.delete_at == 0)
            .ok_or_else(|| Status::not_found(format!("no post {post_id}")))?;
        Ok(Response::new((&post).into()))
    }

    async fn send_ephemeral_post(
        &self,
        request: Request<v1::SendEphemeralPostRequest>,
    ) -> Reply<v1::Post> {
        let request = request.into_inner();
        let post = required(request.post, "post")?;
        let sent = api::commands::send_ephemeral_post(&*self.app()?, &request.user_id, post.into())
            .map_err(status_of)?;
        Ok(Response::new((&sent).into()))
    }

    async fn get_user(&self, request: Request<v1::UserIdRequest>) -> Reply<v1::User> {
        let user_id = request.into_inner().user_id;
        let user = self
            .app()?
            .store
            .get_user(&user_id)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found(format!("no user {user_id}")))?;
        Ok(Response::new((&user).into()))
    }

    async fn get_user_by_username(&self, request: Request<v1::UsernameRequest>) -> Reply<v1::User> {
        let username = request.into_inner().username;
        let user = self
            .app()?
            .store
            .get_user_by_username(&username)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found(format!("no user @{username}")))?;
        Ok(Response::new((&user).into()))
    }

    async fn get_channel(&self, request: Request<v1::ChannelIdRequest>) -> Reply<v1::Channel> {
        let channel_id = request.into_inner().channel_id;
        let channel = self
            .app()?
            .store
            .get_channel(&channel_id)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found(format!("no channel {channel_id}")))?;
        Ok(Response::new((&channel).into()))
    }

    async fn get_channel_by_name(
        &self,
        request: Request<v1::ChannelByNameRequest>,
    ) -> Reply<v1::Channel> {
        let request = request.into_inner();
        let channel = self
            .app()?
            .store
            .get_channel_by_name(&request.team_id, &request.name)
            .await
            .map_err(store_status)?
            .ok_or_else(|| {
                Status::not_found(format!("no channel {:?} in that team", request.name))
            })?;
        Ok(Response::new((&channel).into()))
    }

    async fn get_direct_channel(
        &self,
        request: Request<v1::DirectChannelRequest>,
    ) -> Reply<v1::Channel> {
        let request = request.into_inner();
        let channel = api::channels::direct_channel(
            &*self.app()?,
            &request.user_id_1,
            &request.user_id_2,
            &request.user_id_1,
        )
        .await
        .map_err(status_of)?;
        Ok(Response::new((&channel).into()))
    }

    async fn add_channel_member(
        &self,
        request: Request<v1::AddChannelMemberRequest>,
    ) -> Reply<v1::ChannelMember> {
        let request = request.into_inner();
        let member = api::channels::add_member_for_plugin(
            &*self.app()?,
            &request.channel_id,
            &request.user_id,
        )
        .await
        .map_err(status_of)?;
        Ok(Response::new((&member).into()))
    }

    async fn get_channel_member(
        &self,
        request: Request<v1::ChannelMemberRequest>,
    ) -> Reply<v1::ChannelMember> {
        let request = request.into_inner();
        let member = self
            .app()?
            .store
            .get_channel_member(&request.channel_id, &request.user_id)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found("the user is not a member of that channel"))?;
        Ok(Response::new((&member).into()))
    }

    async fn get_team(&self, request: Request<v1::TeamIdRequest>) -> Reply<v1::Team> {
        let team_id = request.into_inner().team_id;
        let team = self
            .app()?
            .store
            .get_team(&team_id)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found(format!("no team {team_id}")))?;
        Ok(Response::new((&team).into()))
    }

    async fn register_command(&self, request: Request<v1::Command>) -> Reply<v1::Empty> {
        let mut command = model::Command::from(request.into_inner());
        command.trigger = command.trigger.trim_start_matches('/').to_lowercase();
        if command.trigger.is_empty() || command.trigger.contains(char::is_whitespace) {
            return Err(Status::invalid_argument(
                "a command trigger is one word without spaces",
            ));
        }
        command.plugin_id = self.plugin_id.clone();
        let app = self.app()?;
        if let Some(existing) = app.commands.get(&command.trigger) {
            if existing.command.plugin_id != self.plugin_id {
                return Err(Status::already_exists(format!(
                    "the command /{} is already registered by {}",
                    command.trigger,
                    if existing.command.plugin_id.is_empty() {
                        "the server"
                    } else {
                        &existing.command.plugin_id
                    }
                )));
            }
        }
        let handler = CommandHandler::Plugin(self.plugin_id.clone());
        app.commands.register(command, handler);
        Ok(Response::new(v1::Empty {}))
    }

    async fn unregister_command(
        &self,
        request: Request<v1::UnregisterCommandRequest>,
    ) -> Reply<v1::Empty> {
        let trigger = request
            .into_inner()
            .trigger
            .trim_start_matches('/')
            .to_lowercase();
        let app = self.app()?;
        match app.commands.get(&trigger) {
            Some(existing) if existing.command.plugin_id == self.plugin_id => {
                app.commands.unregister(&trigger);
                Ok(Response::new(v1::Empty {}))
            }
            _ => Err(Status::not_found(format!(
                "this plugin has no command /{trigger}"
            ))),
        }
    }

    async fn ensure_bot_user(&self, request: Request<v1::EnsureBotUserRequest>) -> Reply<v1::User> {
        let request = request.into_inner();
        let user = api::users::ensure_bot_user(
            &*self.app()?,
            &request.username,
            &request.display_name,
            &request.description,
        )
        .await
        .map_err(status_of)?;
        Ok(Response::new((&user).into()))
    }

    async fn publish_web_socket_event(
        &self,
        request: Request<v1::PublishWebSocketEventRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        if request.event.is_empty() {
            return Err(Status::invalid_argument("the event name is required"));
        }
        let data = if request.data_json.trim().is_empty() {
            serde_json::Map::new()
        } else {
            match serde_json::from_str(&request.data_json) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => return Err(Status::invalid_argument("data_json must be a JSON object")),
            }
        };
        let wire = request.broadcast.unwrap_or_default();
        let broadcast = model::Broadcast {
            user_id: wire.user_id,
            channel_id: wire.channel_id,
            team_id: wire.team_id,
            omit_users: if wire.omit_user_ids.is_empty() {
                None
            } else {
                Some(
                    wire.omit_user_ids
                        .into_iter()
                        .map(|id| (id, true))
                        .collect(),
                )
            },
            ..Default::default()
        };
        let event = model::WebSocketEvent {
            event: format!("custom_{}_{}", self.plugin_id, request.event),
            data,
            broadcast,
            seq: 0,
        };
        self.app()?.publish(event).await.map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn publish_plugin_cluster_event(
        &self,
        request: Request<v1::PublishPluginClusterEventRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        if request.id.is_empty() {
            return Err(Status::invalid_argument("the event id is required"));
        }
        // A single node has no other copies of the plugin to tell; the cluster layer
        // delivers these between nodes.
        self.app()?
            .publish_plugin_cluster_event(&self.plugin_id, request);
        Ok(Response::new(v1::Empty {}))
    }

    async fn get_plugin_config(&self, _: Request<v1::Empty>) -> Reply<v1::PluginConfig> {
        let app = self.app()?;
        let config = app
            .plugins
            .plugin_config(&app.store, &self.plugin_id)
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(v1::PluginConfig {
            config_json: serde_json::Value::Object(config).to_string(),
        }))
    }

    async fn save_plugin_config(&self, request: Request<v1::PluginConfig>) -> Reply<v1::Empty> {
        let text = request.into_inner().config_json;
        if !matches!(
            serde_json::from_str(&text),
            Ok(serde_json::Value::Object(_))
        ) {
            return Err(Status::invalid_argument(
                "config_json must be a JSON object",
            ));
        }
        self.app()?
            .save_plugin_config(&self.plugin_id, &text)
            .await
            .map_err(store_status)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn log(&self, request: Request<v1::LogRequest>) -> Reply<v1::Empty> {
        let request = request.into_inner();
        let fields = if request.fields.is_empty() {
            String::new()
        } else {
            format!("{:?}", request.fields)
        };
        let plugin_id = &self.plugin_id;
        let message = &request.message;
        match v1::LogLevel::try_from(request.level).unwrap_or(v1::LogLevel::Info) {
            v1::LogLevel::Debug => tracing::debug!(plugin_id, fields, "{message}"),
            v1::LogLevel::Warn => tracing::warn!(plugin_id, fields, "{message}"),
            v1::LogLevel::Error => tracing::error!(plugin_id, fields, "{message}"),
            _ => tracing::info!(plugin_id, fields, "{message}"),
        }
        Ok(Response::new(v1::Empty {}))
    }

    async fn get_server_version(&self, _: Request<v1::Empty>) -> Reply<v1::ServerVersion> {
        Ok(Response::new(v1::ServerVersion {
            version: crate::SERVER_VERSION.to_string(),
        }))
    }
}
