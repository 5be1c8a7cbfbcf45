//! `/teams` over REST: creating teams, reading them, and team membership (the rules
//! are in `app::teams`).

use super::extract::{Body, Paging, Path, Query};
use super::SharedState;
use crate::app::permissions::resolve_user_id;
use crate::app::teams::TeamDraft;
use crate::app::Auth;
use crate::error::{AppResult, Code};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::{StatusOk, Team, TeamMember, TeamUnread};
use serde::Deserialize;
pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/teams", post(create_team).get(list_teams))
        .route("/teams/{team_id}", get(get_team))
        .route("/teams/name/{name}", get(team_by_name))
        .route(
            "/teams/{team_id}/members",
            post(add_member).get(list_members),
        )
        .route(
            "/teams/{team_id}/members/{user_id}",
            axum::routing::delete(remove_member),
        )
        .route("/users/{user_id}/teams", get(teams_for_user))
        .route("/users/{user_id}/teams/members", get(team_members_of_user))
        .route("/users/{user_id}/teams/unread", get(teams_unread))
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
    let draft = TeamDraft {
        name: request.name,
        display_name: request.display_name,
        team_type: request.team_type,
        description: request.description,
        email: request.email,
        allow_open_invite: request.allow_open_invite,
    };
    let team = state.create_team(&auth, draft).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

async fn get_team(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
) -> AppResult<Json<Team>> {
    state.get_team(auth.actor(), &team_id).await.map(Json)
}

async fn team_by_name(
    State(state): State<SharedState>,
    auth: Auth,
    Path(name): Path<String>,
) -> AppResult<Json<Team>> {
    state.team_by_name(auth.actor(), &name).await.map(Json)
}

async fn teams_for_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<Vec<Team>>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state.teams_for_user(auth.actor(), &user_id).await.map(Json)
}

async fn team_members_of_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<Vec<TeamMember>>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .team_members_of_user(auth.actor(), &user_id)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct TeamsUnreadQuery {
    exclude_team: String,
}

async fn teams_unread(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Query(query): Query<TeamsUnreadQuery>,
) -> AppResult<Json<Vec<TeamUnread>>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .teams_unread(auth.actor(), &user_id, &query.exclude_team)
        .await
        .map(Json)
}

/// `GET /teams`: the teams the caller may see.
async fn list_teams(
    State(state): State<SharedState>,
    auth: Auth,
    Query(paging): Query<Paging>,
) -> AppResult<Json<Vec<Team>>> {
    let (page, per_page) = paging.validated()?;
    state
        .visible_teams(auth.actor(), page, per_page)
        .await
        .map(Json)
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
    if !request.team_id.is_empty() && request.team_id != team_id {
        return Err(Code::InvalidBody
            .with_message("team_id in the body does not match the team in the URL."));
    }
    let member = state
        .add_team_member(auth.actor(), &team_id, &request.user_id)
        .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// `DELETE /teams/{team_id}/members/{user_id}`: leaving a team, or removing someone.
async fn remove_member(
    State(state): State<SharedState>,
    auth: Auth,
    Path((team_id, user_id)): Path<(String, String)>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .remove_team_member(auth.actor(), &team_id, &user_id, None)
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn list_members(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
    Query(paging): Query<Paging>,
) -> AppResult<Json<Vec<TeamMember>>> {
    let (page, per_page) = paging.validated()?;
    state
        .team_members(auth.actor(), &team_id, page, per_page)
        .await
        .map(Json)
}
