//! `/commands` over REST: executing slash commands, listing them for autocomplete, and
//! a team's custom commands (the rules are in `app::commands` and
//! `app::custom_commands`).

use super::extract::{site_of, Body, Path, Query};
use super::SharedState;
use crate::app::Auth;
use crate::error::AppResult;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chorus_model::{AutocompleteSuggestion, Command, CommandArgs, CommandResponse, StatusOk};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/commands/execute", post(execute))
        .route("/commands", get(list).post(create))
        .route(
            "/commands/{command_id}",
            get(read).put(update).delete(remove),
        )
        .route("/commands/{command_id}/regen_token", put(regen_token))
        .route("/commands/{command_id}/move", put(move_to_team))
        .route("/teams/{team_id}/commands/autocomplete", get(autocomplete))
        .route(
            "/teams/{team_id}/commands/autocomplete_suggestions",
            get(suggestions),
        )
}

async fn execute(
    State(state): State<SharedState>,
    auth: Auth,
    headers: HeaderMap,
    Body(args): Body<CommandArgs>,
) -> AppResult<Json<CommandResponse>> {
    let site = site_of(&state.config, &headers);
    state.execute_command(&auth, args, &site).await.map(Json)
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    team_id: String,
    custom_only: bool,
}

/// Without a team, the commands every team has (built-in and plugins'); with one, its
/// custom commands too (only those, for its admins, with `custom_only`).
async fn list(
    State(state): State<SharedState>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<Vec<Command>>> {
    if query.team_id.is_empty() {
        return Ok(Json(state.list_commands()));
    }
    state
        .team_commands(auth.actor(), &query.team_id, query.custom_only)
        .await
        .map(Json)
}

async fn create(
    State(state): State<SharedState>,
    auth: Auth,
    Body(command): Body<Command>,
) -> AppResult<(StatusCode, Json<Command>)> {
    let command = state.create_command(auth.actor(), command).await?;
    Ok((StatusCode::CREATED, Json(command)))
}

async fn read(
    State(state): State<SharedState>,
    auth: Auth,
    Path(command_id): Path<String>,
) -> AppResult<Json<Command>> {
    state
        .custom_command(auth.actor(), &command_id)
        .await
        .map(Json)
}

async fn update(
    State(state): State<SharedState>,
    auth: Auth,
    Path(command_id): Path<String>,
    Body(command): Body<Command>,
) -> AppResult<Json<Command>> {
    if !command.id.is_empty() && command.id != command_id {
        return Err(crate::error::AppError::invalid_param("command_id"));
    }
    state
        .update_command(auth.actor(), &command_id, command)
        .await
        .map(Json)
}

async fn remove(
    State(state): State<SharedState>,
    auth: Auth,
    Path(command_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    state.delete_command(auth.actor(), &command_id).await?;
    Ok(Json(StatusOk::default()))
}

#[derive(serde::Serialize)]
struct TokenAnswer {
    token: String,
}

async fn regen_token(
    State(state): State<SharedState>,
    auth: Auth,
    Path(command_id): Path<String>,
) -> AppResult<Json<TokenAnswer>> {
    let token = state
        .regenerate_command_token(auth.actor(), &command_id)
        .await?;
    Ok(Json(TokenAnswer { token }))
}

async fn autocomplete(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
) -> AppResult<Json<Vec<Command>>> {
    let commands = state.team_commands(auth.actor(), &team_id, false).await?;
    Ok(Json(
        commands.into_iter().filter(|c| c.auto_complete).collect(),
    ))
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
struct MoveBody {
    team_id: String,
}

async fn move_to_team(
    State(state): State<SharedState>,
    auth: Auth,
    Path(command_id): Path<String>,
    Body(body): Body<MoveBody>,
) -> AppResult<Json<StatusOk>> {
    state
        .move_command(auth.actor(), &command_id, &body.team_id)
        .await?;
    Ok(Json(StatusOk::default()))
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
struct SuggestionsQuery {
    user_input: String,
}

async fn suggestions(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
    Query(query): Query<SuggestionsQuery>,
) -> AppResult<Json<Vec<AutocompleteSuggestion>>> {
    state
        .command_suggestions(auth.actor(), &team_id, &query.user_input)
        .await
        .map(Json)
}
