//! Emoji reactions over REST (the rules are in `app::reactions`).

use super::auth::Auth;
use super::extract::{Body, Path};
use super::SharedState;
use crate::app::permissions::resolve_user_id;
use crate::error::AppResult;
use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chorus_model::{Reaction, StatusOk};
use std::collections::HashMap;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/reactions", post(add_reaction))
        .route(
            "/users/{user_id}/posts/{post_id}/reactions/{emoji_name}",
            delete(remove_reaction),
        )
        .route("/posts/{post_id}/reactions", get(reactions_of_post))
        .route("/posts/ids/reactions", post(reactions_of_posts))
}

/// `POST /reactions`: 200 with the reaction, as Mattermost answers.
async fn add_reaction(
    State(state): State<SharedState>,
    auth: Auth,
    Body(reaction): Body<Reaction>,
) -> AppResult<Json<Reaction>> {
    state.add_reaction(auth.actor(), reaction).await.map(Json)
}

async fn remove_reaction(
    State(state): State<SharedState>,
    auth: Auth,
    Path((user_id, post_id, emoji_name)): Path<(String, String, String)>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .remove_reaction(auth.actor(), &user_id, &post_id, &emoji_name)
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn reactions_of_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
) -> AppResult<Json<Vec<Reaction>>> {
    state
        .reactions_of_post(auth.actor(), &post_id)
        .await
        .map(Json)
}

async fn reactions_of_posts(
    State(state): State<SharedState>,
    auth: Auth,
    Body(post_ids): Body<Vec<String>>,
) -> AppResult<Json<HashMap<String, Vec<Reaction>>>> {
    state
        .reactions_of_posts(auth.actor(), &post_ids)
        .await
        .map(Json)
}
