//! The plugin API the host serves to each plugin: a gRPC server on a Unix socket of
//! its own per plugin process, bound to that plugin's id. Requests carry no plugin id,
//! so a plugin can only ever reach its own KV keys, commands and settings.
//!
//! Each call is a front door to the domain layer (`app`), with the plugin as the actor
//! ([`Actor::Plugin`]): posts go through the same rules, hooks and websocket fan-out
//! as a user's, but a plugin acts for the server, so channel membership does not bind
//! it.

use super::SharedContext;
use crate::app::channels::{ChannelDraft, ChannelPatch};
use crate::app::files::FileQuery;
use crate::app::permissions::PermissionScope;
use crate::app::plugins::PluginEvent;
use crate::app::posts::{HistoryRead, ThreadRead};
use crate::app::preferences::Batch;
use crate::app::users::UserPatch;
use crate::app::validate::{DEFAULT_PER_PAGE, MAX_PER_PAGE};
use crate::app::Actor;
use crate::error::{AppError, Code};
use crate::store::{FileFilter, KvWrite, UserFilter};
use crate::AppState;
use chorus_model as model;
use chorus_plugin_protocol::v1;
use chorus_plugin_protocol::v1::plugin_api_server::{PluginApi, PluginApiServer};
use std::path::Path;
use std::sync::Arc;
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
    let app = context.app();
    // `UploadFile` carries a whole file: up to FileSettings.MaxFileSize, not gRPC's
    // 4 MiB default.
    let max_message = app.as_ref().map_or(4 * 1024 * 1024, |app| {
        usize::try_from(app.config.file_settings.max_file_size)
            .unwrap_or(usize::MAX)
            .saturating_add(1024 * 1024)
    });
    let service = HostApi {
        plugin_id: plugin_id.to_string(),
        app,
    };
    let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = tonic::transport::Server::builder()
            .add_service(PluginApiServer::new(service).max_decoding_message_size(max_message))
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
    /// `None` when the plugin started while the server was stopping.
    app: Option<Arc<AppState>>,
}

type Reply<T> = Result<Response<T>, Status>;

fn status_of(err: AppError) -> Status {
    err.to_grpc_status()
}

fn required<T>(value: Option<T>, what: &str) -> Result<T, Status> {
    value.ok_or_else(|| Status::invalid_argument(format!("{what} is required")))
}

fn found<T>(value: Option<T>, code: Code) -> Result<T, Status> {
    value.ok_or_else(|| status_of(code.into()))
}

impl HostApi {
    fn app(&self) -> Result<Arc<AppState>, Status> {
        self.app
            .clone()
            .ok_or_else(|| status_of(Code::ShuttingDown.into()))
    }

    fn actor(&self) -> Actor<'_> {
        Actor::Plugin(&self.plugin_id)
    }

    async fn permission(
        &self,
        request: &v1::PermissionRequest,
        scope: PermissionScope<'_>,
    ) -> Reply<v1::PermissionAnswer> {
        let allowed = self
            .app()?
            .user_has_permission(&request.user_id, &request.permission, scope)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::PermissionAnswer { allowed }))
    }

    async fn users(&self, filter: UserFilter, page: i64, per_page: i64) -> Reply<v1::UserList> {
        let (page, per_page) = paging(page, per_page);
        let users = self
            .app()?
            .list_users(self.actor(), &filter, page, per_page)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::UserList {
            users: users.iter().map(v1::User::from).collect(),
        }))
    }
}

/// A page as the API asks for it: 0 items means Mattermost's default.
fn paging(page: i64, per_page: i64) -> (i64, i64) {
    let per_page = if per_page <= 0 {
        DEFAULT_PER_PAGE
    } else {
        per_page.min(MAX_PER_PAGE)
    };
    (page.max(0), per_page)
}

/// Every team `GetTeams` answers, at most: teams are few, but a bound keeps a reply
/// within a message.
const TEAMS_MAX: i64 = 10_000;

