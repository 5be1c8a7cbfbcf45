//! `/users/{id}/preferences` over REST (the rules are in `app::preferences`).

use super::auth::Auth;
use super::extract::{Body, Path};
use super::SharedState;
use crate::app::permissions::resolve_user_id;
use crate::app::preferences::Batch;
use crate::error::AppResult;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::{Preference, StatusOk};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/users/{user_id}/preferences",
            get(all_preferences).put(save_preferences),
        )
        .route(
            "/users/{user_id}/preferences/delete",
            post(delete_preferences),
        )
        .route(
            "/users/{user_id}/preferences/{category}",
            get(preferences_in_category),
        )
        .route(
            "/users/{user_id}/preferences/{category}/name/{preference_name}",
            get(one_preference),
        )
}

async fn all_preferences(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<Vec<Preference>>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .preferences_of(auth.actor(), &user_id, None)
        .await
        .map(Json)
}

async fn preferences_in_category(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, category)): Path<(String, String)>,
) -> AppResult<Json<Vec<Preference>>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .preferences_of(auth.actor(), &user_id, Some(&category))
        .await
        .map(Json)
}

async fn one_preference(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, category, name)): Path<(String, String, String)>,
) -> AppResult<Json<Preference>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .preference(auth.actor(), &user_id, &category, &name)
        .await
        .map(Json)
}

async fn save_preferences(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(preferences): Body<Vec<Preference>>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .save_preferences(auth.actor(), &user_id, preferences, Batch::Request)
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn delete_preferences(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(preferences): Body<Vec<Preference>>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .delete_preferences(auth.actor(), &user_id, preferences, Batch::Request)
        .await?;
    Ok(Json(StatusOk::default()))
}
