//! `/posts` and a channel's post history: create (with the `posted` fan-out),
//! read, edit, delete, page through a channel, and read a thread.

use super::auth::Auth;
use super::extract::{require_id, Body, Path, Query};
use super::permissions::{load_channel, require_channel_member};
use super::{validate, SharedState};
use crate::error::{AppError, AppResult};
use crate::events::{event, to_channel};
use crate::plugins::{HookContext, Rejection};
use crate::store::PostWindow;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chorus_model::{events, new_id, now_millis, Channel, Post, PostList, StatusOk};
use serde::Deserialize;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/posts", post(create_post))
        .route(
            "/posts/{post_id}",
            get(get_post).put(update_post).delete(delete_post),
        )
        .route("/posts/{post_id}/patch", put(patch_post))
        .route("/posts/{post_id}/thread", get(get_thread))
        .route("/channels/{channel_id}/posts", get(channel_posts))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CreatePost {
    channel_id: String,
    message: String,
    root_id: String,
    #[serde(rename = "type")]
    post_type: String,
    props: serde_json::Map<String, serde_json::Value>,
    pending_post_id: String,
    file_ids: Vec<String>,
}

/// What a caller wants posted, before checks.
pub struct PostDraft {
    pub channel_id: String,
    pub message: String,
    pub root_id: String,
    pub post_type: String,
    pub props: serde_json::Map<String, serde_json::Value>,
    pub pending_post_id: String,
}

async fn create_post(
    State(state): State<SharedState>,
    auth: Auth,
    Body(request): Body<CreatePost>,
) -> AppResult<impl IntoResponse> {
    if !request.file_ids.is_empty() {
        return Err(AppError::not_implemented(
            "api.post.create_post.files.app_error",
            "File attachments are not supported by this server yet.",
        ));
    }
    if !request.post_type.is_empty() && !request.post_type.starts_with("custom_") {
        return Err(AppError::bad_request(
            "api.post.create_post.type.app_error",
            "type must be empty or start with \"custom_\"; system post types are reserved for the server.",
        ));
    }
    let draft = PostDraft {
        channel_id: request.channel_id,
        message: request.message,
        root_id: request.root_id,
        post_type: request.post_type,
        props: request.props,
        pending_post_id: request.pending_post_id,
    };
    let post = create_post_as(&state, &auth, draft).await?;
    Ok((StatusCode::CREATED, Json(post)))
}

/// Checks and stores a post by `auth`'s user, then tells the channel. Shared by
/// `POST /posts` and slash commands that answer `in_channel`.
pub async fn create_post_as(state: &AppState, auth: &Auth, draft: PostDraft) -> AppResult<Post> {
    require_id(&draft.channel_id, "channel_id")?;
    if draft.message.trim().is_empty() {
        return Err(AppError::bad_request(
            "model.post.is_valid.msg.app_error",
            "message must not be empty.",
        ));
    }
    validate::max_len(
        "model.post.is_valid.msg.app_error",
        "message",
        &draft.message,
        validate::POST_MESSAGE_MAX,
    )?;
    validate::max_len(
        "model.post.is_valid.pending_post_id.app_error",
        "pending_post_id",
        &draft.pending_post_id,
        100,
    )?;
    let channel = load_channel(state, &draft.channel_id).await?;
    require_channel_member(state, auth, &channel).await?;
    if !draft.root_id.is_empty() {
        require_id(&draft.root_id, "root_id")?;
        let root = state.store.get_post(&draft.root_id).await?;
        let valid_root = root.is_some_and(|root| {
            root.channel_id == channel.id && root.delete_at == 0 && root.root_id.is_empty()
        });
        if !valid_root {
            return Err(AppError::bad_request(
                "api.post.create_post.root_id.app_error",
                "root_id must be a live top-level post in the same channel.",
            ));
        }
    }
    let now = now_millis();
    let post = Post {
        id: new_id(),
        create_at: now,
        update_at: now,
        user_id: auth.user.id.clone(),
        channel_id: channel.id.clone(),
        root_id: draft.root_id,
        message: draft.message,
        post_type: draft.post_type,
        props: draft.props,
        pending_post_id: draft.pending_post_id,
        ..Post::default()
    };
    let context = HookContext::for_user(&auth.user.id, &auth.session.id);
    submit_post(state, post, &channel, &auth.user.username, &context).await
}

