//! The `PluginApi` gRPC service behind the [`TestServer`](super::TestServer): each
//! call checks what the host checks (the KV rules of `chorus_plugin_protocol::kv`,
//! required fields, known users and channels), answers with the host's statuses, and
//! reads or changes the [`State`].

use super::state::{EphemeralPost, KvEntry, LogEntry, PublishedClusterEvent, State};
use crate::LogLevel;
use crate::{
    Bot, BotPatch, Broadcast, Channel, ChannelMember, Command, FileInfo, Post, PostList,
    Preference, Reaction, Team, TeamMember, User, WebSocketEvent,
};
use chorus_model::new_id;
use chorus_plugin_protocol::v1;
use chorus_plugin_protocol::{convert, kv};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tonic::{Request, Response, Status};

/// The gRPC service behind [`TestServer`].
pub(super) struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    pub(super) fn new(state: Arc<Mutex<State>>) -> FakeApi {
        FakeApi { state }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The host's KV rules, refused with the status the host gives.
fn kv_rule(result: Result<(), kv::KvRuleError>) -> Result<(), Status> {
    result.map_err(|err| Status::invalid_argument(err.to_string()))
}

fn check_key(key: &str) -> Result<(), Status> {
    kv_rule(kv::check_key(key))
}

fn required<T>(value: Option<T>, what: &str) -> Result<T, Status> {
    value.ok_or_else(|| Status::invalid_argument(format!("{what} is required")))
}

fn json_object(text: &str, what: &str) -> Result<serde_json::Map<String, Value>, Status> {
    convert::strict_json_object(text)
        .ok_or_else(|| Status::invalid_argument(format!("{what} must be a JSON object")))
}

fn ok<T>(value: T) -> Result<Response<T>, Status> {
    Ok(Response::new(value))
}

/// `(skip, take)` of a page, with the host's default (60) and cap (200).
fn page_of(page: i64, per_page: i64) -> (usize, usize) {
    let per_page = if per_page <= 0 { 60 } else { per_page.min(200) };
    let skip = usize::try_from(page.max(0) * per_page).unwrap_or(usize::MAX);
    (skip, usize::try_from(per_page).unwrap_or(60))
}

fn post_list(mut posts: Vec<Post>) -> v1::PostList {
    posts.sort_by(|a, b| b.create_at.cmp(&a.create_at).then(b.id.cmp(&a.id)));
    let list = PostList {
        order: posts.iter().map(|p| p.id.clone()).collect(),
        posts: posts.into_iter().map(|p| (p.id.clone(), p)).collect(),
        ..PostList::default()
    };
    (&list).into()
}

#[tonic::async_trait]
impl v1::plugin_api_server::PluginApi for FakeApi {
    async fn kv_set(
        &self,
        request: Request<v1::KvSetRequest>,
    ) -> Result<Response<v1::KvSetResponse>, Status> {
        let request = request.into_inner();
        kv_rule(kv::check_write(
            &request.key,
            request.value.as_deref(),
            request.expire_in_seconds,
        ))?;
        let mut state = self.state();
        if request.atomic && state.live_value(&request.key) != request.old_value.as_ref() {
            return ok(v1::KvSetResponse { written: false });
        }
        match request.value {
            Some(value) => {
                let expire_at = if request.expire_in_seconds > 0 {
                    state.now_ms() + request.expire_in_seconds * 1000
                } else {
                    0
                };
                state.kv.insert(request.key, KvEntry { value, expire_at });
            }
            None => {
                state.kv.remove(&request.key);
            }
        }
        ok(v1::KvSetResponse { written: true })
    }

    async fn kv_get(
        &self,
        request: Request<v1::KvGetRequest>,
    ) -> Result<Response<v1::KvGetResponse>, Status> {
        let request = request.into_inner();
        check_key(&request.key)?;
        ok(v1::KvGetResponse {
            value: self.state().live_value(&request.key).cloned(),
        })
    }

    async fn kv_get_many(
        &self,
        request: Request<v1::KvGetManyRequest>,
    ) -> Result<Response<v1::KvGetManyResponse>, Status> {
        let keys = request.into_inner().keys;
        kv_rule(kv::check_keys(&keys))?;
        let state = self.state();
        let values = keys
            .into_iter()
            .filter_map(|key| state.live_value(&key).cloned().map(|value| (key, value)))
            .collect();
        ok(v1::KvGetManyResponse { values })
    }

    async fn kv_delete(
        &self,
        request: Request<v1::KvDeleteRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        check_key(&request.key)?;
        self.state().kv.remove(&request.key);
        ok(v1::Empty {})
    }

    async fn kv_delete_all(&self, _: Request<v1::Empty>) -> Result<Response<v1::Empty>, Status> {
        self.state().kv.clear();
        ok(v1::Empty {})
    }

    async fn kv_list(
        &self,
        request: Request<v1::KvListRequest>,
    ) -> Result<Response<v1::KvListResponse>, Status> {
        let request = request.into_inner();
        let per_page = kv::list_page_size(request.per_page) as usize;
        let state = self.state();
        let keys = state
            .kv
            .range(request.prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&request.prefix))
            .filter(|(key, _)| state.live_value(key).is_some())
            .map(|(key, _)| key.clone())
            .skip(request.page as usize * per_page)
            .take(per_page)
            .collect();
        ok(v1::KvListResponse { keys })
    }

    async fn create_post(
        &self,
        request: Request<v1::PostRequest>,
    ) -> Result<Response<v1::Post>, Status> {
        let post = Post::from(required(request.into_inner().post, "post")?);
        let mut state = self.state();
        if post.user_id.is_empty() {
            return Err(Status::invalid_argument(
                "a post needs a user_id (for example your bot's id)",
            ));
        }
        state.user(&post.user_id)?;
        state.channel(&post.channel_id)?;
        // As the server: only files of the author (or a plugin's) uploaded to this
        // channel and not yet attached are kept.
        let attachable = |f: &FileInfo| {
            f.post_id.is_empty()
                && f.delete_at == 0
                && f.channel_id == post.channel_id
                && (f.user_id == post.user_id || f.user_id == chorus_model::PLUGIN_FILE_OWNER)
        };
        let file_ids: Vec<String> = post
            .file_ids
            .iter()
            .filter(|id| {
                state
                    .files
                    .iter()
                    .any(|(f, _)| f.id == **id && attachable(f))
            })
            .cloned()
            .collect();
        let post = state.add_post(Post {
            id: String::new(),
            create_at: 0,
            file_ids,
            ..post
        });
        for (file, _) in state.files.iter_mut() {
            if post.file_ids.contains(&file.id) {
                file.post_id = post.id.clone();
            }
        }
        ok(post.into())
    }

    async fn update_post(
        &self,
        request: Request<v1::PostRequest>,
    ) -> Result<Response<v1::Post>, Status> {
        let update = Post::from(required(request.into_inner().post, "post")?);
        let mut state = self.state();
        let now = state.now_ms();
        let stored = state
            .posts
            .iter_mut()
            .find(|p| p.id == update.id && p.delete_at == 0)
            .ok_or_else(|| Status::not_found(format!("no post with id {:?}", update.id)))?;
        stored.message = update.message;
        stored.props = update.props;
        stored.is_pinned = update.is_pinned;
        stored.hashtags = update.hashtags;
        stored.update_at = now;
        stored.edit_at = now;
        ok(stored.clone().into())
    }

    async fn delete_post(
        &self,
        request: Request<v1::PostIdRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let id = request.into_inner().post_id;
        let mut state = self.state();
        let now = state.now_ms();
        let stored = state
            .posts
            .iter_mut()
            .find(|p| p.id == id && p.delete_at == 0)
            .ok_or_else(|| Status::not_found(format!("no post with id {id:?}")))?;
        stored.delete_at = now;
        stored.update_at = now;
        ok(v1::Empty {})
    }

    async fn get_post(
        &self,
        request: Request<v1::PostIdRequest>,
    ) -> Result<Response<v1::Post>, Status> {
        let id = request.into_inner().post_id;
        let state = self.state();
        let post = state
            .posts
            .iter()
            .find(|p| p.id == id && p.delete_at == 0)
            .ok_or_else(|| Status::not_found(format!("no post with id {id:?}")))?;
        ok(post.clone().into())
    }

    async fn get_user_status(
        &self,
        request: Request<v1::UserIdRequest>,
    ) -> Result<Response<v1::Status>, Status> {
        let user_id = request.into_inner().user_id;
        let state = self.state();
        state.user(&user_id)?;
        ok((&state.status_of(&user_id)).into())
    }

    async fn get_user_statuses_by_ids(
        &self,
        request: Request<v1::UserIdsRequest>,
    ) -> Result<Response<v1::StatusList>, Status> {
        let user_ids = request.into_inner().user_ids;
        if user_ids.is_empty() {
            return Err(Status::invalid_argument("name at least one user"));
        }
        let state = self.state();
        ok(v1::StatusList {
            statuses: user_ids
                .iter()
                .map(|id| (&state.status_of(id)).into())
                .collect(),
        })
    }

    async fn update_user_status(
        &self,
        request: Request<v1::UpdateUserStatusRequest>,
    ) -> Result<Response<v1::Status>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.user(&request.user_id)?;
        let manual = match request.status.as_str() {
            chorus_model::STATUS_ONLINE => false,
            chorus_model::STATUS_AWAY | chorus_model::STATUS_OFFLINE | chorus_model::STATUS_DND => {
                true
            }
            other => return Err(Status::invalid_argument(format!("no status {other:?}"))),
        };
        let dnd_end_time = if request.status == chorus_model::STATUS_DND {
            request.dnd_end_time - request.dnd_end_time % 60
        } else {
            0
        };
        let status = chorus_model::Status {
            user_id: request.user_id.clone(),
            status: request.status,
            manual,
            last_activity_at: state.now_ms(),
            dnd_end_time,
            prev_status: String::new(),
        };
        state.statuses.retain(|s| s.user_id != request.user_id);
        state.statuses.push(status.clone());
        ok((&status).into())
    }

    async fn get_preferences_for_user(
        &self,
        request: Request<v1::UserIdRequest>,
    ) -> Result<Response<v1::PreferenceList>, Status> {
        let user_id = request.into_inner().user_id;
        let state = self.state();
        state.user(&user_id)?;
        ok(v1::PreferenceList {
            preferences: state
                .preferences
                .iter()
                .filter(|p| p.user_id == user_id)
                .map(Into::into)
                .collect(),
        })
    }

    async fn update_preferences_for_user(
        &self,
        request: Request<v1::PreferencesRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.user(&request.user_id)?;
        let preferences: Vec<Preference> =
            request.preferences.into_iter().map(Into::into).collect();
        if preferences.iter().any(|p| p.user_id != request.user_id) {
            return Err(Status::permission_denied(
                "every preference must belong to the user named in the request",
            ));
        }
        if preferences.iter().any(|p| p.category.is_empty()) {
            return Err(Status::invalid_argument("a preference needs a category"));
        }
        for preference in preferences {
            state.preferences.retain(|p| {
                (&p.user_id, &p.category, &p.name)
                    != (&preference.user_id, &preference.category, &preference.name)
            });
            state.preferences.push(preference);
        }
        ok(v1::Empty {})
    }

    async fn delete_preferences_for_user(
        &self,
        request: Request<v1::PreferencesRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        if request
            .preferences
            .iter()
            .any(|p| p.user_id != request.user_id)
        {
            return Err(Status::permission_denied(
                "every preference must belong to the user named in the request",
            ));
        }
        for doomed in &request.preferences {
            state.preferences.retain(|p| {
                (&p.user_id, &p.category, &p.name)
                    != (&doomed.user_id, &doomed.category, &doomed.name)
            });
        }
        ok(v1::Empty {})
    }

    async fn add_reaction(
        &self,
        request: Request<v1::Reaction>,
    ) -> Result<Response<v1::Reaction>, Status> {
        let reaction = Reaction::from(request.into_inner());
        if reaction.emoji_name.is_empty() {
            return Err(Status::invalid_argument("a reaction needs an emoji_name"));
        }
        let mut state = self.state();
        state.user(&reaction.user_id)?;
        let channel_id = state
            .posts
            .iter()
            .find(|p| p.id == reaction.post_id && p.delete_at == 0)
            .map(|p| p.channel_id.clone())
            .ok_or_else(|| Status::not_found(format!("no post with id {:?}", reaction.post_id)))?;
        let same = |r: &&Reaction| {
            r.post_id == reaction.post_id
                && r.user_id == reaction.user_id
                && r.emoji_name == reaction.emoji_name
        };
        if let Some(existing) = state.reactions.iter().find(same) {
            return ok(existing.into());
        }
        let now = state.now_ms();
        let added = Reaction {
            channel_id,
            create_at: now,
            update_at: now,
            ..reaction
        };
        state.reactions.push(added.clone());
        if let Some(post) = state.posts.iter_mut().find(|p| p.id == added.post_id) {
            post.has_reactions = true;
        }
        ok((&added).into())
    }

    async fn upload_file(
        &self,
        request: Request<v1::UploadFileRequest>,
    ) -> Result<Response<v1::FileInfo>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.channel(&request.channel_id)?;
        let name = request
            .filename
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() || name == "." || name == ".." {
            return Err(Status::invalid_argument(format!(
                "{:?} is not a file name",
                request.filename
            )));
        }
        let now = state.now_ms();
        let extension = name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .unwrap_or_default();
        let info = FileInfo {
            id: new_id(),
            user_id: chorus_model::PLUGIN_FILE_OWNER.into(),
            channel_id: request.channel_id,
            create_at: now,
            update_at: now,
            size: request.data.len() as i64,
            name,
            extension,
            ..FileInfo::default()
        };
        state.files.push((info.clone(), request.data));
        ok((&info).into())
    }

    async fn get_file(
        &self,
        request: Request<v1::FileIdRequest>,
    ) -> Result<Response<v1::FileData>, Status> {
        let state = self.state();
        let (_, data) = state.file(&request.into_inner().file_id)?;
        ok(v1::FileData { data: data.clone() })
    }

    async fn get_file_info(
        &self,
        request: Request<v1::FileIdRequest>,
    ) -> Result<Response<v1::FileInfo>, Status> {
        let state = self.state();
        let (info, _) = state.file(&request.into_inner().file_id)?;
        ok(info.into())
    }

    async fn get_file_infos(
        &self,
        request: Request<v1::GetFileInfosRequest>,
    ) -> Result<Response<v1::FileInfoList>, Status> {
        let query = request.into_inner();
        let per_page = match query.per_page {
            0 => 60,
            n @ 1..=200 => n,
            _ => return Err(Status::invalid_argument("per_page must be 1-200")),
        };
        if query.page < 0 {
            return Err(Status::invalid_argument("page must not be negative"));
        }
        let state = self.state();
        let mut files: Vec<&FileInfo> = state
            .files
            .iter()
            .map(|(f, _)| f)
            .filter(|f| query.include_deleted || f.delete_at == 0)
            .filter(|f| query.user_ids.is_empty() || query.user_ids.contains(&f.user_id))
            .filter(|f| query.channel_ids.is_empty() || query.channel_ids.contains(&f.channel_id))
            .filter(|f| f.create_at >= query.since)
            .collect();
        match query.sort_by.as_str() {
            "" | "CreateAt" => files.sort_by_key(|f| (f.create_at, f.id.clone())),
            "Size" => files.sort_by_key(|f| (f.size, f.id.clone())),
            other => {
                return Err(Status::invalid_argument(format!(
                    "sort_by must be CreateAt or Size, not {other:?}"
                )))
            }
        }
        if query.sort_descending {
            files.reverse();
        }
        let file_infos = files
            .into_iter()
            .skip((query.page * per_page) as usize)
            .take(per_page as usize)
            .map(Into::into)
            .collect();
        ok(v1::FileInfoList { file_infos })
    }

    async fn get_file_link(
        &self,
        request: Request<v1::FileIdRequest>,
    ) -> Result<Response<v1::FileLink>, Status> {
        let state = self.state();
        let (info, _) = state.file(&request.into_inner().file_id)?;
        if info.post_id.is_empty() {
            return Err(Status::invalid_argument(
                "a file gets a public link once it is attached to a post",
            ));
        }
        ok(v1::FileLink {
            link: format!("http://localhost/files/{}/public?h=test", info.id),
        })
    }

    async fn copy_file_infos(
        &self,
        request: Request<v1::CopyFileInfosRequest>,
    ) -> Result<Response<v1::FileIdList>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.user(&request.user_id)?;
        let now = state.now_ms();
        let mut copies = Vec::new();
        for id in &request.file_ids {
            let (info, data) = state.file(id)?.clone();
            copies.push((
                FileInfo {
                    id: new_id(),
                    user_id: request.user_id.clone(),
                    post_id: String::new(),
                    create_at: now,
                    update_at: now,
                    ..info
                },
                data,
            ));
        }
        let file_ids = copies.iter().map(|(f, _)| f.id.clone()).collect();
        state.files.extend(copies);
        ok(v1::FileIdList { file_ids })
    }

    async fn remove_reaction(
        &self,
        request: Request<v1::Reaction>,
    ) -> Result<Response<v1::Empty>, Status> {
        let reaction = request.into_inner();
        let mut state = self.state();
        state.reactions.retain(|r| {
            !(r.post_id == reaction.post_id
                && r.user_id == reaction.user_id
                && r.emoji_name == reaction.emoji_name)
        });
        let left = state
            .reactions
            .iter()
            .any(|r| r.post_id == reaction.post_id);
        if let Some(post) = state.posts.iter_mut().find(|p| p.id == reaction.post_id) {
            post.has_reactions = left;
        }
        ok(v1::Empty {})
    }

    async fn get_reactions(
        &self,
        request: Request<v1::PostIdRequest>,
    ) -> Result<Response<v1::ReactionList>, Status> {
        let post_id = request.into_inner().post_id;
        let state = self.state();
        if !state
            .posts
            .iter()
            .any(|p| p.id == post_id && p.delete_at == 0)
        {
            return Err(Status::not_found(format!("no post with id {post_id:?}")));
        }
        ok(v1::ReactionList {
            reactions: state
                .reactions
                .iter()
                .filter(|r| r.post_id == post_id)
                .map(Into::into)
                .collect(),
        })
    }

    async fn send_ephemeral_post(
        &self,
        request: Request<v1::SendEphemeralPostRequest>,
    ) -> Result<Response<v1::Post>, Status> {
        let request = request.into_inner();
        let mut post = Post::from(required(request.post, "post")?);
        let mut state = self.state();
        state.user(&request.user_id)?;
        post.id = new_id();
        post.create_at = state.now_ms();
        post.update_at = post.create_at;
        post.post_type = "system_ephemeral".into();
        state.ephemeral_posts.push(EphemeralPost {
            user_id: request.user_id,
            post: post.clone(),
        });
        ok(post.into())
    }

    async fn update_ephemeral_post(
        &self,
        request: Request<v1::SendEphemeralPostRequest>,
    ) -> Result<Response<v1::Post>, Status> {
        let request = request.into_inner();
        let mut post = Post::from(required(request.post, "post")?);
        let mut state = self.state();
        state.user(&request.user_id)?;
        post.update_at = state.now_ms();
        post.post_type = "system_ephemeral".into();
        let shown = EphemeralPost {
            user_id: request.user_id,
            post: post.clone(),
        };
        match state
            .ephemeral_posts
            .iter_mut()
            .find(|e| e.user_id == shown.user_id && e.post.id == shown.post.id)
        {
            Some(existing) => *existing = shown,
            None => state.ephemeral_posts.push(shown),
        }
        ok(post.into())
    }

    async fn delete_ephemeral_post(
        &self,
        request: Request<v1::DeleteEphemeralPostRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        self.state()
            .ephemeral_posts
            .retain(|e| !(e.user_id == request.user_id && e.post.id == request.post_id));
        ok(v1::Empty {})
    }

    async fn open_interactive_dialog(
        &self,
        request: Request<v1::OpenInteractiveDialogRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        if request.trigger_id.is_empty() || request.url.is_empty() {
            return Err(Status::invalid_argument("trigger_id and url are required"));
        }
        let dialog = serde_json::from_str(&request.dialog_json)
            .map_err(|e| Status::invalid_argument(format!("dialog_json is not a dialog: {e}")))?;
        self.state()
            .opened_dialogs
            .push(chorus_model::OpenDialogRequest {
                trigger_id: request.trigger_id,
                url: request.url,
                dialog,
            });
        ok(v1::Empty {})
    }

    async fn get_user(
        &self,
        request: Request<v1::UserIdRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let id = request.into_inner().user_id;
        ok(self.state().user(&id)?.clone().into())
    }

    async fn get_user_by_username(
        &self,
        request: Request<v1::UsernameRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let username = request.into_inner().username;
        let state = self.state();
        let user = state
            .users
            .iter()
            .find(|u| u.username == username)
            .ok_or_else(|| Status::not_found(format!("no user named {username:?}")))?;
        ok(user.clone().into())
    }

    async fn get_channel(
        &self,
        request: Request<v1::ChannelIdRequest>,
    ) -> Result<Response<v1::Channel>, Status> {
        let id = request.into_inner().channel_id;
        ok(self.state().channel(&id)?.clone().into())
    }

    async fn get_channel_by_name(
        &self,
        request: Request<v1::ChannelByNameRequest>,
    ) -> Result<Response<v1::Channel>, Status> {
        let request = request.into_inner();
        let state = self.state();
        let channel = state
            .channels
            .iter()
            .find(|c| c.team_id == request.team_id && c.name == request.name)
            .ok_or_else(|| {
                Status::not_found(format!(
                    "no channel {:?} in team {:?}",
                    request.name, request.team_id
                ))
            })?;
        ok(channel.clone().into())
    }

    async fn get_direct_channel(
        &self,
        request: Request<v1::DirectChannelRequest>,
    ) -> Result<Response<v1::Channel>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.user(&request.user_id_1)?;
        state.user(&request.user_id_2)?;
        let name = Channel::direct_name(&request.user_id_1, &request.user_id_2);
        let ids = [request.user_id_1, request.user_id_2];
        if let Some(channel) = state
            .channels
            .iter()
            .find(|c| c.channel_type == "D" && c.name == name)
        {
            return ok(channel.clone().into());
        }
        let channel = state.add_channel(Channel {
            name,
            channel_type: "D".into(),
            ..Channel::default()
        });
        for user_id in ids {
            state.members.push(ChannelMember {
                channel_id: channel.id.clone(),
                user_id,
                roles: "channel_user".into(),
                ..ChannelMember::default()
            });
        }
        ok(channel.into())
    }

    async fn add_channel_member(
        &self,
        request: Request<v1::AddChannelMemberRequest>,
    ) -> Result<Response<v1::ChannelMember>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.user(&request.user_id)?;
        state.channel(&request.channel_id)?;
        if let Some(member) = state
            .members
            .iter()
            .find(|m| m.channel_id == request.channel_id && m.user_id == request.user_id)
        {
            return ok(member.clone().into());
        }
        let member = ChannelMember {
            channel_id: request.channel_id,
            user_id: request.user_id,
            roles: "channel_user".into(),
            last_update_at: state.now_ms(),
            ..ChannelMember::default()
        };
        state.members.push(member.clone());
        ok(member.into())
    }

    async fn get_channel_member(
        &self,
        request: Request<v1::ChannelMemberRequest>,
    ) -> Result<Response<v1::ChannelMember>, Status> {
        let request = request.into_inner();
        let state = self.state();
        let member = state
            .members
            .iter()
            .find(|m| m.channel_id == request.channel_id && m.user_id == request.user_id)
            .cloned()
            .ok_or_else(|| Status::not_found("the user is not a member of that channel"))?;
        ok(member.into())
    }

    async fn get_team(
        &self,
        request: Request<v1::TeamIdRequest>,
    ) -> Result<Response<v1::Team>, Status> {
        let id = request.into_inner().team_id;
        let state = self.state();
        let team = state
            .teams
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| Status::not_found(format!("no team with id {id:?}")))?;
        ok(team.clone().into())
    }

    async fn register_command(
        &self,
        request: Request<v1::Command>,
    ) -> Result<Response<v1::Empty>, Status> {
        let command = Command::from(request.into_inner());
        let trigger = &command.trigger;
        if trigger.is_empty() || trigger.starts_with('/') || trigger.contains(char::is_whitespace) {
            return Err(Status::invalid_argument(format!(
                "a command trigger is one word without the slash, not {trigger:?}"
            )));
        }
        self.state()
            .commands
            .insert(command.trigger.clone(), command);
        ok(v1::Empty {})
    }

    async fn unregister_command(
        &self,
        request: Request<v1::UnregisterCommandRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        self.state().commands.remove(&request.into_inner().trigger);
        ok(v1::Empty {})
    }

    async fn ensure_bot_user(
        &self,
        request: Request<v1::EnsureBotUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let request = request.into_inner();
        if request.username.is_empty() {
            return Err(Status::invalid_argument("a bot needs a username"));
        }
        let mut state = self.state();
        if let Some(user) = state.users.iter().find(|u| u.username == request.username) {
            if !user.is_bot {
                return Err(Status::already_exists(format!(
                    "the username {:?} belongs to a person, not a bot",
                    request.username
                )));
            }
            return ok(user.clone().into());
        }
        let bot = state.add_user(User {
            username: request.username,
            nickname: request.display_name,
            position: request.description,
            is_bot: true,
            ..User::default()
        });
        ok(bot.into())
    }

    async fn publish_web_socket_event(
        &self,
        request: Request<v1::PublishWebSocketEventRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        if request.event.is_empty() {
            return Err(Status::invalid_argument("a websocket event needs a name"));
        }
        let data = json_object(&request.data_json, "websocket event data")?;
        let broadcast = request.broadcast.map(Broadcast::from).unwrap_or_default();
        // As the plugin named it: clients would receive `custom_<plugin id>_<event>`.
        self.state().websocket_events.push(WebSocketEvent {
            event: request.event,
            data,
            broadcast,
            seq: 0,
        });
        ok(v1::Empty {})
    }

    async fn publish_plugin_cluster_event(
        &self,
        request: Request<v1::PublishPluginClusterEventRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        let target_node_id = Some(request.target_node_id).filter(|id| !id.is_empty());
        self.state().cluster_events.push(PublishedClusterEvent {
            id: request.id,
            data: request.data,
            target_node_id,
        });
        ok(v1::Empty {})
    }

    async fn get_config(&self, _: Request<v1::Empty>) -> Result<Response<v1::ConfigJson>, Status> {
        let config_json = self.state().server_config.to_string();
        ok(v1::ConfigJson { config_json })
    }

    async fn has_permission_to(
        &self,
        request: Request<v1::PermissionRequest>,
    ) -> Result<Response<v1::PermissionAnswer>, Status> {
        let request = request.into_inner();
        let allowed = self
            .state()
            .holds(&request.user_id, &request.permission, &[]);
        ok(v1::PermissionAnswer { allowed })
    }

    async fn has_permission_to_team(
        &self,
        request: Request<v1::PermissionRequest>,
    ) -> Result<Response<v1::PermissionAnswer>, Status> {
        let request = request.into_inner();
        let state = self.state();
        state.team(&request.team_id)?;
        let allowed = state.holds(&request.user_id, &request.permission, &[&request.team_id]);
        ok(v1::PermissionAnswer { allowed })
    }

    async fn has_permission_to_channel(
        &self,
        request: Request<v1::PermissionRequest>,
    ) -> Result<Response<v1::PermissionAnswer>, Status> {
        let request = request.into_inner();
        let state = self.state();
        let team_id = state.channel(&request.channel_id)?.team_id.clone();
        let allowed = state.holds(
            &request.user_id,
            &request.permission,
            &[&request.channel_id, &team_id],
        );
        ok(v1::PermissionAnswer { allowed })
    }

    async fn get_team_by_name(
        &self,
        request: Request<v1::TeamByNameRequest>,
    ) -> Result<Response<v1::Team>, Status> {
        let name = request.into_inner().name;
        let state = self.state();
        let team = state
            .teams
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Status::not_found(format!("no team named {name:?}")))?;
        ok(team.clone().into())
    }

    async fn get_teams(&self, _: Request<v1::Empty>) -> Result<Response<v1::TeamList>, Status> {
        let teams = self.state().teams.iter().map(v1::Team::from).collect();
        ok(v1::TeamList { teams })
    }

    async fn get_team_member(
        &self,
        request: Request<v1::TeamMemberRequest>,
    ) -> Result<Response<v1::TeamMember>, Status> {
        let request = request.into_inner();
        let state = self.state();
        let member = state
            .team_members
            .iter()
            .find(|m| m.team_id == request.team_id && m.user_id == request.user_id)
            .ok_or_else(|| Status::not_found("the user is not a member of the team"))?;
        ok(member.into())
    }

    async fn get_team_members(
        &self,
        request: Request<v1::TeamPageRequest>,
    ) -> Result<Response<v1::TeamMemberList>, Status> {
        let request = request.into_inner();
        let state = self.state();
        state.team(&request.team_id)?;
        let (skip, take) = page_of(request.page, request.per_page);
        let members = state
            .team_members
            .iter()
            .filter(|m| m.team_id == request.team_id)
            .skip(skip)
            .take(take)
            .map(v1::TeamMember::from)
            .collect();
        ok(v1::TeamMemberList { members })
    }

    async fn create_team_member(
        &self,
        request: Request<v1::TeamMemberRequest>,
    ) -> Result<Response<v1::TeamMember>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.user(&request.user_id)?;
        state.team(&request.team_id)?;
        if let Some(member) = state
            .team_members
            .iter()
            .find(|m| m.team_id == request.team_id && m.user_id == request.user_id)
        {
            return ok(member.into());
        }
        let member = TeamMember {
            team_id: request.team_id,
            user_id: request.user_id,
            roles: "team_user".into(),
            scheme_user: true,
            ..TeamMember::default()
        };
        state.team_members.push(member.clone());
        ok(member.into())
    }

    async fn get_channel_by_name_for_team_name(
        &self,
        request: Request<v1::ChannelByTeamNameRequest>,
    ) -> Result<Response<v1::Channel>, Status> {
        let request = request.into_inner();
        let state = self.state();
        let team: &Team = state
            .teams
            .iter()
            .find(|t| t.name == request.team_name)
            .ok_or_else(|| Status::not_found(format!("no team named {:?}", request.team_name)))?;
        let channel = state
            .channels
            .iter()
            .find(|c| c.team_id == team.id && c.name == request.channel_name)
            .ok_or_else(|| {
                Status::not_found(format!("no channel named {:?}", request.channel_name))
            })?;
        ok(channel.clone().into())
    }

    async fn get_channel_members(
        &self,
        request: Request<v1::ChannelPageRequest>,
    ) -> Result<Response<v1::ChannelMemberList>, Status> {
        let request = request.into_inner();
        let state = self.state();
        state.channel(&request.channel_id)?;
        let (skip, take) = page_of(request.page, request.per_page);
        let members = state
            .members
            .iter()
            .filter(|m| m.channel_id == request.channel_id)
            .skip(skip)
            .take(take)
            .map(v1::ChannelMember::from)
            .collect();
        ok(v1::ChannelMemberList { members })
    }

    async fn get_users_in_channel(
        &self,
        request: Request<v1::ChannelPageRequest>,
    ) -> Result<Response<v1::UserList>, Status> {
        let request = request.into_inner();
        let state = self.state();
        state.channel(&request.channel_id)?;
        let (skip, take) = page_of(request.page, request.per_page);
        let users = state
            .users
            .iter()
            .filter(|u| {
                state
                    .members
                    .iter()
                    .any(|m| m.channel_id == request.channel_id && m.user_id == u.id)
            })
            .skip(skip)
            .take(take)
            .map(v1::User::from)
            .collect();
        ok(v1::UserList { users })
    }

    async fn create_channel(
        &self,
        request: Request<v1::Channel>,
    ) -> Result<Response<v1::Channel>, Status> {
        let channel = Channel::from(request.into_inner());
        if !matches!(channel.channel_type.as_str(), "O" | "P") {
            return Err(Status::invalid_argument(
                "a channel's type is \"O\" or \"P\"",
            ));
        }
        if channel.name.is_empty() {
            return Err(Status::invalid_argument("a channel needs a name"));
        }
        let mut state = self.state();
        state.team(&channel.team_id)?;
        if state
            .channels
            .iter()
            .any(|c| c.team_id == channel.team_id && c.name == channel.name)
        {
            return Err(Status::already_exists(format!(
                "the team already has a channel named {:?}",
                channel.name
            )));
        }
        let created = state.add_channel(Channel {
            id: String::new(),
            ..channel
        });
        ok(created.into())
    }

    async fn update_channel(
        &self,
        request: Request<v1::Channel>,
    ) -> Result<Response<v1::Channel>, Status> {
        let wanted = Channel::from(request.into_inner());
        let mut state = self.state();
        let now = state.now_ms();
        let current = state.channel(&wanted.id)?.clone();
        if !wanted.channel_type.is_empty() && wanted.channel_type != current.channel_type {
            return Err(Status::invalid_argument("a channel's type cannot change"));
        }
        let taken = state
            .channels
            .iter()
            .any(|c| c.id != current.id && c.team_id == current.team_id && c.name == wanted.name);
        if taken {
            return Err(Status::already_exists(format!(
                "the team already has a channel named {:?}",
                wanted.name
            )));
        }
        let channel = state
            .channels
            .iter_mut()
            .find(|c| c.id == current.id)
            .expect("found above");
        channel.name = wanted.name;
        channel.display_name = wanted.display_name;
        channel.header = wanted.header;
        channel.purpose = wanted.purpose;
        channel.update_at = now;
        ok(v1::Channel::from(channel.clone()))
    }

    async fn delete_team_member(
        &self,
        request: Request<v1::DeleteTeamMemberRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.team(&request.team_id)?;
        let before = state.team_members.len();
        state
            .team_members
            .retain(|m| !(m.team_id == request.team_id && m.user_id == request.user_id));
        if state.team_members.len() == before {
            return Err(Status::failed_precondition("the user is not in the team"));
        }
        let team_channels: Vec<String> = state
            .channels
            .iter()
            .filter(|c| c.team_id == request.team_id)
            .map(|c| c.id.clone())
            .collect();
        state
            .members
            .retain(|m| !(m.user_id == request.user_id && team_channels.contains(&m.channel_id)));
        ok(v1::Empty {})
    }

    async fn update_user(&self, request: Request<v1::User>) -> Result<Response<v1::User>, Status> {
        let wanted = User::from(request.into_inner());
        let mut state = self.state();
        let now = state.now_ms();
        state.user(&wanted.id)?;
        if wanted.username.is_empty() {
            return Err(Status::invalid_argument("a user needs a username"));
        }
        if state
            .users
            .iter()
            .any(|u| u.id != wanted.id && u.username == wanted.username)
        {
            return Err(Status::already_exists("that username is taken"));
        }
        let user = state
            .users
            .iter_mut()
            .find(|u| u.id == wanted.id)
            .expect("found above");
        user.username = wanted.username;
        user.email = wanted.email;
        user.nickname = wanted.nickname;
        user.first_name = wanted.first_name;
        user.last_name = wanted.last_name;
        user.position = wanted.position;
        if !wanted.locale.is_empty() {
            user.locale = wanted.locale;
        }
        user.update_at = now;
        ok(v1::User::from(user.clone()))
    }

    async fn get_profile_image(
        &self,
        request: Request<v1::UserIdRequest>,
    ) -> Result<Response<v1::ProfileImage>, Status> {
        let user_id = request.into_inner().user_id;
        let state = self.state();
        state.user(&user_id)?;
        // A user who never set one gets an empty picture here (the server draws one).
        let png = state
            .profile_images
            .get(&user_id)
            .cloned()
            .unwrap_or_default();
        ok(v1::ProfileImage { png })
    }

    async fn set_profile_image(
        &self,
        request: Request<v1::SetProfileImageRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.user(&request.user_id)?;
        if request.data.is_empty() {
            return Err(Status::invalid_argument("the picture is empty"));
        }
        state.profile_images.insert(request.user_id, request.data);
        ok(v1::Empty {})
    }

    async fn delete_channel_member(
        &self,
        request: Request<v1::ChannelMemberRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.channel(&request.channel_id)?;
        state
            .members
            .retain(|m| !(m.channel_id == request.channel_id && m.user_id == request.user_id));
        ok(v1::Empty {})
    }

    async fn get_users(
        &self,
        request: Request<v1::GetUsersRequest>,
    ) -> Result<Response<v1::UserList>, Status> {
        let request = request.into_inner();
        let state = self.state();
        let (skip, take) = page_of(request.page, request.per_page);
        let users = state
            .users
            .iter()
            .filter(|u| {
                request.in_team.is_empty()
                    || state
                        .team_members
                        .iter()
                        .any(|m| m.team_id == request.in_team && m.user_id == u.id)
            })
            .filter(|u| {
                request.in_channel.is_empty()
                    || state
                        .members
                        .iter()
                        .any(|m| m.channel_id == request.in_channel && m.user_id == u.id)
            })
            .skip(skip)
            .take(take)
            .map(v1::User::from)
            .collect();
        ok(v1::UserList { users })
    }

    async fn get_post_thread(
        &self,
        request: Request<v1::PostIdRequest>,
    ) -> Result<Response<v1::PostList>, Status> {
        let post_id = request.into_inner().post_id;
        let state = self.state();
        let post = state
            .posts
            .iter()
            .find(|p| p.id == post_id && p.delete_at == 0)
            .ok_or_else(|| Status::not_found(format!("no post with id {post_id:?}")))?;
        let root = if post.root_id.is_empty() {
            post.id.clone()
        } else {
            post.root_id.clone()
        };
        let thread = state
            .posts
            .iter()
            .filter(|p| p.delete_at == 0 && (p.id == root || p.root_id == root))
            .cloned()
            .collect();
        ok(post_list(thread))
    }

    async fn get_posts_since(
        &self,
        request: Request<v1::PostsSinceRequest>,
    ) -> Result<Response<v1::PostList>, Status> {
        let request = request.into_inner();
        let state = self.state();
        state.channel(&request.channel_id)?;
        let posts = state
            .posts
            .iter()
            .filter(|p| p.channel_id == request.channel_id && p.update_at > request.since)
            .cloned()
            .collect();
        ok(post_list(posts))
    }

    async fn create_bot(&self, request: Request<v1::Bot>) -> Result<Response<v1::Bot>, Status> {
        let wanted = Bot::from(request.into_inner());
        if wanted.username.is_empty() {
            return Err(Status::invalid_argument("a bot needs a username"));
        }
        let mut state = self.state();
        if state.users.iter().any(|u| u.username == wanted.username) {
            return Err(Status::already_exists(format!(
                "the username {:?} is taken",
                wanted.username
            )));
        }
        let user = state.add_user(User {
            username: wanted.username.clone(),
            nickname: wanted.display_name.clone(),
            position: wanted.description.clone(),
            is_bot: true,
            ..User::default()
        });
        let bot = Bot {
            user_id: user.id,
            owner_id: "plugin".into(),
            create_at: user.create_at,
            update_at: user.create_at,
            ..wanted
        };
        state.bots.push(bot.clone());
        ok((&bot).into())
    }

    async fn get_bot(
        &self,
        request: Request<v1::GetBotRequest>,
    ) -> Result<Response<v1::Bot>, Status> {
        let request = request.into_inner();
        let state = self.state();
        let bot = state
            .bots
            .iter()
            .find(|b| {
                b.user_id == request.bot_user_id && (request.include_deleted || b.delete_at == 0)
            })
            .ok_or_else(|| {
                Status::not_found(format!("no bot with id {:?}", request.bot_user_id))
            })?;
        ok(bot.into())
    }

    async fn patch_bot(
        &self,
        request: Request<v1::PatchBotRequest>,
    ) -> Result<Response<v1::Bot>, Status> {
        let request = request.into_inner();
        let patch = BotPatch::from(request.patch.unwrap_or_default());
        let mut state = self.state();
        let now = state.now_ms();
        let bot = state
            .bots
            .iter_mut()
            .find(|b| b.user_id == request.bot_user_id)
            .ok_or_else(|| {
                Status::not_found(format!("no bot with id {:?}", request.bot_user_id))
            })?;
        if let Some(username) = patch.username {
            bot.username = username;
        }
        if let Some(display_name) = patch.display_name {
            bot.display_name = display_name;
        }
        if let Some(description) = patch.description {
            bot.description = description;
        }
        bot.update_at = now;
        ok((&*bot).into())
    }

    async fn get_license(&self, _: Request<v1::Empty>) -> Result<Response<v1::License>, Status> {
        ok(v1::License::default())
    }

    async fn get_diagnostic_id(
        &self,
        _: Request<v1::Empty>,
    ) -> Result<Response<v1::DiagnosticId>, Status> {
        let mut state = self.state();
        if state.diagnostic_id.is_empty() {
            state.diagnostic_id = new_id();
        }
        ok(v1::DiagnosticId {
            id: state.diagnostic_id.clone(),
        })
    }

    /// The statuses the test set with `set_plugin_status`; NOT_FOUND for others.
    async fn get_plugin_status(
        &self,
        request: Request<v1::PluginIdRequest>,
    ) -> Result<Response<v1::PluginStatus>, Status> {
        let plugin_id = request.into_inner().plugin_id;
        let state = self.state();
        let status = state
            .plugin_statuses
            .iter()
            .find(|s| s.plugin_id == plugin_id)
            .ok_or_else(|| Status::not_found(format!("no plugin {plugin_id:?} is installed")))?;
        ok(status.into())
    }

    async fn get_plugin_config(
        &self,
        _: Request<v1::Empty>,
    ) -> Result<Response<v1::PluginConfig>, Status> {
        let config_json = Value::Object(self.state().config.clone()).to_string();
        ok(v1::PluginConfig { config_json })
    }

    async fn save_plugin_config(
        &self,
        request: Request<v1::PluginConfig>,
    ) -> Result<Response<v1::Empty>, Status> {
        let config = json_object(
            &request.into_inner().config_json,
            "the plugin configuration",
        )?;
        self.state().config = config;
        ok(v1::Empty {})
    }

    async fn log(&self, request: Request<v1::LogRequest>) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        let level = match v1::LogLevel::try_from(request.level) {
            Ok(v1::LogLevel::Debug) => LogLevel::Debug,
            Ok(v1::LogLevel::Warn) => LogLevel::Warn,
            Ok(v1::LogLevel::Error) => LogLevel::Error,
            _ => LogLevel::Info,
        };
        let fields: BTreeMap<String, String> = request.fields.into_iter().collect();
        // Shown by cargo test when the test fails.
        eprintln!("plugin log {level:?}: {} {fields:?}", request.message);
        self.state().logs.push(LogEntry {
            level,
            message: request.message,
            fields,
        });
        ok(v1::Empty {})
    }

    async fn get_server_version(
        &self,
        _: Request<v1::Empty>,
    ) -> Result<Response<v1::ServerVersion>, Status> {
        ok(v1::ServerVersion {
            version: self.state().server_version.clone(),
        })
    }
}
