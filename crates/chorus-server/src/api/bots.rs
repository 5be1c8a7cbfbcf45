//! `/bots` over REST, and `POST /users/{id}/convert_to_bot` (the rules are in
//! `app::bots`).

use super::auth::Auth;
use super::extract::{Body, Paging, Path, Query};
use super::SharedState;
use crate::app::permissions::resolve_user_id;
use crate::error::AppResult;
use crate::store::BotFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::{Bot, BotPatch};
use serde::Deserialize;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/bots", post(create_bot).get(list_bots))
        .route("/bots/{bot_user_id}", get(get_bot).put(patch_bot))
        .route("/bots/{bot_user_id}/disable", post(disable_bot))
        .route("/bots/{bot_user_id}/enable", post(enable_bot))
        .route("/bots/{bot_user_id}/assign/{user_id}", post(assign_bot))
        .route("/users/{user_id}/convert_to_bot", post(convert_user_to_bot))
}

async fn create_bot(
    State(state): State<SharedState>,
    auth: Auth,
    Body(patch): Body<BotPatch>,
) -> AppResult<impl IntoResponse> {
    let bot = state.create_bot(auth.actor(), patch).await?;
    Ok((StatusCode::CREATED, Json(bot)))
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct ListBotsQuery {
    include_deleted: bool,
    only_orphaned: bool,
    page: i64,
    per_page: i64,
}

impl Default for ListBotsQuery {
    fn default() -> Self {
        let paging = Paging::default();
        ListBotsQuery {
            include_deleted: false,
            only_orphaned: false,
            page: paging.page,
            per_page: paging.per_page,
        }
    }
}

async fn list_bots(
    State(state): State<SharedState>,
    auth: Auth,
    Query(query): Query<ListBotsQuery>,
) -> AppResult<Json<Vec<Bot>>> {
    let (page, per_page) = Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .validated()?;
    let filter = BotFilter {
        owner_id: None,
        include_deleted: query.include_deleted,
        only_orphaned: query.only_orphaned,
    };
    state
        .list_bots(auth.actor(), &filter, page, per_page)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct GetBotQuery {
    include_deleted: bool,
}

async fn get_bot(
    State(state): State<SharedState>,
    auth: Auth,
    Path(bot_id): Path<String>,
    Query(query): Query<GetBotQuery>,
) -> AppResult<Json<Bot>> {
    state
        .get_bot(auth.actor(), &bot_id, query.include_deleted)
        .await
        .map(Json)
}

async fn patch_bot(
    State(state): State<SharedState>,
    auth: Auth,
    Path(bot_id): Path<String>,
    Body(patch): Body<BotPatch>,
) -> AppResult<Json<Bot>> {
    state
        .patch_bot(auth.actor(), &bot_id, patch)
        .await
        .map(Json)
}

async fn disable_bot(
    State(state): State<SharedState>,
    auth: Auth,
    Path(bot_id): Path<String>,
) -> AppResult<Json<Bot>> {
    state
        .set_bot_active(auth.actor(), &bot_id, false)
        .await
        .map(Json)
}

async fn enable_bot(
    State(state): State<SharedState>,
    auth: Auth,
    Path(bot_id): Path<String>,
) -> AppResult<Json<Bot>> {
    state
        .set_bot_active(auth.actor(), &bot_id, true)
        .await
        .map(Json)
}

async fn assign_bot(
    State(state): State<SharedState>,
    auth: Auth,
    Path((bot_id, user_id)): Path<(String, String)>,
) -> AppResult<Json<Bot>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .assign_bot(auth.actor(), &bot_id, &user_id)
        .await
        .map(Json)
}

async fn convert_user_to_bot(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<Bot>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .convert_user_to_bot(auth.actor(), &user_id)
        .await
        .map(Json)
}
