//! `/posts` and a channel's post history over REST, with pins, saved posts and
//! search: parses requests, calls `app::posts`, `app::pins` and `app::search`, and
//! shapes Mattermost's replies.

use super::extract::{Body, Path, Query, ScopedPaging};
use super::SharedState;
use crate::app::permissions::resolve_user_id;
use crate::app::pins::FlaggedQuery;
use crate::app::posts::{HistoryRead, PostChanges, ThreadRead, THREAD_PER_PAGE_MAX};
use crate::app::search::PostSearch;
use crate::app::Auth;
use crate::error::{AppError, AppResult, Code};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chorus_model::{ChannelStats, ChannelUnreadAt, Post, PostList, PostSearchResults, StatusOk};
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
        .route("/posts/{post_id}/pin", post(pin_post))
        .route("/posts/{post_id}/unpin", post(unpin_post))
        .route("/channels/{channel_id}/posts", get(channel_posts))
        .route("/channels/{channel_id}/pinned", get(pinned_posts))
        .route("/channels/{channel_id}/stats", get(channel_stats))
        .route("/users/{user_id}/posts/flagged", get(flagged_posts))
        .route(
            "/users/{user_id}/posts/{post_id}/set_unread",
            post(set_unread),
        )
        .route("/posts/search", post(search_all_posts))
        .route("/teams/{team_id}/posts/search", post(search_team_posts))
}

/// `POST /users/{id}/posts/{post_id}/set_unread`; the body's
/// `collapsed_threads_supported` changes nothing, as Chorus has no collapsed threads
/// yet.
async fn set_unread(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, post_id)): Path<(String, String)>,
) -> AppResult<Json<ChannelUnreadAt>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .mark_unread_from(auth.actor(), &user_id, &post_id)
        .await
        .map(Json)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SearchBody {
    terms: String,
    is_or_search: bool,
    time_zone_offset: i64,
    include_deleted_channels: bool,
    page: i64,
    per_page: i64,
}

impl From<SearchBody> for PostSearch {
    fn from(body: SearchBody) -> PostSearch {
        PostSearch {
            terms: body.terms,
            is_or_search: body.is_or_search,
            time_zone_offset: body.time_zone_offset,
            include_deleted_channels: body.include_deleted_channels,
            page: body.page,
            per_page: body.per_page,
        }
    }
}

async fn search_team_posts(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
    Body(body): Body<SearchBody>,
) -> AppResult<Json<PostSearchResults>> {
    state
        .search_posts(auth.actor(), Some(&team_id), body.into())
        .await
        .map(Json)
}

async fn search_all_posts(
    State(state): State<SharedState>,
    auth: Auth,
    Body(body): Body<SearchBody>,
) -> AppResult<Json<PostSearchResults>> {
    state
        .search_posts(auth.actor(), None, body.into())
        .await
        .map(Json)
}

async fn pin_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    state.set_post_pinned(auth.actor(), &post_id, true).await?;
    Ok(Json(StatusOk::default()))
}

async fn unpin_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    state.set_post_pinned(auth.actor(), &post_id, false).await?;
    Ok(Json(StatusOk::default()))
}

