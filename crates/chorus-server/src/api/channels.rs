//! `/channels`: open and private channels, direct messages, and channel membership.

use super::auth::Auth;
use super::extract::{require_id, Body, Paging, Path, Query};
use super::permissions::{
    is_team_member, load_channel, require_channel_member, require_channel_visible,
    require_self_or_admin, require_team_member, resolve_user_id,
};
use super::{validate, SharedState};
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::events::{event, to_channel, to_team, to_user};
use crate::plugins::HookContext;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chorus_model::{
    events, new_id, now_millis, Channel, ChannelMember, StatusOk, CHANNEL_DIRECT, CHANNEL_OPEN,
    CHANNEL_PRIVATE,
};
use serde::Deserialize;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/channels", post(create_channel))
        .route("/channels/direct", post(create_direct))
        .route("/channels/{channel_id}", get(get_channel))
        .route(
            "/channels/{channel_id}/members",
            post(add_member).get(list_members),
        )
        .route(
            "/channels/{channel_id}/members/{user_id}",
            delete(remove_member),
        )
        .route(
            "/teams/{team_id}/channels/name/{name}",
            get(channel_by_name),
        )
        .route(
            "/users/{user_id}/teams/{team_id}/channels",
            get(channels_for_user),
        )
        .route("/teams/{team_id}/channels", get(open_channels))
        .route(
            "/users/{user_id}/teams/{team_id}/channels/members",
            get(memberships_for_user),
        )
        .route("/channels/members/{user_id}/view", post(view_channel))
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
    require_id(&request.team_id, "team_id")?;
    let team = super::permissions::load_team(&state, &request.team_id).await?;
    require_team_member(&state, &auth, &team.id).await?;
    let name = request.name.trim().to_string();
    validate::url_name("channel", "model.channel.is_valid.name.app_error", &name)?;
    validate::display_name(
        "model.channel.is_valid.display_name.app_error",
        &request.display_name,
    )?;
    validate::max_len(
        "model.channel.is_valid.header.app_error",
        "header",
        &request.header,
        validate::HEADER_MAX,
    )?;
    validate::max_len(
        "model.channel.is_valid.purpose.app_error",
        "purpose",
        &request.purpose,
        validate::PURPOSE_MAX,
    )?;
    let channel_type = match request.channel_type.as_str() {
        CHANNEL_OPEN | CHANNEL_PRIVATE => request.channel_type.clone(),
        _ => {
            return Err(AppError::bad_request(
                "model.channel.is_valid.type.app_error",
                "type must be \"O\" (open) or \"P\" (private); use /channels/direct for direct messages.",
            ))
        }
    };
    let now = now_millis();
    let channel = Channel {
        id: new_id(),
        create_at: now,
        update_at: now,
        team_id: team.id.clone(),
        channel_type,
        name,
        display_name: request.display_name.trim().to_string(),
        header: request.header,
        purpose: request.purpose,
        creator_id: auth.user.id.clone(),
        ..Channel::default()
    };
    state
        .store
        .create_channel(&channel, &[auth.user_id()])
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                AppError::bad_request(
                    "store.sql_channel.save_channel.exists.app_error",
                    "A channel with that name already exists on the same team.",
                )
            } else {
                err.into()
            }
        })?;
    let audience = if channel.channel_type == CHANNEL_OPEN {
        to_team(&team.id)
    } else {
        to_user(auth.user_id())
    };
    state
        .publish(event(
            events::CHANNEL_CREATED,
            serde_json::json!({"channel_id": channel.id, "team_id": team.id}),
            audience,
        ))
        .await?;
    state.plugins.channel_has_been_created(
        &HookContext::for_user(&auth.user.id, &auth.session.id),
        &channel,
    );
    Ok((StatusCode::CREATED, Json(channel)))
}

