//! `/channels` over REST: open and private channels, direct messages, and channel
//! membership, and finding channels by name (the rules are in `app::channels` and
//! `app::directory`).

use super::extract::{Body, Paging, Path, Query};
use super::SharedState;
use crate::app::channels::{ChannelDraft, ChannelPatch};
use crate::app::permissions::resolve_user_id;
use crate::app::Auth;
use crate::error::{AppResult, Code};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chorus_model::{Channel, ChannelMember, ChannelUnread, OrderedSidebarCategories, StatusOk};
use serde::Deserialize;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/channels", post(create_channel))
        .route("/channels/direct", post(create_direct))
        .route(
            "/channels/{channel_id}",
            get(get_channel).put(update_channel),
        )
        .route("/channels/{channel_id}/patch", put(patch_channel))
        .route(
            "/channels/{channel_id}/members",
            post(add_member).get(list_members),
        )
        .route(
            "/channels/{channel_id}/members/{user_id}",
            get(get_member).delete(remove_member),
        )
        .route(
            "/channels/{channel_id}/members/{user_id}/notify_props",
            put(update_notify_props),
        )
        .route(
            "/teams/{team_id}/channels/name/{name}",
            get(channel_by_name),
        )
        .route(
            "/users/{user_id}/teams/{team_id}/channels",
            get(channels_for_user),
        )
        .route(
            "/users/{user_id}/teams/{team_id}/channels/categories",
            get(sidebar_categories),
        )
        .route("/teams/{team_id}/channels", get(open_channels))
        .route(
            "/teams/{team_id}/channels/autocomplete",
            get(autocomplete_channels),
        )
        .route("/teams/{team_id}/channels/search", post(search_channels))
        .route(
            "/users/{user_id}/teams/{team_id}/channels/members",
            get(memberships_for_user),
        )
        .route("/channels/members/{user_id}/view", post(view_channel))
        .route(
            "/users/{user_id}/channels/{channel_id}/unread",
            get(channel_unread),
        )
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CreateChannel {
    team_id: String,
    name: String,
    display_name: String,
    #[serde(rename = "type")]
    channel_type: String,
    header: String,
    purpose: String,
}

async fn create_channel(
    State(state): State<SharedState>,
    auth: Auth,
    Body(request): Body<CreateChannel>,
) -> AppResult<impl IntoResponse> {
    let draft = ChannelDraft {
        team_id: request.team_id,
        name: request.name,
        display_name: request.display_name,
        channel_type: request.channel_type,
        header: request.header,
        purpose: request.purpose,
        creator_id: String::new(),
    };
    let channel = state.create_channel(auth.actor(), draft).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

async fn create_direct(
    State(state): State<SharedState>,
    auth: Auth,
    Body(user_ids): Body<Vec<String>>,
) -> AppResult<impl IntoResponse> {
    let [first, second] = user_ids.as_slice() else {
        return Err(
            Code::InvalidBody.with_message("The body must be a list of exactly two user ids.")
        );
    };
    let channel = state
        .open_direct_channel(auth.actor(), first, second)
        .await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

async fn get_channel(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> AppResult<Json<Channel>> {
    state.get_channel(auth.actor(), &channel_id).await.map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct UpdateChannel {
    id: String,
    name: String,
    display_name: String,
    #[serde(rename = "type")]
    channel_type: String,
    header: String,
    purpose: String,
}

/// `PUT /channels/{id}`: the whole channel; its header and purpose are replaced, its
/// name and display name only when given, as in Mattermost.
async fn update_channel(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Body(request): Body<UpdateChannel>,
) -> AppResult<Json<Channel>> {
    if request.id != channel_id {
        return Err(Code::InvalidParam
            .with_message("Invalid or missing channel_id: the body's id must be the URL's."));
    }
    let patch = ChannelPatch {
        name: Some(request.name).filter(|n| !n.is_empty()),
        display_name: Some(request.display_name).filter(|n| !n.is_empty()),
        header: Some(request.header),
        purpose: Some(request.purpose),
        channel_type: Some(request.channel_type),
    };
    state
        .update_channel(auth.actor(), &channel_id, patch)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct PatchChannel {
    name: Option<String>,
    display_name: Option<String>,
    header: Option<String>,
    purpose: Option<String>,
}

/// `PUT /channels/{id}/patch`: only the fields given change.
async fn patch_channel(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Body(request): Body<PatchChannel>,
) -> AppResult<Json<Channel>> {
    let patch = ChannelPatch {
        name: request.name,
        display_name: request.display_name,
        header: request.header,
        purpose: request.purpose,
        channel_type: None,
    };
    state
        .update_channel(auth.actor(), &channel_id, patch)
        .await
        .map(Json)
}

async fn channel_by_name(
    State(state): State<SharedState>,
    auth: Auth,
    Path((team_id, name)): Path<(String, String)>,
) -> AppResult<Json<Channel>> {
    state
        .channel_by_name(auth.actor(), &team_id, &name)
        .await
        .map(Json)
}

async fn channels_for_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, team_id)): Path<(String, String)>,
) -> AppResult<Json<Vec<Channel>>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .channels_for_user(auth.actor(), &user_id, &team_id)
        .await
        .map(Json)
}

/// `GET /teams/{team_id}/channels`: the team's open channels, to browse and join.
async fn open_channels(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
    Query(paging): Query<Paging>,
) -> AppResult<Json<Vec<Channel>>> {
    crate::app::validate::require_id(&team_id, "team_id")?;
    let (page, per_page) = paging.validated()?;
    state
        .open_channels(auth.actor(), &team_id, page, per_page)
        .await
        .map(Json)
}

/// `GET /users/{user_id}/teams/{team_id}/channels/members`: read positions.
async fn memberships_for_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, team_id)): Path<(String, String)>,
) -> AppResult<Json<Vec<ChannelMember>>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .channel_memberships(auth.actor(), &user_id, &team_id)
        .await
        .map(Json)
}

