//! The websocket protocol of one socket, a front door: the authentication challenge,
//! attaching to the hub (resuming a dropped connection), answering client actions
//! (`user_typing`) through the domain layer, and writing the events the hub queues.

use super::hub::{Attached, Conn, Frame, UnauthenticatedSlot};
use crate::error::Code;
use crate::AppState;
use axum::extract::ws::{Message, WebSocket};
use chorus_model::{now_millis, ApiError, WebSocketRequest, WebSocketResponse};
use std::sync::Arc;
use std::time::Duration;

/// How long a new socket may take to authenticate.
const AUTH_TIMEOUT: Duration = Duration::from_secs(60);

/// The text a socket writes for a frame: the shared body with this connection's `seq`.
fn frame_text((seq, body): &Frame) -> String {
    format!("{body},\"seq\":{seq}}}")
}
/// Who a socket belongs to once authenticated.
pub struct SocketIdentity {
    pub user_id: String,
    pub session_id: String,
    pub session_expires_at: i64,
}

/// Query parameters of `/api/v4/websocket`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ConnectParams {
    pub connection_id: String,
    pub sequence_number: i64,
}

/// How a socket arrived: authenticated at upgrade, or holding a place among the
/// sockets that must still send an `authentication_challenge`.
pub enum Arrival {
    Authenticated(SocketIdentity),
    Unauthenticated(UnauthenticatedSlot),
}