async fn create_direct(
    State(state): State<SharedState>,
    auth: Auth,
    Body(user_ids): Body<Vec<String>>,
) -> AppResult<impl IntoResponse> {
    let [first, second] = user_ids.as_slice() else {
        return Err(AppError::bad_request(
            "api.context.invalid_body_param.app_error",
            "The body must be a list of exactly two user ids.",
        ));
    };
    require_id(first, "user_ids")?;
    require_id(second, "user_ids")?;
    if !auth.is_admin() && first != auth.user_id() && second != auth.user_id() {
        return Err(AppError::forbidden(
            "You can only open direct channels that include yourself.",
        ));
    }
    let channel = direct_channel(&state, first, second, auth.user_id()).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// The direct channel of two users, created (with both as members) on first use.
pub async fn direct_channel(
    state: &AppState,
    first: &str,
    second: &str,
    creator_id: &str,
) -> AppResult<Channel> {
    for id in [first, second] {
        super::users::require_user(state, id).await?;
    }
    let name = Channel::direct_name(first, second);
    if let Some(existing) = state.store.get_channel_by_name("", &name).await? {
        return Ok(existing);
    }
    let now = now_millis();
    let channel = Channel {
        id: new_id(),
        create_at: now,
        update_at: now,
        channel_type: CHANNEL_DIRECT.into(),
        name: name.clone(),
        creator_id: creator_id.to_string(),
        ..Channel::default()
    };
    match state.store.create_channel(&channel, &[first, second]).await {
        Ok(()) => {}
        Err(err) if is_unique_violation(&err) => {
            // Opened concurrently by the other person: theirs is ours.
            return state
                .store
                .get_channel_by_name("", &name)
                .await?
                .ok_or(AppError::Store(err));
        }
        Err(err) => return Err(err.into()),
    }
    for (member, teammate) in [(first, second), (second, first)] {
        state.publish_to(
            event(
                events::DIRECT_ADDED,
                serde_json::json!({"creator_id": creator_id, "teammate_id": teammate, "channel_id": channel.id}),
                to_user(member),
            ),
            &[member.to_string()],
        );
        if first == second {
            break;
        }
    }
    state
        .plugins
        .channel_has_been_created(&HookContext::for_user(creator_id, ""), &channel);
    Ok(channel)
}

async fn get_channel(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> AppResult<Json<Channel>> {
    let channel = load_channel(&state, &channel_id).await?;
    require_channel_visible(&state, &auth, &channel).await?;
    Ok(Json(channel))
}

async fn channel_by_name(
    State(state): State<SharedState>,
    auth: Auth,
    Path((team_id, name)): Path<(String, String)>,
) -> AppResult<Json<Channel>> {
    require_id(&team_id, "team_id")?;
    let channel = state
        .store
        .get_channel_by_name(&team_id, &name)
        .await?
        .filter(|c| c.delete_at == 0)
        .ok_or_else(|| {
            AppError::not_found("app.channel.get_by_name.missing.app_error", "channel")
        })?;
    require_channel_visible(&state, &auth, &channel).await?;
    Ok(Json(channel))
}

async fn channels_for_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, team_id)): Path<(String, String)>,
) -> AppResult<Json<Vec<Channel>>> {
    let user_id = resolve_user_id(&user_id, &auth);
    require_id(&user_id, "user_id")?;
    require_id(&team_id, "team_id")?;
    require_self_or_admin(&auth, &user_id)?;
    Ok(Json(
        state.store.channels_for_user(&user_id, &team_id).await?,
    ))
}

/// `GET /teams/{team_id}/channels`: the team's open channels, to browse and join.
async fn open_channels(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
    Query(paging): Query<Paging>,
) -> AppResult<Json<Vec<Channel>>> {
    require_id(&team_id, "team_id")?;
    require_team_member(&state, &auth, &team_id).await?;
    let (page, per_page) = paging.validated()?;
    Ok(Json(
        state
            .store
            .open_channels(&team_id, page * per_page, per_page)
            .await?,
    ))
}