/// `PUT /channels/{channel_id}/members/{user_id}/notify_props`: a map of the settings
/// to change.
async fn update_notify_props(
    State(state): State<SharedState>,
    auth: Auth,
    Path((channel_id, user_id)): Path<(String, String)>,
    Body(props): Body<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .update_channel_notify_props(auth.actor(), &channel_id, &user_id, props)
        .await?;
    Ok(Json(StatusOk::default()))
}

/// `GET /users/{user_id}/channels/{channel_id}/unread`.
async fn channel_unread(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, channel_id)): Path<(String, String)>,
) -> AppResult<Json<ChannelUnread>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .channel_unread(auth.actor(), &user_id, &channel_id)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ViewChannel {
    channel_id: String,
    prev_channel_id: String,
}

/// `POST /channels/members/{user_id}/view`: marks a channel read, and the channel the
/// user comes from (`prev_channel_id`, when they are still a member), as Mattermost's
/// clients ask when switching channels.
async fn view_channel(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(request): Body<ViewChannel>,
) -> AppResult<Json<serde_json::Value>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    let mut times = serde_json::Map::new();
    let viewed_at = state
        .view_channel(auth.actor(), &user_id, &request.channel_id)
        .await?;
    times.insert(request.channel_id.clone(), viewed_at.into());
    if !request.prev_channel_id.is_empty() && request.prev_channel_id != request.channel_id {
        match state
            .view_channel(auth.actor(), &user_id, &request.prev_channel_id)
            .await
        {
            Ok(viewed_at) => {
                times.insert(request.prev_channel_id, viewed_at.into());
            }
            // A channel the user has left since is simply not marked.
            Err(err) if err.code() == Code::Forbidden || err.code() == Code::InvalidParam => {}
            Err(err) => return Err(err),
        }
    }
    Ok(Json(serde_json::json!({
        "status": "OK",
        "last_viewed_at_times": times,
    })))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct AddChannelMember {
    user_id: String,
}

async fn add_member(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
    Body(request): Body<AddChannelMember>,
) -> AppResult<impl IntoResponse> {
    let member = state
        .add_channel_member(auth.actor(), &channel_id, &request.user_id)
        .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

async fn list_members(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> AppResult<Json<Vec<ChannelMember>>> {
    state
        .channel_members(auth.actor(), &channel_id)
        .await
        .map(Json)
}

async fn get_member(
    State(state): State<SharedState>,
    auth: Auth,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> AppResult<Json<ChannelMember>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .channel_member(auth.actor(), &channel_id, &user_id)
        .await
        .map(Json)
}

async fn remove_member(
    State(state): State<SharedState>,
    auth: Auth,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .remove_channel_member(auth.actor(), &channel_id, &user_id)
        .await?;
    Ok(Json(StatusOk::default()))
}

/// `GET /users/{user_id}/teams/{team_id}/channels/categories`: the sidebar's categories.
async fn sidebar_categories(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, team_id)): Path<(String, String)>,
) -> AppResult<Json<OrderedSidebarCategories>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .sidebar_categories(auth.actor(), &user_id, &team_id)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct AutocompleteQuery {
    name: String,
}

async fn autocomplete_channels(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
    Query(query): Query<AutocompleteQuery>,
) -> AppResult<Json<Vec<Channel>>> {
    state
        .autocomplete_channels(auth.actor(), &team_id, &query.name)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ChannelSearchBody {
    term: String,
}

async fn search_channels(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
    Body(body): Body<ChannelSearchBody>,
) -> AppResult<Json<Vec<Channel>>> {
    state
        .search_channels(auth.actor(), &team_id, &body.term)
        .await
        .map(Json)
}