#[tonic::async_trait]
impl PluginApi for HostApi {
    async fn kv_set(&self, request: Request<v1::KvSetRequest>) -> Reply<v1::KvSetResponse> {
        let request = request.into_inner();
        let write = KvWrite {
            value: request.value,
            atomic: request.atomic,
            old_value: request.old_value,
            expire_in_seconds: request.expire_in_seconds,
        };
        let written = self
            .app()?
            .kv_write(&self.plugin_id, &request.key, write)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::KvSetResponse { written }))
    }

    async fn kv_get(&self, request: Request<v1::KvGetRequest>) -> Reply<v1::KvGetResponse> {
        let key = request.into_inner().key;
        let value = self
            .app()?
            .kv_get(&self.plugin_id, &key)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::KvGetResponse { value }))
    }

    async fn kv_get_many(
        &self,
        request: Request<v1::KvGetManyRequest>,
    ) -> Reply<v1::KvGetManyResponse> {
        let keys = request.into_inner().keys;
        let values = self
            .app()?
            .kv_get_many(&self.plugin_id, &keys)
            .await
            .map_err(status_of)?
            .into_iter()
            .collect();
        Ok(Response::new(v1::KvGetManyResponse { values }))
    }

    async fn kv_delete(&self, request: Request<v1::KvDeleteRequest>) -> Reply<v1::Empty> {
        let key = request.into_inner().key;
        self.app()?
            .kv_write(&self.plugin_id, &key, KvWrite::default())
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn kv_delete_all(&self, _: Request<v1::Empty>) -> Reply<v1::Empty> {
        self.app()?
            .kv_delete_all(&self.plugin_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn kv_list(&self, request: Request<v1::KvListRequest>) -> Reply<v1::KvListResponse> {
        let request = request.into_inner();
        let keys = self
            .app()?
            .kv_list(
                &self.plugin_id,
                &request.prefix,
                request.page,
                request.per_page,
            )
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::KvListResponse { keys }))
    }

    async fn create_post(&self, request: Request<v1::PostRequest>) -> Reply<v1::Post> {
        let post = required(request.into_inner().post, "post")?;
        let created = self
            .app()?
            .create_post(self.actor(), post.into())
            .await
            .map_err(status_of)?;
        Ok(Response::new((&created).into()))
    }

    async fn update_post(&self, request: Request<v1::PostRequest>) -> Reply<v1::Post> {
        let post: model::Post = required(request.into_inner().post, "post")?.into();
        let changes = crate::app::posts::PostChanges {
            message: Some(post.message),
            props: Some(post.props),
            is_pinned: Some(post.is_pinned),
            // A post a plugin builds afresh has no file ids: its files are kept.
            file_ids: None,
        };
        let updated = self
            .app()?
            .edit_post(self.actor(), &post.id, changes)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&updated).into()))
    }

    async fn delete_post(&self, request: Request<v1::PostIdRequest>) -> Reply<v1::Empty> {
        let post_id = request.into_inner().post_id;
        self.app()?
            .delete_post(self.actor(), &post_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn get_post(&self, request: Request<v1::PostIdRequest>) -> Reply<v1::Post> {
        let post_id = request.into_inner().post_id;
        let post = self
            .app()?
            .get_post(self.actor(), &post_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&post).into()))
    }

    async fn add_reaction(&self, request: Request<v1::Reaction>) -> Reply<v1::Reaction> {
        let reaction = chorus_model::Reaction::from(request.into_inner());
        let added = self
            .app()?
            .add_reaction(self.actor(), reaction)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&added).into()))
    }

    async fn upload_file(&self, request: Request<v1::UploadFileRequest>) -> Reply<v1::FileInfo> {
        let request = request.into_inner();
        let info = self
            .app()?
            .upload_file_bytes(
                self.actor(),
                &request.channel_id,
                &request.filename,
                &request.data,
            )
            .await
            .map_err(status_of)?;
        Ok(Response::new((&info).into()))
    }

    async fn get_file(&self, request: Request<v1::FileIdRequest>) -> Reply<v1::FileData> {
        let file_id = request.into_inner().file_id;
        let data = self
            .app()?
            .file_bytes(self.actor(), &file_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::FileData { data }))
    }

    async fn get_file_info(&self, request: Request<v1::FileIdRequest>) -> Reply<v1::FileInfo> {
        let file_id = request.into_inner().file_id;
        let info = self
            .app()?
            .file_info(self.actor(), &file_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&info).into()))
    }

    async fn get_file_infos(
        &self,
        request: Request<v1::GetFileInfosRequest>,
    ) -> Reply<v1::FileInfoList> {
        let request = request.into_inner();
        let sort_by_size = match request.sort_by.as_str() {
            "" | "CreateAt" => false,
            "Size" => true,
            other => {
                return Err(status_of(Code::FileQueryInvalid.with_message(format!(
                    "sort_by must be \"CreateAt\" or \"Size\", not {other:?}."
                ))))
            }
        };
        let query = FileQuery {
            page: request.page.into(),
            per_page: request.per_page.into(),
            filter: FileFilter {
                user_ids: request.user_ids,
                channel_ids: request.channel_ids,
                since: request.since,
                include_deleted: request.include_deleted,
                sort_by_size,
                descending: request.sort_descending,
                ..FileFilter::default()
            },
        };
        let files = self
            .app()?
            .file_infos(self.actor(), query)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::FileInfoList {
            file_infos: files.iter().map(Into::into).collect(),
        }))
    }

    async fn get_file_link(&self, request: Request<v1::FileIdRequest>) -> Reply<v1::FileLink> {
        let file_id = request.into_inner().file_id;
        let link = self
            .app()?
            .file_link_for_plugin(self.actor(), &file_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::FileLink { link }))
    }

    async fn copy_file_infos(
        &self,
        request: Request<v1::CopyFileInfosRequest>,
    ) -> Reply<v1::FileIdList> {
        let request = request.into_inner();
        let file_ids = self
            .app()?
            .copy_file_infos(self.actor(), &request.user_id, &request.file_ids)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::FileIdList { file_ids }))
    }

    async fn remove_reaction(&self, request: Request<v1::Reaction>) -> Reply<v1::Empty> {
        let reaction = request.into_inner();
        self.app()?
            .remove_reaction(
                self.actor(),
                &reaction.user_id,
                &reaction.post_id,
                &reaction.emoji_name,
            )
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn get_reactions(&self, request: Request<v1::PostIdRequest>) -> Reply<v1::ReactionList> {
        let post_id = request.into_inner().post_id;
        let reactions = self
            .app()?
            .reactions_of_post(self.actor(), &post_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::ReactionList {
            reactions: reactions.iter().map(Into::into).collect(),
        }))
    }

    async fn get_user_status(&self, request: Request<v1::UserIdRequest>) -> Reply<v1::Status> {
        let user_id = request.into_inner().user_id;
        let status = self
            .app()?
            .existing_user_status(&user_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&status).into()))
    }

    async fn get_user_statuses_by_ids(
        &self,
        request: Request<v1::UserIdsRequest>,
    ) -> Reply<v1::StatusList> {
        let user_ids = request.into_inner().user_ids;
        let statuses = self
            .app()?
            .user_statuses(&user_ids)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::StatusList {
            statuses: statuses.iter().map(Into::into).collect(),
        }))
    }

    async fn update_user_status(
        &self,
        request: Request<v1::UpdateUserStatusRequest>,
    ) -> Reply<v1::Status> {
        let request = request.into_inner();
        let status = self
            .app()?
            .set_user_status(
                self.actor(),
                &request.user_id,
                &request.status,
                request.dnd_end_time,
            )
            .await
            .map_err(status_of)?;
        Ok(Response::new((&status).into()))
    }

    async fn send_ephemeral_post(
        &self,
        request: Request<v1::SendEphemeralPostRequest>,
    ) -> Reply<v1::Post> {
        let request = request.into_inner();
        let post = required(request.post, "post")?;
        let sent = self
            .app()?
            .send_ephemeral_post(&request.user_id, post.into())
            .await
            .map_err(status_of)?;
        Ok(Response::new((&sent).into()))
    }

    async fn update_ephemeral_post(
        &self,
        request: Request<v1::SendEphemeralPostRequest>,
    ) -> Reply<v1::Post> {
        let request = request.into_inner();
        let post = required(request.post, "post")?;
        let updated = self
            .app()?
            .update_ephemeral_post(&request.user_id, post.into())
            .await
            .map_err(status_of)?;
        Ok(Response::new((&updated).into()))
    }

    async fn delete_ephemeral_post(
        &self,
        request: Request<v1::DeleteEphemeralPostRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        self.app()?
            .delete_ephemeral_post(&request.user_id, &request.post_id)
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn open_interactive_dialog(
        &self,
        request: Request<v1::OpenInteractiveDialogRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        let dialog = serde_json::from_str(&request.dialog_json)
            .map_err(|e| Status::invalid_argument(format!("dialog_json is not a dialog: {e}")))?;
        let open = chorus_model::OpenDialogRequest {
            trigger_id: request.trigger_id,
            url: request.url,
            dialog,
        };
        self.app()?.open_dialog(open).await.map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn get_config(&self, _request: Request<v1::Empty>) -> Reply<v1::ConfigJson> {
        let config = self
            .app()?
            .running_config(self.actor())
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::ConfigJson {
            config_json: config.to_string(),
        }))
    }

    async fn has_permission_to(
        &self,
        request: Request<v1::PermissionRequest>,
    ) -> Reply<v1::PermissionAnswer> {
        let request = request.into_inner();
        self.permission(&request, PermissionScope::System).await
    }

    async fn has_permission_to_team(
        &self,
        request: Request<v1::PermissionRequest>,
    ) -> Reply<v1::PermissionAnswer> {
        let request = request.into_inner();
        self.permission(&request, PermissionScope::Team(&request.team_id))
            .await
    }

    async fn has_permission_to_channel(
        &self,
        request: Request<v1::PermissionRequest>,
    ) -> Reply<v1::PermissionAnswer> {
        let request = request.into_inner();
        self.permission(&request, PermissionScope::Channel(&request.channel_id))
            .await
    }

    async fn get_team_by_name(&self, request: Request<v1::TeamByNameRequest>) -> Reply<v1::Team> {
        let team = self
            .app()?
            .team_by_name(self.actor(), &request.into_inner().name)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&team).into()))
    }

    async fn get_teams(&self, _request: Request<v1::Empty>) -> Reply<v1::TeamList> {
        let teams = self
            .app()?
            .visible_teams(self.actor(), 0, TEAMS_MAX)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::TeamList {
            teams: teams.iter().map(v1::Team::from).collect(),
        }))
    }

    async fn get_team_member(
        &self,
        request: Request<v1::TeamMemberRequest>,
    ) -> Reply<v1::TeamMember> {
        let request = request.into_inner();
        let member = self
            .app()?
            .store
            .get_team_member(&request.team_id, &request.user_id)
            .await
            .map_err(|e| status_of(e.into()))?
            .filter(|m| m.delete_at == 0);
        Ok(Response::new(
            (&found(member, Code::TeamMemberNotFound)?).into(),
        ))
    }

    async fn get_team_members(
        &self,
        request: Request<v1::TeamPageRequest>,
    ) -> Reply<v1::TeamMemberList> {
        let request = request.into_inner();
        let (page, per_page) = paging(request.page, request.per_page);
        let members = self
            .app()?
            .team_members(self.actor(), &request.team_id, page, per_page)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::TeamMemberList {
            members: members.iter().map(v1::TeamMember::from).collect(),
        }))
    }

    async fn create_team_member(
        &self,
        request: Request<v1::TeamMemberRequest>,
    ) -> Reply<v1::TeamMember> {
        let request = request.into_inner();
        let member = self
            .app()?
            .add_team_member(self.actor(), &request.team_id, &request.user_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&member).into()))
    }

    async fn get_channel_by_name_for_team_name(
        &self,
        request: Request<v1::ChannelByTeamNameRequest>,
    ) -> Reply<v1::Channel> {
        let request = request.into_inner();
        let app = self.app()?;
        let team = app
            .team_by_name(self.actor(), &request.team_name)
            .await
            .map_err(status_of)?;
        let channel = app
            .channel_by_name(self.actor(), &team.id, &request.channel_name)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&channel).into()))
    }

    async fn get_channel_members(
        &self,
        request: Request<v1::ChannelPageRequest>,
    ) -> Reply<v1::ChannelMemberList> {
        let request = request.into_inner();
        let (page, per_page) = paging(request.page, request.per_page);
        let members = self
            .app()?
            .channel_members(self.actor(), &request.channel_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::ChannelMemberList {
            members: members
                .iter()
                .skip(usize::try_from(page * per_page).unwrap_or(usize::MAX))
                .take(usize::try_from(per_page).unwrap_or(0))
                .map(v1::ChannelMember::from)
                .collect(),
        }))
    }

    async fn get_users_in_channel(
        &self,
        request: Request<v1::ChannelPageRequest>,
    ) -> Reply<v1::UserList> {
        let request = request.into_inner();
        let filter = UserFilter {
            in_channel: Some(request.channel_id),
            ..UserFilter::default()
        };
        self.users(filter, request.page, request.per_page).await
    }

    async fn create_channel(&self, request: Request<v1::Channel>) -> Reply<v1::Channel> {
        let channel = request.into_inner();
        let draft = ChannelDraft {
            team_id: channel.team_id,
            name: channel.name,
            display_name: channel.display_name,
            channel_type: channel.r#type,
            header: channel.header,
            purpose: channel.purpose,
            creator_id: channel.creator_id,
        };
        let created = self
            .app()?
            .create_channel(self.actor(), draft)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&created).into()))
    }

    async fn update_channel(&self, request: Request<v1::Channel>) -> Reply<v1::Channel> {
        let channel = request.into_inner();
        let patch = ChannelPatch {
            name: Some(channel.name),
            display_name: Some(channel.display_name),
            header: Some(channel.header),
            purpose: Some(channel.purpose),
            channel_type: Some(channel.r#type),
        };
        let updated = self
            .app()?
            .update_channel(self.actor(), &channel.id, patch)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&updated).into()))
    }

    async fn delete_team_member(
        &self,
        request: Request<v1::DeleteTeamMemberRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        let requestor = Some(request.requestor_id.as_str()).filter(|id| !id.is_empty());
        self.app()?
            .remove_team_member(self.actor(), &request.team_id, &request.user_id, requestor)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn update_user(&self, request: Request<v1::User>) -> Reply<v1::User> {
        let user = request.into_inner();
        let patch = UserPatch {
            username: Some(user.username),
            email: Some(user.email),
            nickname: Some(user.nickname),
            first_name: Some(user.first_name),
            last_name: Some(user.last_name),
            position: Some(user.position),
            locale: Some(user.locale).filter(|l| !l.is_empty()),
            notify_props: None,
            password: None,
        };
        let updated = self
            .app()?
            .patch_user(self.actor(), &user.id, patch)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&updated).into()))
    }

    async fn get_profile_image(
        &self,
        request: Request<v1::UserIdRequest>,
    ) -> Reply<v1::ProfileImage> {
        let user_id = request.into_inner().user_id;
        let image = self
            .app()?
            .profile_image(&user_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::ProfileImage { png: image.png }))
    }

    async fn set_profile_image(
        &self,
        request: Request<v1::SetProfileImageRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        self.app()?
            .set_profile_image(self.actor(), &request.user_id, request.data)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn delete_channel_member(
        &self,
        request: Request<v1::ChannelMemberRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        self.app()?
            .remove_channel_member(self.actor(), &request.channel_id, &request.user_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn get_users(&self, request: Request<v1::GetUsersRequest>) -> Reply<v1::UserList> {
        let request = request.into_inner();
        let filter = UserFilter {
            in_team: Some(request.in_team).filter(|t| !t.is_empty()),
            in_channel: Some(request.in_channel).filter(|c| !c.is_empty()),
            ..UserFilter::default()
        };
        self.users(filter, request.page, request.per_page).await
    }

    async fn get_post_thread(&self, request: Request<v1::PostIdRequest>) -> Reply<v1::PostList> {
        let post_id = request.into_inner().post_id;
        let thread = self
            .app()?
            .thread(self.actor(), &post_id, ThreadRead::Whole)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&thread).into()))
    }

    async fn get_posts_since(
        &self,
        request: Request<v1::PostsSinceRequest>,
    ) -> Reply<v1::PostList> {
        let request = request.into_inner();
        let posts = self
            .app()?
            .channel_history(
                self.actor(),
                &request.channel_id,
                HistoryRead::Since(request.since),
                0,
                MAX_PER_PAGE,
            )
            .await
            .map_err(status_of)?;
        Ok(Response::new((&posts).into()))
    }

    async fn create_bot(&self, request: Request<v1::Bot>) -> Reply<v1::Bot> {
        let bot = request.into_inner();
        let patch = model::BotPatch {
            username: Some(bot.username),
            display_name: Some(bot.display_name),
            description: Some(bot.description),
        };
        let created = self
            .app()?
            .create_bot(self.actor(), patch)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&created).into()))
    }

    async fn get_bot(&self, request: Request<v1::GetBotRequest>) -> Reply<v1::Bot> {
        let request = request.into_inner();
        let bot = self
            .app()?
            .get_bot(self.actor(), &request.bot_user_id, request.include_deleted)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&bot).into()))
    }

    async fn patch_bot(&self, request: Request<v1::PatchBotRequest>) -> Reply<v1::Bot> {
        let request = request.into_inner();
        let patch = request.patch.unwrap_or_default().into();
        let bot = self
            .app()?
            .patch_bot(self.actor(), &request.bot_user_id, patch)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&bot).into()))
    }

    async fn get_license(&self, _request: Request<v1::Empty>) -> Reply<v1::License> {
        Ok(Response::new(v1::License::default()))
    }

    async fn get_diagnostic_id(&self, _request: Request<v1::Empty>) -> Reply<v1::DiagnosticId> {
        let id = self.app()?.diagnostic_id().await.map_err(status_of)?;
        Ok(Response::new(v1::DiagnosticId { id }))
    }

    async fn get_plugin_status(
        &self,
        request: Request<v1::PluginIdRequest>,
    ) -> Reply<v1::PluginStatus> {
        let status = self
            .app()?
            .plugin_status_here(&request.into_inner().plugin_id)
            .map_err(status_of)?;
        Ok(Response::new((&status).into()))
    }

    async fn get_user(&self, request: Request<v1::UserIdRequest>) -> Reply<v1::User> {
        let user_id = request.into_inner().user_id;
        let user = self
            .app()?
            .store
            .get_user(&user_id)
            .await
            .map_err(|e| status_of(e.into()))?;
        Ok(Response::new((&found(user, Code::UserNotFound)?).into()))
    }

    async fn get_user_by_username(&self, request: Request<v1::UsernameRequest>) -> Reply<v1::User> {
        let username = request.into_inner().username;
        let user = self
            .app()?
            .store
            .get_user_by_username(&username)
            .await
            .map_err(|e| status_of(e.into()))?;
        Ok(Response::new((&found(user, Code::UserNotFound)?).into()))
    }

    async fn get_channel(&self, request: Request<v1::ChannelIdRequest>) -> Reply<v1::Channel> {
        let channel_id = request.into_inner().channel_id;
        let channel = self
            .app()?
            .get_channel(self.actor(), &channel_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&channel).into()))
    }

    async fn get_channel_by_name(
        &self,
        request: Request<v1::ChannelByNameRequest>,
    ) -> Reply<v1::Channel> {
        let request = request.into_inner();
        let channel = self
            .app()?
            .channel_by_name(self.actor(), &request.team_id, &request.name)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&channel).into()))
    }

    async fn get_direct_channel(
        &self,
        request: Request<v1::DirectChannelRequest>,
    ) -> Reply<v1::Channel> {
        let request = request.into_inner();
        let channel = self
            .app()?
            .open_direct_channel(self.actor(), &request.user_id_1, &request.user_id_2)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&channel).into()))
    }

    async fn add_channel_member(
        &self,
        request: Request<v1::AddChannelMemberRequest>,
    ) -> Reply<v1::ChannelMember> {
        let request = request.into_inner();
        let member = self
            .app()?
            .add_channel_member(self.actor(), &request.channel_id, &request.user_id)
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
            .map_err(|e| status_of(e.into()))?;
        Ok(Response::new(
            (&found(member, Code::ChannelMemberNotFound)?).into(),
        ))
    }

    async fn get_team(&self, request: Request<v1::TeamIdRequest>) -> Reply<v1::Team> {
        let team_id = request.into_inner().team_id;
        let team = self
            .app()?
            .get_team(self.actor(), &team_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&team).into()))
    }

    async fn register_command(&self, request: Request<v1::Command>) -> Reply<v1::Empty> {
        let command = model::Command::from(request.into_inner());
        self.app()?
            .register_plugin_command(&self.plugin_id, command)
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn unregister_command(
        &self,
        request: Request<v1::UnregisterCommandRequest>,
    ) -> Reply<v1::Empty> {
        let trigger = request.into_inner().trigger;
        self.app()?
            .unregister_plugin_command(&self.plugin_id, &trigger)
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn get_preferences_for_user(
        &self,
        request: Request<v1::UserIdRequest>,
    ) -> Reply<v1::PreferenceList> {
        let user_id = request.into_inner().user_id;
        let preferences = self
            .app()?
            .preferences_of(self.actor(), &user_id, None)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::PreferenceList {
            preferences: preferences.iter().map(Into::into).collect(),
        }))
    }

    async fn update_preferences_for_user(
        &self,
        request: Request<v1::PreferencesRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        let preferences = request.preferences.into_iter().map(Into::into).collect();
        self.app()?
            .save_preferences(self.actor(), &request.user_id, preferences, Batch::Plugin)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn delete_preferences_for_user(
        &self,
        request: Request<v1::PreferencesRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        let preferences = request.preferences.into_iter().map(Into::into).collect();
        self.app()?
            .delete_preferences(self.actor(), &request.user_id, preferences, Batch::Plugin)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn ensure_bot_user(&self, request: Request<v1::EnsureBotUserRequest>) -> Reply<v1::User> {
        let request = request.into_inner();
        let user = self
            .app()?
            .ensure_bot_user(
                &self.plugin_id,
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
        let data = chorus_plugin_protocol::convert::strict_json_object(&request.data_json)
            .ok_or_else(|| {
                status_of(
                    Code::WebsocketEventInvalid.with_message("data_json must be a JSON object"),
                )
            })?;
        let broadcast = model::Broadcast::from(request.broadcast.unwrap_or_default());
        let event = PluginEvent {
            event: request.event,
            data,
            broadcast,
        };
        self.app()?
            .publish_plugin_event(&self.plugin_id, event)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn publish_plugin_cluster_event(
        &self,
        request: Request<v1::PublishPluginClusterEventRequest>,
    ) -> Reply<v1::Empty> {
        let request = request.into_inner();
        self.app()?
            .publish_plugin_cluster_event(
                &self.plugin_id,
                request.id,
                request.data,
                request.target_node_id,
            )
            .map_err(status_of)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn get_plugin_config(&self, _: Request<v1::Empty>) -> Reply<v1::PluginConfig> {
        let config = self
            .app()?
            .plugin_settings(&self.plugin_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(v1::PluginConfig {
            config_json: serde_json::Value::Object(config).to_string(),
        }))
    }

    async fn save_plugin_config(&self, request: Request<v1::PluginConfig>) -> Reply<v1::Empty> {
        let text = request.into_inner().config_json;
        let Ok(serde_json::Value::Object(config)) = serde_json::from_str(&text) else {
            return Err(status_of(
                Code::PluginConfigInvalid.with_message("config_json must be a JSON object"),
            ));
        };
        self.app()?
            .save_plugin_config(&self.plugin_id, &config)
            .await
            .map_err(status_of)?;
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
            version: crate::MATTERMOST_VERSION.to_string(),
        }))
    }
}
