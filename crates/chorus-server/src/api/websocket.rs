//! `/websocket`: the upgrade. Credentials presented at upgrade (header, cookie or
//! `access_token`) authenticate the socket at once; otherwise, or when they are no
//! longer valid, the socket waits for an `authentication_challenge` (see `ws`).

use super::auth::{session_for_token, token_from_parts};
use super::extract::Query;
use super::SharedState;
use crate::ws::{serve_socket, ConnectParams, SocketIdentity};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::request::Parts;
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
    let identity = match token_from_parts(&parts) {
        Some((token, _)) => {
            session_for_token(&state, &token)
                .await
                .ok()
                .map(|auth| SocketIdentity {
                    user_id: auth.user.id,
                    session_id: auth.session.id,
                })
        }
        None => None,
    };
    upgrade
        // Clients send small frames (pings, typing); tungstenite's default 128 KiB read
        // buffer per socket made a node holding 1,000 sockets about 100 MiB larger.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| serve_socket(socket, state, identity, params))
}
