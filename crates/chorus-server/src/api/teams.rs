//! `/teams`: creating teams, reading them, and team membership. A new team gets the
//! channels Mattermost users expect (`town-square`, `off-topic`), and everyone who
//! joins the team joins those channels.

use super::auth::Auth;
use super::extract::{require_id, Body, Paging, Path, Query};
use super::permissions::{
    load_team, require_self_or_admin, require_team_member, require_team_visible, resolve_user_id,
};
use super::{validate, SharedState};
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::events::{event, to_channel, to_user};
use crate::plugins::HookContext;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::{
    events, new_id, now_millis, Channel, Team, TeamMember, CHANNEL_OPEN, TEAM_INVITE, TEAM_OPEN,
};
use serde::Deserialize;

/// Channels every team starts with, and every new team member joins.
pub const DEFAULT_CHANNELS: [(&str, &str); 2] =
    [("town-square", "Town Square"), ("off-topic", "Off-Topic")];

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/teams", post(create_team).get(list_teams))
        .route("/teams/{team_id}", get(get_team))
        .route("/teams/name/{name}", get(team_by_name))
        .route(
            "/teams/{team_id}/members",
            post(add_member).get(list_members),
        )
        .route("/users/{user_id}/teams", get(teams_for_user))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CreateTeam {
    name: String,
    display_name: String,
    #[serde(rename = "type")]
    team_type: String,
    description: String,
    email: String,
    allow_open_invite: Option<bool>,
}

async fn create_team(
    State(state): State<SharedState>,
    auth: Auth,
    Body(request): Body<CreateTeam>,
) -> AppResult<impl IntoResponse> {
    if !state.config.team_settings.enable_team_creation && !auth.is_admin() {
        return Err(AppError::forbidden(
            "Team creation is disabled on this server (TeamSettings.EnableTeamCreation).",
        ));
    }
    let name = request.name.trim().to_string();
    validate::url_name("team", "model.team.is_valid.name.app_error", &name)?;
    validate::display_name("model.team.is_valid.name.app_error", &request.display_name)?;
    validate::max_len(
        "model.team.is_valid.description.app_error",
        "description",
        &request.description,
        255,
    )?;
    let team_type = match request.team_type.as_str() {
        "" | TEAM_OPEN => TEAM_OPEN,
        TEAM_INVITE => TEAM_INVITE,
        _ => {
            return Err(AppError::bad_request(
                "model.team.is_valid.type.app_error",
                "type must be \"O\" (open) or \"I\" (invite only).",
            ))
        }
    };
    let now = now_millis();
    let team = Team {
        id: new_id(),
        create_at: now,
        update_at: now,
        name,
        display_name: request.display_name.trim().to_string(),
        description: request.description,
        email: request.email,
        team_type: team_type.to_string(),
        allow_open_invite: request.allow_open_invite.unwrap_or(team_type == TEAM_OPEN),
        invite_id: new_id(),
        ..Team::default()
    };
    let channels: Vec<Channel> = DEFAULT_CHANNELS
        .iter()
        .map(|(name, display_name)| Channel {
            id: new_id(),
            create_at: now,
            update_at: now,
            team_id: team.id.clone(),
            channel_type: CHANNEL_OPEN.into(),
            name: name.to_string(),
            display_name: display_name.to_string(),
            creator_id: auth.user.id.clone(),
            ..Channel::default()
        })
        .collect();
    state
        .store
        .create_team(&team, auth.user_id(), &channels)
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                AppError::bad_request(
                    "store.sql_team.save_team.existing.app_error",
                    "A team with that name already exists.",
                )
            } else {
                err.into()
            }
        })?;
    Ok((StatusCode::CREATED, Json(team)))
}

async fn get_team(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
) -> AppResult<Json<Team>> {
    let team = load_team(&state, &team_id).await?;
    require_team_visible(&state, &auth, &team).await?;
    Ok(Json(sanitize_team(&state, &auth, team).await?))
}

/// Hides what only those who manage a team may see (its invite id, which lets anyone
/// join, and its contact email), as Mattermost's `Team.Sanitize` does for users
/// without `manage_team`.
async fn sanitize_team(state: &AppState, auth: &Auth, mut team: Team) -> AppResult<Team> {
    if auth.is_admin() {
        return Ok(team);
    }
    let manages = state
        .store
        .get_team_member(&team.id, auth.user_id())
        .await?
        .is_some_and(|m| m.scheme_admin);
    if !manages {
        team.invite_id.clear();
        team.email.clear();
    }
    Ok(team)
}

