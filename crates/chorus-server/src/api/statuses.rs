//! Statuses over REST: `/users/{id}/status` and `/users/status/ids` (the rules are in
//! `app::statuses`).

use super::auth::Auth;
use super::extract::{Body, Path};
use super::SharedState;
use crate::app::permissions::resolve_user_id;
use crate::error::{AppError, AppResult};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::Status;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/users/{user_id}/status", get(read).put(update))
        .route("/users/status/ids", post(by_ids))
}

async fn read(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<Status>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state.user_status(&user_id).await.map(Json)
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
struct StatusBody {
    user_id: String,
    status: String,
    dnd_end_time: i64,
}

async fn update(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(body): Body<StatusBody>,
) -> AppResult<Json<Status>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    if body.user_id != user_id {
        return Err(AppError::invalid_param("user_id"));
    }
    state
        .set_user_status(auth.actor(), &user_id, &body.status, body.dnd_end_time)
        .await
        .map(Json)
}

async fn by_ids(
    State(state): State<SharedState>,
    _auth: Auth,
    Body(user_ids): Body<Vec<String>>,
) -> AppResult<Json<Vec<Status>>> {
    state.user_statuses(&user_ids).await.map(Json)
}