/// Runs one websocket from upgrade to close.
pub async fn serve_socket(
    mut socket: WebSocket,
    state: Arc<AppState>,
    arrival: Arrival,
    params: ConnectParams,
) {
    let (identity, challenge_seq) = match arrival {
        Arrival::Authenticated(identity) => (identity, None),
        Arrival::Unauthenticated(slot) => {
            let authenticated = authenticate(&mut socket, &state).await;
            drop(slot);
            match authenticated {
                Some((identity, seq)) => (identity, Some(seq)),
                None => return,
            }
        }
    };
    // Attached and recorded in one step per node (see `app::statuses`); the user's
    // other sockets hear that they are online, this one (which knows) does not start
    // with an event its client did not ask for.
    let order = state.presence_lock.order(&identity.user_id).await;
    let attached = state
        .hub
        .attach(&identity, &params.connection_id, params.sequence_number);
    if let Ok(attached) = &attached {
        state
            .record_presence(&identity.user_id, Some(&attached.conn.id))
            .await;
    }
    drop(order);
    if let Ok(attached) = &attached {
        state.socket_opened(&identity.user_id, &attached.conn.id);
    }
    let Attached {
        conn,
        generation,
        mut outbox,
    } = match attached {
        Ok(attached) => attached,
        Err(refusal) => {
            let error = refusal.to_api_error();
            if let Some(seq) = challenge_seq {
                let _ = socket
                    .send(Message::Text(failure(seq, error.clone()).into()))
                    .await;
            }
            let _ = socket
                .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                    code: axum::extract::ws::close_code::POLICY,
                    reason: error.message.chars().take(120).collect::<String>().into(),
                })))
                .await;
            return;
        }
    };
    // The challenge is answered only once the connection is attached (as Mattermost
    // registers before replying): a client that acts as soon as it reads the OK must
    // not miss the events its own action causes.
    if let Some(seq) = challenge_seq {
        if socket
            .send(Message::Text(success(seq, None).into()))
            .await
            .is_err()
        {
            state.hub.detach(&conn, generation);
            state.socket_closed(&identity.user_id, &conn.id).await;
            return;
        }
    }
    loop {
        tokio::select! {
            frame = outbox.recv() => match frame {
                Some(frame) => {
                    if socket.send(Message::Text(frame_text(&frame).into())).await.is_err() {
                        break;
                    }
                }
                None => {
                    // Logged out, replaced by a resumed socket, too slow, or shutting down.
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = handle_action(&state, &conn, text.as_str()).await {
                        if socket.send(Message::Text(reply.into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                // Protocol pings are answered by the websocket layer itself.
                Some(Ok(_)) => {}
            },
        }
    }
    state.hub.detach(&conn, generation);
    state.socket_closed(&identity.user_id, &conn.id).await;
}

/// Waits for an `authentication_challenge` on a socket that came without credentials;
/// returns who it is and the `seq` of the challenge, which the caller answers once the
/// socket is attached to the hub.
async fn authenticate(
    socket: &mut WebSocket,
    state: &Arc<AppState>,
) -> Option<(SocketIdentity, i64)> {
    let deadline = tokio::time::sleep(AUTH_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let message = tokio::select! {
            _ = &mut deadline => return None,
            message = socket.recv() => message?.ok()?,
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => return None,
            _ => continue,
        };
        let request = match serde_json::from_str::<WebSocketRequest>(text.as_str()) {
            Ok(request) => request,
            Err(_) => {
                let reply = failure(0, bad_request_error());
                socket.send(Message::Text(reply.into())).await.ok()?;
                continue;
            }
        };
        if request.action != "authentication_challenge" {
            let reply = failure(request.seq, not_authenticated_error());
            socket.send(Message::Text(reply.into())).await.ok()?;
            continue;
        }
        let token = request
            .data
            .get("token")
            .and_then(|t| t.as_str())
            .unwrap_or_default();
        match crate::app::sessions::session_for_token(state, token).await {
            Ok(auth) => {
                return Some((
                    SocketIdentity {
                        user_id: auth.user.id,
                        session_id: auth.session.id,
                        session_expires_at: auth.session.expires_at,
                    },
                    request.seq,
                ));
            }
            Err(err) => {
                let reply = failure(request.seq, err.to_api_error());
                socket.send(Message::Text(reply.into())).await.ok()?;
            }
        }
    }
}

async fn handle_action(state: &Arc<AppState>, conn: &Conn, text: &str) -> Option<String> {
    let Ok(request) = serde_json::from_str::<WebSocketRequest>(text) else {
        return Some(failure(0, bad_request_error()));
    };
    match request.action.as_str() {
        "ping" => {
            let data = serde_json::json!({
                "text": "pong",
                "version": crate::MATTERMOST_VERSION,
                "server_time": now_millis(),
                "node_id": state.node_id,
            });
            Some(success(request.seq, data.as_object().cloned()))
        }
        "authentication_challenge" => Some(success(request.seq, None)),
        "user_typing" => {
            let channel_id = request
                .data
                .get("channel_id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let parent_id = request
                .data
                .get("parent_id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            match crate::app::events::publish_typing(state, &conn.user_id, &channel_id, &parent_id)
                .await
            {
                Ok(()) => Some(success(request.seq, None)),
                Err(err) => Some(failure(request.seq, err.to_api_error())),
            }
        }
        "get_statuses" => Some(match state.present_statuses().await {
            Ok(statuses) => success(request.seq, Some(status_map(statuses))),
            Err(err) => failure(request.seq, err.to_api_error()),
        }),
        "get_statuses_by_ids" => {
            let user_ids: Vec<String> = request
                .data
                .get("user_ids")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            Some(match state.user_statuses(&user_ids).await {
                Ok(statuses) => success(request.seq, Some(status_map(statuses))),
                Err(err) => failure(request.seq, err.to_api_error()),
            })
        }
        "user_update_active_status" => {
            let flag = |name: &str| request.data.get(name).and_then(|v| v.as_bool());
            let Some(active) = flag("user_is_active") else {
                return Some(failure(request.seq, bad_request_error()));
            };
            let manual = flag("manual").unwrap_or(false);
            Some(
                match state
                    .update_active_status(&conn.user_id, active, manual)
                    .await
                {
                    Ok(()) => success(request.seq, None),
                    Err(err) => failure(request.seq, err.to_api_error()),
                },
            )
        }
        other => Some(failure(
            request.seq,
            ApiError {
                id: Code::WebsocketBadAction.id().into(),
                message: format!("Unknown websocket action {other:?}."),
                detailed_error: String::new(),
                request_id: String::new(),
                status_code: 400,
            },
        )),
    }
}

/// Statuses as Mattermost's websocket answers them: user id to status.
fn status_map(statuses: Vec<chorus_model::Status>) -> serde_json::Map<String, serde_json::Value> {
    statuses
        .into_iter()
        .map(|s| (s.user_id, s.status.into()))
        .collect()
}

fn success(seq: i64, data: Option<serde_json::Map<String, serde_json::Value>>) -> String {
    serde_json::to_string(&WebSocketResponse {
        status: "OK".into(),
        seq_reply: seq,
        data,
        error: None,
    })
    .expect("responses serialise")
}

fn failure(seq: i64, error: ApiError) -> String {
    serde_json::to_string(&WebSocketResponse {
        status: "FAIL".into(),
        seq_reply: seq,
        data: None,
        error: Some(error),
    })
    .expect("responses serialise")
}

fn bad_request_error() -> ApiError {
    ApiError {
        id: Code::WebsocketBadRequest.id().into(),
        message:
            "The websocket message is not valid JSON of the form {\"seq\",\"action\",\"data\"}."
                .into(),
        detailed_error: String::new(),
        request_id: String::new(),
        status_code: 400,
    }
}

fn not_authenticated_error() -> ApiError {
    ApiError {
        id: Code::WebsocketNotAuthenticated.id().into(),
        message: "Send an authentication_challenge with a valid token first.".into(),
        detailed_error: String::new(),
        request_id: String::new(),
        status_code: 401,
    }
}