async fn sanitize_teams(state: &AppState, auth: &Auth, teams: Vec<Team>) -> AppResult<Vec<Team>> {
    let mut sanitized = Vec::with_capacity(teams.len());
    for team in teams {
        sanitized.push(sanitize_team(state, auth, team).await?);
    }
    Ok(sanitized)
}

async fn team_by_name(
    State(state): State<SharedState>,
    auth: Auth,
    Path(name): Path<String>,
) -> AppResult<Json<Team>> {
    let team = state
        .store
        .get_team_by_name(&name)
        .await?
        .ok_or_else(|| AppError::not_found("app.team.get_by_name.missing.app_error", "team"))?;
    require_team_visible(&state, &auth, &team).await?;
    Ok(Json(sanitize_team(&state, &auth, team).await?))
}

async fn teams_for_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<Vec<Team>>> {
    let user_id = resolve_user_id(&user_id, &auth);
    require_id(&user_id, "user_id")?;
    require_self_or_admin(&auth, &user_id)?;
    let teams = state.store.teams_for_user(&user_id).await?;
    Ok(Json(sanitize_teams(&state, &auth, teams).await?))
}

/// `GET /teams`: every team for admins; for others the open teams (which they may
/// join) and the teams they belong to.
async fn list_teams(
    State(state): State<SharedState>,
    auth: Auth,
    Query(paging): Query<Paging>,
) -> AppResult<Json<Vec<Team>>> {
    let (page, per_page) = paging.validated()?;
    let teams = state
        .store
        .visible_teams(auth.user_id(), auth.is_admin(), page * per_page, per_page)
        .await?;
    Ok(Json(sanitize_teams(&state, &auth, teams).await?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct AddTeamMember {
    team_id: String,
    user_id: String,
}

async fn add_member(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
    Body(request): Body<AddTeamMember>,
) -> AppResult<impl IntoResponse> {
    let team = load_team(&state, &team_id).await?;
    if !request.team_id.is_empty() && request.team_id != team.id {
        return Err(AppError::bad_request(
            "api.context.invalid_body_param.app_error",
            "team_id in the body does not match the team in the URL.",
        ));
    }
    let target = super::users::require_user(&state, &request.user_id).await?;
    let is_team_admin = state
        .store
        .get_team_member(&team.id, auth.user_id())
        .await?
        .is_some_and(|m| m.scheme_admin);
    let joining_open_team = target.id == auth.user.id && team.allow_open_invite;
    if !(auth.is_admin() || is_team_admin || joining_open_team) {
        return Err(AppError::forbidden(
            "You do not have the appropriate permissions to add members to this team.",
        ));
    }
    let default_names: Vec<&str> = DEFAULT_CHANNELS.iter().map(|(name, _)| *name).collect();
    let (member, is_new) = state
        .store
        .add_team_member(&team.id, &target.id, &default_names)
        .await?;
    if is_new {
        state.plugins.user_has_joined_team(
            &HookContext::for_user(&auth.user.id, &auth.session.id),
            &team.id,
            &target.id,
            &auth.user.id,
        );
        state
            .publish(event(
                events::ADDED_TO_TEAM,
                serde_json::json!({"team_id": team.id, "user_id": target.id}),
                to_user(&target.id),
            ))
            .await?;
        for name in default_names {
            if let Some(channel) = state.store.get_channel_by_name(&team.id, name).await? {
                state
                    .publish(event(
                        events::USER_ADDED,
                        serde_json::json!({"user_id": target.id, "team_id": team.id}),
                        to_channel(&channel.id),
                    ))
                    .await?;
            }
        }
    }
    Ok((StatusCode::CREATED, Json(member)))
}

async fn list_members(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
    Query(paging): Query<Paging>,
) -> AppResult<Json<Vec<TeamMember>>> {
    let team = load_team(&state, &team_id).await?;
    require_team_member(&state, &auth, &team.id).await?;
    let (page, per_page) = paging.validated()?;
    Ok(Json(
        state.store.team_members(&team.id, page, per_page).await?,
    ))
}