fn rejected(rejection: Rejection) -> AppError {
    AppError::bad_request(
        "app.post.rejected_by_plugin.app_error",
        format!("Post rejected by plugin: {}", rejection.0),
    )
}

/// Runs `MessageWillBePosted`, stores the post, tells the channel, then notifies
/// plugins. Every way of creating a post goes through here.
pub async fn submit_post(
    state: &AppState,
    post: Post,
    channel: &Channel,
    sender_username: &str,
    context: &HookContext,
) -> AppResult<Post> {
    let mut post = state
        .plugins
        .message_will_be_posted(context, post)
        .await
        .map_err(rejected)?;
    validate::max_len(
        "model.post.is_valid.msg.app_error",
        "message",
        &post.message,
        validate::POST_MESSAGE_MAX,
    )?;
    if !state.store.insert_post(&post).await? {
        return Err(AppError::bad_request(
            "api.post.create_post.root_id.app_error",
            "The thread's root post was deleted; the reply was not posted.",
        ));
    }
    if !post.root_id.is_empty() {
        post.reply_count = state
            .store
            .get_post(&post.id)
            .await?
            .map_or(0, |stored| stored.reply_count);
    }
    publish_posted(state, channel, &post, sender_username).await?;
    state.plugins.message_has_been_posted(context, &post);
    Ok(post)
}

/// `CreatePost` from the plugin API: the author must exist and the channel too, but
/// plugins act for the server, so membership is not checked.
pub async fn create_post_for_plugin(state: &AppState, draft: Post) -> AppResult<Post> {
    require_id(&draft.user_id, "user_id")?;
    let author = state
        .store
        .get_user(&draft.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("app.user.missing_account.const", "user"))?;
    let channel = load_channel(state, &draft.channel_id).await?;
    if draft.message.trim().is_empty() {
        return Err(AppError::bad_request(
            "model.post.is_valid.msg.app_error",
            "message must not be empty.",
        ));
    }
    if !draft.root_id.is_empty() {
        let root = state.store.get_post(&draft.root_id).await?;
        if !root
            .is_some_and(|r| r.channel_id == channel.id && r.delete_at == 0 && r.root_id.is_empty())
        {
            return Err(AppError::bad_request(
                "api.post.create_post.root_id.app_error",
                "root_id must be a live top-level post in the same channel.",
            ));
        }
    }
    let now = now_millis();
    let post = Post {
        id: new_id(),
        create_at: now,
        update_at: now,
        edit_at: 0,
        delete_at: 0,
        reply_count: 0,
        channel_id: channel.id.clone(),
        ..draft
    };
    let context = HookContext::for_user(&author.id, "");
    submit_post(state, post, &channel, &author.username, &context).await
}

/// `UpdatePost` from the plugin API: message, props and pinning of a live post.
pub async fn update_post_for_plugin(state: &AppState, changes: Post) -> AppResult<Post> {
    require_id(&changes.id, "post_id")?;
    let old = state
        .store
        .get_post(&changes.id)
        .await?
        .filter(|p| p.delete_at == 0)
        .ok_or_else(|| AppError::not_found("app.post.get.app_error", "post"))?;
    let channel = load_channel(state, &old.channel_id).await?;
    let new = Post {
        message: changes.message,
        props: changes.props,
        is_pinned: changes.is_pinned,
        ..old.clone()
    };
    apply_edit(state, old, new, &channel, &HookContext::default()).await
}

