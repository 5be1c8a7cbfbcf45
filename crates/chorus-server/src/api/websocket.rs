//! `/websocket`: the upgrade. A browser page of another origin is refused (no
//! cross-site socket hijacking with the user's cookie). Credentials presented at
//! upgrade (header, cookie or `access_token`) authenticate the socket at once;
//! otherwise, or when they are no longer valid, the socket waits for an
//! `authentication_challenge` (see `ws`), within a cap of such waiting sockets.

use super::auth::token_from_parts;
use super::extract::Query;
use super::SharedState;
use crate::app::sessions::session_for_token;
use crate::error::{AppError, Code};
use crate::ws::{serve_socket, Arrival, ConnectParams, SocketIdentity};
use crate::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

/// Largest client frame accepted; client actions are small.
const MAX_CLIENT_FRAME: usize = 64 * 1024;
/// Initial read buffer of a socket; it grows for larger frames, up to the frame limit.
const READ_BUFFER_BYTES: usize = 4 * 1024;

pub fn router() -> Router<SharedState> {
    Router::new().route("/websocket", get(upgrade))
}

async fn upgrade(
    State(state): State<SharedState>,
    Query(params): Query<ConnectParams>,
    parts: Parts,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Some(origin) = foreign_origin(&state, &parts) {
        tracing::warn!(%origin, "websocket upgrade refused: foreign Origin");
        return Code::WebsocketOrigin.with_message(format!("Websockets cannot be opened from pages of {origin}; add it to ServiceSettings.AllowCorsFrom to allow it."),
        )
        .into_response();
    }
    let identity = match token_from_parts(&parts) {
        Some((token, _)) => {
            session_for_token(&state, &token)
                .await
                .ok()
                .map(|auth| SocketIdentity {
                    user_id: auth.user.id,
                    session_id: auth.session.id,
                    session_expires_at: auth.session.expires_at,
                })
        }
        None => None,
    };
    let arrival = match identity {
        Some(identity) => Arrival::Authenticated(identity),
        None => match state.hub.reserve_unauthenticated() {
            Some(slot) => Arrival::Unauthenticated(slot),
            None => {
                return AppError::from(Code::WebsocketTooManyUnauthenticated)
                    .with_retry_after(5)
                    .into_response()
            }
        },
    };
    upgrade
        // Clients send small frames (pings, typing); tungstenite's default 128 KiB read
        // buffer per socket made a node holding 1,000 sockets about 100 MiB larger.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| serve_socket(socket, state, arrival, params))
}

/// The request's `Origin` when it is neither absent (not a browser) nor this server
/// nor one of `ServiceSettings.AllowCorsFrom`. A page of another site (or another port
/// of this host) must not open a socket with the user's cookie and read their events;
/// Mattermost's upgrader checks the same.
fn foreign_origin(state: &AppState, parts: &Parts) -> Option<String> {
    let origin = parts.headers.get(header::ORIGIN)?;
    let Ok(origin) = origin.to_str() else {
        return Some("an unreadable origin".into());
    };
    let origin = origin.trim();
    let settings = &state.config.service_settings;
    let allowed: Vec<&str> = settings.allow_cors_from.split_whitespace().collect();
    if allowed.contains(&"*") || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return None;
    }
    let Some((scheme, host)) = origin.split_once("://") else {
        return Some(origin.to_string());
    };
    let site = settings.site_url.trim_end_matches('/');
    if !site.is_empty() {
        let (site_scheme, site_rest) = site.split_once("://").unwrap_or(("", site));
        let site_host = site_rest.split('/').next().unwrap_or_default();
        return if scheme.eq_ignore_ascii_case(site_scheme) && host.eq_ignore_ascii_case(site_host) {
            None
        } else {
            Some(origin.to_string())
        };
    }
    let request_host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if host.eq_ignore_ascii_case(request_host) {
        None
    } else {
        Some(origin.to_string())
    }
}