async fn pinned_posts(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> AppResult<Json<PostList>> {
    state
        .pinned_posts(auth.actor(), &channel_id)
        .await
        .map(Json)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatsQuery {
    exclude_files_count: bool,
}

async fn channel_stats(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Query(query): Query<StatsQuery>,
) -> AppResult<Json<ChannelStats>> {
    state
        .channel_stats(auth.actor(), &channel_id, !query.exclude_files_count)
        .await
        .map(Json)
}

async fn flagged_posts(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Query(params): Query<ScopedPaging>,
) -> AppResult<Json<PostList>> {
    let (page, per_page) = params.paging().validated()?;
    let user_id = resolve_user_id(&user_id, auth.actor());
    let query = FlaggedQuery {
        team_id: params.team_id,
        channel_id: params.channel_id,
        page,
        per_page,
    };
    state
        .flagged_posts(auth.actor(), &user_id, query)
        .await
        .map(Json)
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

async fn create_post(
    State(state): State<SharedState>,
    auth: Auth,
    Body(request): Body<CreatePost>,
) -> AppResult<impl IntoResponse> {
    let draft = Post {
        channel_id: request.channel_id,
        message: request.message,
        root_id: request.root_id,
        post_type: request.post_type,
        props: request.props,
        pending_post_id: request.pending_post_id,
        file_ids: request.file_ids,
        ..Post::default()
    };
    let post = state.create_post(auth.actor(), draft).await?;
    Ok((StatusCode::CREATED, Json(post)))
}

async fn get_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
) -> AppResult<Json<Post>> {
    state.get_post(auth.actor(), &post_id).await.map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct PostPatch {
    id: String,
    message: Option<String>,
    props: Option<serde_json::Map<String, serde_json::Value>>,
    is_pinned: Option<bool>,
    file_ids: Option<Vec<String>>,
}

impl From<PostPatch> for PostChanges {
    fn from(patch: PostPatch) -> PostChanges {
        PostChanges {
            message: patch.message,
            props: patch.props,
            is_pinned: patch.is_pinned,
            file_ids: patch.file_ids,
        }
    }
}

async fn update_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
    Body(patch): Body<PostPatch>,
) -> AppResult<Json<Post>> {
    if !patch.id.is_empty() && patch.id != post_id {
        return Err(
            Code::InvalidBody.with_message("id in the body does not match the post in the URL.")
        );
    }
    if patch.message.is_none() {
        return Err(AppError::invalid_param("message"));
    }
    state
        .edit_post(auth.actor(), &post_id, patch.into())
        .await
        .map(Json)
}

async fn patch_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
    Body(patch): Body<PostPatch>,
) -> AppResult<Json<Post>> {
    state
        .edit_post(auth.actor(), &post_id, patch.into())
        .await
        .map(Json)
}

async fn delete_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    state.delete_post(auth.actor(), &post_id).await?;
    Ok(Json(StatusOk::default()))
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
    let (page, per_page) = super::extract::Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .validated()?;
    let read = if query.since > 0 {
        HistoryRead::Since(query.since)
    } else if !query.before.is_empty() {
        HistoryRead::Before(query.before)
    } else if !query.after.is_empty() {
        HistoryRead::After(query.after)
    } else {
        HistoryRead::Page
    };
    state
        .channel_history(auth.actor(), &channel_id, read, page, per_page)
        .await
        .map(Json)
}

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

impl ThreadQuery {
    fn read(self) -> AppResult<ThreadRead> {
        if !(0..=THREAD_PER_PAGE_MAX).contains(&self.per_page) {
            return Err(AppError::invalid_url_param("perPage"));
        }
        let newer = match self.direction.as_str() {
            "" | "up" => false,
            "down" => true,
            _ => return Err(AppError::invalid_url_param("direction")),
        };
        if !self.from_post.is_empty() && self.from_create_at == 0 {
            return Err(AppError::invalid_url_param("fromCreateAt"));
        }
        if self.per_page == 0 && self.from_create_at == 0 {
            return Ok(ThreadRead::Whole);
        }
        let per_page = if self.per_page == 0 {
            THREAD_PER_PAGE_MAX
        } else {
            self.per_page
        };
        // A creation time alone starts just past that moment: no reply id sorts before ""
        // or after the highest possible one.
        let cursor = (self.from_create_at > 0).then(|| {
            let id = if !self.from_post.is_empty() {
                self.from_post.clone()
            } else if newer {
                "~".repeat(26)
            } else {
                String::new()
            };
            (self.from_create_at, id)
        });
        Ok(ThreadRead::Page {
            per_page,
            cursor,
            newer,
        })
    }
}

async fn get_thread(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
    Query(query): Query<ThreadQuery>,
) -> AppResult<Json<PostList>> {
    let read = query.read()?;
    state.thread(auth.actor(), &post_id, read).await.map(Json)
}