/// `DeletePost` from the plugin API.
pub async fn delete_post_for_plugin(state: &AppState, post_id: &str) -> AppResult<()> {
    require_id(post_id, "post_id")?;
    let post = state
        .store
        .get_post(post_id)
        .await?
        .filter(|p| p.delete_at == 0)
        .ok_or_else(|| AppError::not_found("app.post.get.app_error", "post"))?;
    let channel = load_channel(state, &post.channel_id).await?;
    remove_post(state, post, &channel, "", &HookContext::default()).await
}

/// The `posted` event, with the channel's details and the members mentioned.
async fn publish_posted(
    state: &AppState,
    channel: &Channel,
    post: &Post,
    sender: &str,
) -> AppResult<()> {
    let members = state.store.channel_member_names(&channel.id).await?;
    let mentions = mentioned_users(&post.message, &post.user_id, &members);
    let mut data = serde_json::json!({
        "post": serde_json::to_string(post).map_err(|e| AppError::Internal(e.to_string()))?,
        "channel_type": channel.channel_type,
        "channel_display_name": channel.display_name,
        "channel_name": channel.name,
        "sender_name": format!("@{sender}"),
        "team_id": channel.team_id,
        "set_online": true,
    });
    if !mentions.is_empty() {
        data["mentions"] = serde_json::Value::String(
            serde_json::to_string(&mentions).map_err(|e| AppError::Internal(e.to_string()))?,
        );
    }
    let audience: Vec<String> = members.into_iter().map(|m| m.user_id).collect();
    state.publish_to(
        event(events::POSTED, data, to_channel(&channel.id)),
        &audience,
    );
    Ok(())
}

/// Ids of members named by `@username`, or all other members for `@all`, `@channel`
/// and `@here`.
fn mentioned_users(
    message: &str,
    sender_id: &str,
    members: &[crate::store::MemberName],
) -> Vec<String> {
    let words: Vec<String> = message
        .split(|c: char| c.is_whitespace())
        .filter_map(|word| word.strip_prefix('@'))
        .map(|word| {
            word.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .to_lowercase()
        })
        .filter(|word| !word.is_empty())
        .collect();
    let everyone = words
        .iter()
        .any(|w| matches!(w.as_str(), "all" | "channel" | "here"));
    members
        .iter()
        .filter(|m| m.user_id != sender_id)
        .filter(|m| everyone || words.contains(&m.username))
        .map(|m| m.user_id.clone())
        .collect()
}

/// A live post the caller may read, with its channel.
async fn readable_post(state: &AppState, auth: &Auth, post_id: &str) -> AppResult<(Post, Channel)> {
    require_id(post_id, "post_id")?;
    let post = state
        .store
        .get_post(post_id)
        .await?
        .filter(|p| p.delete_at == 0)
        .ok_or_else(|| AppError::not_found("app.post.get.app_error", "post"))?;
    let channel = load_channel(state, &post.channel_id).await?;
    require_channel_member(state, auth, &channel).await?;
    Ok((post, channel))
}

async fn get_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
) -> AppResult<Json<Post>> {
    let (post, _) = readable_post(&state, &auth, &post_id).await?;
    Ok(Json(post))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct PostChanges {
    id: String,
    message: Option<String>,
    props: Option<serde_json::Map<String, serde_json::Value>>,
    is_pinned: Option<bool>,
}

async fn update_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
    Body(changes): Body<PostChanges>,
) -> AppResult<Json<Post>> {
    if !changes.id.is_empty() && changes.id != post_id {
        return Err(AppError::bad_request(
            "api.context.invalid_body_param.app_error",
            "id in the body does not match the post in the URL.",
        ));
    }
    if changes.message.is_none() {
        return Err(AppError::invalid_param("message"));
    }
    edit_post(&state, &auth, &post_id, changes).await.map(Json)
}

async fn patch_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
    Body(changes): Body<PostChanges>,
) -> AppResult<Json<Post>> {
    edit_post(&state, &auth, &post_id, changes).await.map(Json)
}