/// `GET /users/{user_id}/teams/{team_id}/channels/members`: read positions
/// (`msg_count`, `last_viewed_at`) that clients compare with each channel's
/// `total_msg_count` to show unread channels.
async fn memberships_for_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, team_id)): Path<(String, String)>,
) -> AppResult<Json<Vec<ChannelMember>>> {
    let user_id = resolve_user_id(&user_id, &auth);
    require_id(&user_id, "user_id")?;
    require_id(&team_id, "team_id")?;
    require_self_or_admin(&auth, &user_id)?;
    Ok(Json(
        state.store.channel_memberships(&user_id, &team_id).await?,
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ViewChannel {
    channel_id: String,
}

/// `POST /channels/members/{user_id}/view`: marks a channel read. The user's other
/// sessions learn it from a `channel_viewed` event.
async fn view_channel(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(request): Body<ViewChannel>,
) -> AppResult<Json<serde_json::Value>> {
    let user_id = resolve_user_id(&user_id, &auth);
    require_id(&user_id, "user_id")?;
    require_self_or_admin(&auth, &user_id)?;
    require_id(&request.channel_id, "channel_id")?;
    let Some(viewed_at) = state
        .store
        .view_channel(&request.channel_id, &user_id)
        .await?
    else {
        return Err(AppError::forbidden(
            "You do not have the appropriate permissions: you are not a member of this channel.",
        ));
    };
    state.publish_to(
        event(
            events::CHANNEL_VIEWED,
            serde_json::json!({"channel_id": request.channel_id}),
            to_user(&user_id),
        ),
        std::slice::from_ref(&user_id),
    );
    Ok(Json(serde_json::json!({
        "status": "OK",
        "last_viewed_at_times": {request.channel_id: viewed_at},
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
    let channel = load_channel(&state, &channel_id).await?;
    if channel.channel_type == CHANNEL_DIRECT {
        return Err(AppError::bad_request(
            "api.channel.add_user_to_channel.type.app_error",
            "Members cannot be added to a direct message channel.",
        ));
    }
    let target = super::users::require_user(&state, &request.user_id).await?;
    let joining_open = target.id == auth.user.id
        && channel.channel_type == CHANNEL_OPEN
        && is_team_member(&state, auth.user_id(), &channel.team_id).await?;
    if !joining_open {
        require_channel_member(&state, &auth, &channel).await?;
    }
    if !is_team_member(&state, &target.id, &channel.team_id).await? {
        return Err(AppError::bad_request(
            "api.channel.add_user.to.channel.failed.app_error",
            "The user is not a member of this channel's team; add them to the team first.",
        ));
    }
    let context = HookContext::for_user(&auth.user.id, &auth.session.id);
    let member = join_channel(&state, &channel, &target.id, &auth.user.id, &context).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// Adds a member (a no-op for an existing one); a new member is announced to the
/// channel and to plugins.
async fn join_channel(
    state: &AppState,
    channel: &Channel,
    user_id: &str,
    actor_id: &str,
    context: &HookContext,
) -> AppResult<ChannelMember> {
    let (member, is_new) = state.store.add_channel_member(&channel.id, user_id).await?;
    if is_new {
        state
            .publish(event(
                events::USER_ADDED,
                serde_json::json!({"user_id": user_id, "team_id": channel.team_id}),
                to_channel(&channel.id),
            ))
            .await?;
        let actor = if actor_id == user_id { "" } else { actor_id };
        state
            .plugins
            .user_has_joined_channel(context, &member, actor);
    }
    Ok(member)
}

/// `AddChannelMember` from the plugin API: the user must belong to the channel's team.
pub async fn add_member_for_plugin(
    state: &AppState,
    channel_id: &str,
    user_id: &str,
) -> AppResult<ChannelMember> {
    let channel = load_channel(state, channel_id).await?;
    if channel.channel_type == CHANNEL_DIRECT {
        return Err(AppError::bad_request(
            "api.channel.add_user_to_channel.type.app_error",
            "Members cannot be added to a direct message channel.",
        ));
    }
    let user = super::users::require_user(state, user_id).await?;
    if !is_team_member(state, &user.id, &channel.team_id).await? {
        return Err(AppError::bad_request(
            "api.channel.add_user.to.channel.failed.app_error",
            "The user is not a member of this channel's team; add them to the team first.",
        ));
    }
    join_channel(state, &channel, &user.id, "", &HookContext::default()).await
}

async fn list_members(
    State(state): State<SharedState>,
    auth: Auth,
    Path(channel_id): Path<String>,
) -> AppResult<Json<Vec<chorus_model::ChannelMember>>> {
    let channel = load_channel(&state, &channel_id).await?;
    require_channel_member(&state, &auth, &channel).await?;
    Ok(Json(state.store.channel_members(&channel.id).await?))
}

async fn remove_member(
    State(state): State<SharedState>,
    auth: Auth,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> AppResult<Json<StatusOk>> {
    let channel = load_channel(&state, &channel_id).await?;
    let user_id = resolve_user_id(&user_id, &auth);
    require_id(&user_id, "user_id")?;
    if channel.channel_type == CHANNEL_DIRECT {
        return Err(AppError::bad_request(
            "api.channel.remove_user_from_channel.direct.app_error",
            "Nobody can be removed from a direct message channel.",
        ));
    }
    // Everyone in a team is in its default channel, as in Mattermost: nobody leaves it
    // and nobody, admins included, removes anyone from it.
    if channel.name == super::teams::DEFAULT_CHANNELS[0].0 {
        return Err(AppError::bad_request(
            "api.channel.remove.default.app_error",
            format!(
                "Nobody can leave or be removed from the default channel {}.",
                channel.name
            ),
        ));
    }
    if user_id != auth.user.id {
        require_channel_member(&state, &auth, &channel).await?;
    }
    let member = state
        .store
        .get_channel_member(&channel.id, &user_id)
        .await?;
    if !state
        .store
        .remove_channel_member(&channel.id, &user_id)
        .await?
    {
        return Err(AppError::not_found(
            "app.channel.get_member.missing.app_error",
            "channel member",
        ));
    }
    state
        .publish(event(
            events::USER_REMOVED,
            serde_json::json!({"user_id": user_id, "remover_id": auth.user.id}),
            to_channel(&channel.id),
        ))
        .await?;
    state
        .publish(event(
            events::USER_REMOVED,
            serde_json::json!({"channel_id": channel.id, "remover_id": auth.user.id}),
            to_user(&user_id),
        ))
        .await?;
    if let Some(member) = member {
        let actor = if auth.user.id == user_id {
            ""
        } else {
            auth.user.id.as_str()
        };
        state.plugins.user_has_left_channel(
            &HookContext::for_user(&auth.user.id, &auth.session.id),
            &member,
            actor,
        );
    }
    Ok(Json(StatusOk::default()))
}
