//! `/roles` over REST: the built-in roles, for anyone signed in (`app::roles`).

use super::auth::Auth;
use super::extract::{Body, Path};
use super::SharedState;
use crate::app::roles;
use crate::error::AppResult;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::Role;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/roles/{role_id}", get(role_by_id))
        .route("/roles/name/{role_name}", get(role_by_name))
        .route("/roles/names", post(roles_by_names))
}

async fn role_by_id(_auth: Auth, Path(role_id): Path<String>) -> AppResult<Json<Role>> {
    roles::role_by_id(&role_id).map(Json)
}

async fn role_by_name(_auth: Auth, Path(name): Path<String>) -> AppResult<Json<Role>> {
    roles::role_by_name(&name).map(Json)
}

async fn roles_by_names(_auth: Auth, Body(names): Body<Vec<String>>) -> AppResult<Json<Vec<Role>>> {
    roles::roles_by_names(&names).map(Json)
}