async fn edit_post(
    state: &AppState,
    auth: &Auth,
    post_id: &str,
    changes: PostChanges,
) -> AppResult<Post> {
    let (old, channel) = readable_post(state, auth, post_id).await?;
    if old.user_id != auth.user.id && !auth.is_admin() {
        return Err(AppError::forbidden("You can only edit your own posts."));
    }
    let mut post = old.clone();
    if let Some(message) = changes.message {
        if message.trim().is_empty() {
            return Err(AppError::bad_request(
                "model.post.is_valid.msg.app_error",
                "message must not be empty.",
            ));
        }
        validate::max_len(
            "model.post.is_valid.msg.app_error",
            "message",
            &message,
            validate::POST_MESSAGE_MAX,
        )?;
        post.message = message;
    }
    if let Some(props) = changes.props {
        post.props = props;
    }
    if let Some(pinned) = changes.is_pinned {
        post.is_pinned = pinned;
    }
    let context = HookContext::for_user(&auth.user.id, &auth.session.id);
    apply_edit(state, old, post, &channel, &context).await
}

/// Runs `MessageWillBeUpdated`, stores the edit, tells the channel, notifies plugins.
pub async fn apply_edit(
    state: &AppState,
    old: Post,
    new: Post,
    channel: &Channel,
    context: &HookContext,
) -> AppResult<Post> {
    let new = state
        .plugins
        .message_will_be_updated(context, new, &old)
        .await
        .map_err(rejected)?;
    if new.message.trim().is_empty() {
        return Err(AppError::bad_request(
            "model.post.is_valid.msg.app_error",
            "message must not be empty.",
        ));
    }
    validate::max_len(
        "model.post.is_valid.msg.app_error",
        "message",
        &new.message,
        validate::POST_MESSAGE_MAX,
    )?;
    let updated = state
        .store
        .update_post(&new)
        .await?
        .ok_or_else(|| AppError::not_found("app.post.get.app_error", "post"))?;
    let post_json =
        serde_json::to_string(&updated).map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .publish(event(
            events::POST_EDITED,
            serde_json::json!({"post": post_json}),
            to_channel(&channel.id),
        ))
        .await?;
    state
        .plugins
        .message_has_been_updated(context, &updated, &old);
    Ok(updated)
}

async fn delete_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    let (post, channel) = readable_post(&state, &auth, &post_id).await?;
    if post.user_id != auth.user.id && !auth.is_admin() {
        return Err(AppError::forbidden("You can only delete your own posts."));
    }
    let context = HookContext::for_user(&auth.user.id, &auth.session.id);
    remove_post(&state, post, &channel, &auth.user.id, &context).await?;
    Ok(Json(StatusOk::default()))
}

/// Soft-deletes a post (and a root's replies), tells the channel, notifies plugins.
pub async fn remove_post(
    state: &AppState,
    mut post: Post,
    channel: &Channel,
    actor_id: &str,
    context: &HookContext,
) -> AppResult<()> {
    if !state.store.delete_post(&post.id).await? {
        return Err(AppError::not_found("app.post.get.app_error", "post"));
    }
    post.delete_at = now_millis();
    let post_json = serde_json::to_string(&post).map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .publish(event(
            events::POST_DELETED,
            serde_json::json!({"post": post_json, "delete_by": actor_id}),
            to_channel(&channel.id),
        ))
        .await?;
    state.plugins.message_has_been_deleted(context, &post);
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct ChannelPostsQuery {
    page: i64,
    per_page: i64,
    since: i64,
    before: String,
    after: String,
}

impl Default for ChannelPostsQuery {
    fn default() -> Self {
        ChannelPostsQuery {
            page: 0,
            per_page: super::extract::DEFAULT_PER_PAGE,
            since: 0,
            before: String::new(),
            after: String::new(),
        }
    }
}

async fn channel_posts(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Query(query): Query<ChannelPostsQuery>,
) -> AppResult<Json<PostList>> {
    let channel = load_channel(&state, &channel_id).await?;
    require_channel_member(&state, &auth, &channel).await?;
    let (page, per_page) = super::extract::Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .validated()?;
    let pivot = |id: &str, name: &'static str| {
        let state = state.clone();
        let id = id.to_string();
        let channel_id = channel.id.clone();
        async move {
            require_id(&id, name)?;
            state
                .store
                .get_post(&id)
                .await?
                .filter(|p| p.channel_id == channel_id)
                .ok_or_else(|| AppError::not_found("app.post.get.app_error", "post"))
        }
    };
    let window = if query.since > 0 {
        PostWindow::Since(query.since)
    } else if !query.before.is_empty() {
        PostWindow::Before(pivot(&query.before, "before").await?)
    } else if !query.after.is_empty() {
        PostWindow::After(pivot(&query.after, "after").await?)
    } else {
        PostWindow::Page
    };
    Ok(Json(
        state
            .store
            .channel_posts(&channel.id, &window, page, per_page)
            .await?,
    ))
}

