//! Statuses over REST: `/users/{id}/status`, `/users/status/ids` and custom statuses
//! under `/users/{id}/status/custom` (the rules are in `app::statuses` and
//! `app::custom_statuses`).

use super::auth::Auth;
use super::extract::{Body, Path};
use super::SharedState;
use crate::app::permissions::resolve_user_id;
use crate::error::{AppError, AppResult};
use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chorus_model::{CustomStatus, Status, StatusOk};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/users/{user_id}/status", get(read).put(update))
        .route("/users/status/ids", post(by_ids))
        .route(
            "/users/{user_id}/status/custom",
            put(set_custom).delete(remove_custom),
        )
        .route(
            "/users/{user_id}/status/custom/recent/delete",
            post(remove_recent_custom),
        )
}

async fn set_custom(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(status): Body<CustomStatus>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .set_custom_status(auth.actor(), &user_id, status)
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn remove_custom(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state.remove_custom_status(auth.actor(), &user_id).await?;
    Ok(Json(StatusOk::default()))
}

async fn remove_recent_custom(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(status): Body<CustomStatus>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .remove_recent_custom_status(auth.actor(), &user_id, status)
        .await?;
    Ok(Json(StatusOk::default()))
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
