//! `/commands` over REST: executing slash commands and listing them for autocomplete
//! (the rules are in `app::commands`).

use super::extract::{Body, Path, Query};
use super::SharedState;
use crate::app::Auth;
use crate::error::AppResult;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::{Command, CommandArgs, CommandResponse};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/commands/execute", post(execute))
        .route("/commands", get(list))
        .route("/teams/{team_id}/commands/autocomplete", get(autocomplete))
}

async fn execute(
    State(state): State<SharedState>,
    auth: Auth,
    Body(args): Body<CommandArgs>,
) -> AppResult<Json<CommandResponse>> {
    state.execute_command(&auth, args).await.map(Json)
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    team_id: String,
}

async fn list(
    State(state): State<SharedState>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<Vec<Command>>> {
    let team_id = (!query.team_id.is_empty()).then_some(query.team_id.as_str());
    state.list_commands(auth.actor(), team_id).await.map(Json)
}

async fn autocomplete(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
) -> AppResult<Json<Vec<Command>>> {
    state
        .list_commands(auth.actor(), Some(&team_id))
        .await
        .map(Json)
}
