//! The HTTP API under `/api/v4`: one router per resource, assembled here with the
//! layers every reply shares (request id, version headers, body limit) and the
//! fallbacks that keep unknown routes and methods in Mattermost's error shape.
//!
//! Request flow: `request_context` gives the request an id (kept in a task-local so
//! errors can report it) → the resource's handler, which takes `auth::Auth` when it
//! needs a session and `extract::Body` for JSON, and calls the domain layer (`app`)
//! with the caller as actor → a JSON reply with exactly `Content-Type:
//! application/json`. Handlers hold no rules of their own beyond parsing.

pub mod auth;
mod bots;
pub(crate) mod channels;
pub(crate) mod commands;
pub mod extract;
mod files;
mod interactive;
mod plugin_http;
mod plugins;
pub(crate) mod posts;
mod preferences;
mod profile_images;
mod reactions;
mod roles;
mod statuses;
mod system;
mod teams;
pub(crate) mod users;
mod webhooks;
mod websocket;

use crate::error::{AppError, Code, REQUEST_ID};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use std::sync::Arc;

pub type SharedState = Arc<AppState>;

/// The whole HTTP surface of a node.
pub fn router(state: SharedState) -> Router {
    let api = Router::new()
        .merge(users::router())
        .merge(bots::router())
        .merge(teams::router())
        .merge(channels::router())
        .merge(posts::router())
        .merge(interactive::router())
        .merge(reactions::router())
        .merge(webhooks::router())
        .merge(files::router(state.config.file_settings.max_file_size))
        .merge(profile_images::router(state.profile_image_limit()))
        .merge(preferences::router())
        .merge(statuses::router())
        .merge(roles::router())
        .merge(commands::router())
        .merge(system::router())
        .merge(websocket::router())
        .merge(plugins::router(
            state.config.plugin_settings.max_bundle_size_bytes as usize,
        ));
    Router::new()
        .nest("/api/v4", api)
        .merge(files::public_router())
        .merge(webhooks::execute_router(
            state.config.service_settings.maximum_payload_size_bytes,
        ))
        .route("/plugins/{plugin_id}", any(plugin_http::serve_plugin_http))
        .route(
            "/plugins/{plugin_id}/{*rest}",
            any(plugin_http::serve_plugin_http),
        )
        .route(
            "/static/plugins/{plugin_id}/{*file}",
            get(plugin_http::serve_webapp_file),
        )
        .route("/static/emoji.json", get(crate::web::emoji_table))
        .route("/static/{*file}", get(crate::web::static_file))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(
            state.config.service_settings.maximum_payload_size_bytes,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .with_state(state)
}

async fn request_context(
    axum::extract::State(state): axum::extract::State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let request_id = chorus_model::new_id();
    let mut response = REQUEST_ID
        .scope(request_id.clone(), next.run(request))
        .await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("X-Request-Id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&state.client_config.version_id) {
        headers.insert("X-Version-Id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&state.node_id) {
        headers.insert("X-Cluster-Id", value);
    }
    response
}

/// Page navigations get the web app; anything else unknown, Mattermost's 404.
async fn fallback(request: Request) -> Response {
    if crate::web::is_page_navigation(&request) {
        crate::web::index_page(request.headers())
    } else {
        not_found().into_response()
    }
}

pub(crate) fn not_found() -> AppError {
    Code::RouteNotFound.into()
}

async fn method_not_allowed() -> AppError {
    Code::MethodNotAllowed.into()
}