/// Most replies one page of `GET /posts/{id}/thread` may ask for (Mattermost's
/// `PerPageMaximum`).
const THREAD_PER_PAGE_MAX: i64 = 200;

/// Mattermost's paging of thread reads (camel case, as its clients send it).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ThreadQuery {
    /// 0: the whole thread.
    per_page: i64,
    from_post: String,
    from_create_at: i64,
    /// `up` (older replies, the default) or `down` (newer ones).
    direction: String,
}

async fn get_thread(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
    Query(query): Query<ThreadQuery>,
) -> AppResult<Json<PostList>> {
    if !(0..=THREAD_PER_PAGE_MAX).contains(&query.per_page) {
        return Err(AppError::invalid_url_param("perPage"));
    }
    let newer = match query.direction.as_str() {
        "" | "up" => false,
        "down" => true,
        _ => return Err(AppError::invalid_url_param("direction")),
    };
    if !query.from_post.is_empty() && query.from_create_at == 0 {
        return Err(AppError::invalid_url_param("fromCreateAt"));
    }
    let (post, _) = readable_post(&state, &auth, &post_id).await?;
    let root_id = if post.root_id.is_empty() {
        &post.id
    } else {
        &post.root_id
    };
    if query.per_page == 0 && query.from_create_at == 0 {
        return Ok(Json(state.store.thread(root_id).await?));
    }
    let per_page = if query.per_page == 0 {
        THREAD_PER_PAGE_MAX
    } else {
        query.per_page
    };
    // A creation time alone starts just past that moment: no reply id sorts before ""
    // or after the highest possible one.
    let cursor = (query.from_create_at > 0).then(|| {
        let id = if !query.from_post.is_empty() {
            query.from_post.clone()
        } else if newer {
            "~".repeat(26)
        } else {
            String::new()
        };
        (query.from_create_at, id)
    });
    Ok(Json(
        state
            .store
            .thread_page(root_id, per_page, cursor, newer)
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemberName;

    fn member(id: &str, name: &str) -> MemberName {
        MemberName {
            user_id: id.into(),
            username: name.into(),
        }
    }

    #[test]
    fn mentions_by_name_and_channel_wide() {
        let members = [
            member("a", "alice"),
            member("b", "bob"),
            member("c", "carol"),
        ];
        assert_eq!(
            mentioned_users("hi @bob, and @Carol!", "a", &members),
            vec!["b", "c"]
        );
        assert_eq!(
            mentioned_users("@alice talking to self", "a", &members),
            Vec::<String>::new()
        );
        assert_eq!(
            mentioned_users("@channel hello", "a", &members),
            vec!["b", "c"]
        );
        assert_eq!(
            mentioned_users("email bob@example.com", "a", &members),
            Vec::<String>::new()
        );
    }
}
