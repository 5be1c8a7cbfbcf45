//! The websocket hub: every live (and recently dropped) websocket connection of this
//! node, the per-connection event sequence, and delivery of events to the connections
//! of the users an event is for.
//!
//! Data flow: an API handler decides *who* may see an event (see `events.rs`) and calls
//! [`Hub::deliver`] with those user ids; the hub numbers the event per connection,
//! keeps it in that connection's backlog and hands it to the connection's socket task
//! through a bounded channel. A socket task owns one websocket: it authenticates,
//! attaches to the hub (resuming a dropped connection when the client presents its
//! `connection_id` and a `sequence_number` still in the backlog, else starting a new
//! connection id with `hello` at seq 0), answers client actions, and writes events.
//!
//! A connection whose client cannot keep up (its channel is full) is cut; the client
//! reconnects and resumes from the backlog, so a slow reader never slows the others.

use crate::AppState;
use axum::extract::ws::{Message, WebSocket};
use chorus_model::{
    events, new_id, now_millis, ApiError, WebSocketEvent, WebSocketRequest, WebSocketResponse,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Events kept per connection for resumption after a dropped socket.
const BACKLOG_LEN: usize = 512;
/// Frames queued for one socket before its client is considered too slow.
const OUTBOX_LEN: usize = 1024;
/// How long a new socket may take to authenticate.
const AUTH_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Hub {
    node_id: String,
    resume_window: Duration,
    inner: Mutex<HubInner>,
}

#[derive(Default)]
struct HubInner {
    conns: HashMap<String, Arc<Conn>>,
    by_user: HashMap<String, HashSet<String>>,
}

struct Conn {
    id: String,
    user_id: String,
    session_id: String,
    state: Mutex<ConnState>,
}

struct ConnState {
    next_seq: i64,
    backlog: VecDeque<(i64, Arc<str>)>,
    outbox: Option<mpsc::Sender<Arc<str>>>,
    /// Bumped at each attach so that a stale socket's detach does not undo a newer one.
    generation: u64,
    disconnected_at: Option<Instant>,
}

impl ConnState {
    /// Numbers one event for this connection, remembers it, and sends it if connected.
    fn push(&mut self, body_without_seq: &str) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame: Arc<str> = format!("{body_without_seq},\"seq\":{seq}}}").into();
        if self.backlog.len() == BACKLOG_LEN {
            self.backlog.pop_front();
        }
        self.backlog.push_back((seq, frame.clone()));
        if let Some(outbox) = &self.outbox {
            if outbox.try_send(frame).is_err() {
                // Too slow (or gone): cut it; the client resumes from the backlog.
                self.outbox = None;
                self.disconnected_at = Some(Instant::now());
            }
        }
    }
}

/// The event without its `seq`, serialised once and completed per connection.
#[derive(Serialize)]
struct EventBody<'a> {
    event: &'a str,
    data: &'a serde_json::Map<String, serde_json::Value>,
    broadcast: &'a chorus_model::Broadcast,
}

fn body_without_seq(event: &WebSocketEvent) -> String {
    let mut body = serde_json::to_string(&EventBody {
        event: &event.event,
        data: &event.data,
        broadcast: &event.broadcast,
    })
    .expect("events serialise");
    body.pop(); // the closing brace; `seq` is appended per connection
    body
}

/// What attaching a socket to the hub produced.
struct Attached {
    conn: Arc<Conn>,
    generation: u64,
    outbox: mpsc::Receiver<Arc<str>>,
}

impl Hub {
    pub fn new(node_id: String, resume_window: Duration) -> Hub {
        Hub {
            node_id,
            resume_window,
            inner: Mutex::new(HubInner::default()),
        }
    }

    /// Sends `event` to every connection of `user_ids`, honouring the broadcast's
    /// `omit_users`, `connection_id` and `omit_connection_id`.
    pub fn deliver(&self, event: &WebSocketEvent, user_ids: &[String]) {
        let body = body_without_seq(event);
        let broadcast = &event.broadcast;
        let targets: Vec<Arc<Conn>> = {
            let inner = self.inner.lock().expect("hub lock");
            user_ids
                .iter()
                .filter(|user| {
                    !broadcast
                        .omit_users
                        .as_ref()
                        .is_some_and(|omit| omit.get(*user).copied().unwrap_or(false))
                })
                .filter_map(|user| inner.by_user.get(user))
                .flatten()
                .filter(|conn_id| {
                    (broadcast.connection_id.is_empty() || broadcast.connection_id == **conn_id)
                        && broadcast.omit_connection_id != **conn_id
                })
                .filter_map(|conn_id| inner.conns.get(conn_id).cloned())
                .collect()
        };
        for conn in targets {
            conn.state.lock().expect("conn lock").push(&body);
        }
    }

    /// Ids of users with at least one connection (live or resumable) on this node.
    pub fn connected_users(&self) -> Vec<String> {
        let inner = self.inner.lock().expect("hub lock");
        inner.by_user.keys().cloned().collect()
    }

    /// Number of sockets currently open.
    pub fn live_connections(&self) -> usize {
        let inner = self.inner.lock().expect("hub lock");
        inner
            .conns
            .values()
            .filter(|c| c.state.lock().expect("conn lock").outbox.is_some())
            .count()
    }

    /// Closes and forgets every connection opened with the session `session_id`
    /// (logout, here or on another node).
    pub fn close_session_id(&self, session_id: &str) {
        let mut inner = self.inner.lock().expect("hub lock");
        let doomed: Vec<Arc<Conn>> = inner
            .conns
            .values()
            .filter(|c| c.session_id == session_id)
            .cloned()
            .collect();
        for conn in doomed {
            conn.state.lock().expect("conn lock").outbox = None;
            inner.remove(&conn);
        }
    }

    /// Sessions behind this node's connections, to re-check after a bus outage.
    pub fn session_ids(&self) -> Vec<String> {
        let inner = self.inner.lock().expect("hub lock");
        let ids: HashSet<String> = inner.conns.values().map(|c| c.session_id.clone()).collect();
        ids.into_iter().collect()
    }

    /// Closes every socket, at shutdown.
    pub fn close_all(&self) {
        let inner = self.inner.lock().expect("hub lock");
        for conn in inner.conns.values() {
            conn.state.lock().expect("conn lock").outbox = None;
        }
    }

    /// Forgets connections dropped longer ago than the resume window.
    pub fn sweep(&self) {
        let mut inner = self.inner.lock().expect("hub lock");
        let expired: Vec<Arc<Conn>> = inner
            .conns
            .values()
            .filter(|c| {
                c.state
                    .lock()
                    .expect("conn lock")
                    .disconnected_at
                    .is_some_and(|at| at.elapsed() > self.resume_window)
            })
            .cloned()
            .collect();
        for conn in expired {
            inner.remove(&conn);
        }
    }

    /// Attaches a socket: resumes `resume_id` when it belongs to this user and its
    /// backlog still holds `sequence_number`, else opens a new connection with `hello`.
    fn attach(
        &self,
        user_id: &str,
        session_id: &str,
        resume_id: &str,
        sequence_number: i64,
    ) -> Attached {
        let (sender, receiver) = mpsc::channel(OUTBOX_LEN);
        if !resume_id.is_empty() {
            let existing = self
                .inner
                .lock()
                .expect("hub lock")
                .conns
                .get(resume_id)
                .cloned();
            if let Some(conn) = existing.filter(|c| c.user_id == user_id) {
                let mut state = conn.state.lock().expect("conn lock");
                let oldest = state
                    .backlog
                    .front()
                    .map_or(state.next_seq, |(seq, _)| *seq);
                if sequence_number >= oldest && sequence_number <= state.next_seq {
                    let replay: Vec<Arc<str>> = state
                        .backlog
                        .iter()
                        .filter(|(seq, _)| *seq >= sequence_number)
                        .map(|(_, frame)| frame.clone())
                        .collect();
                    if replay.len() < OUTBOX_LEN {
                        for frame in replay {
                            let _ = sender.try_send(frame);
                        }
                        state.outbox = Some(sender);
                        state.generation += 1;
                        state.disconnected_at = None;
                        let generation = state.generation;
                        drop(state);
                        return Attached {
                            conn,
                            generation,
                            outbox: receiver,
                        };
                    }
                }
            }
        }
        let conn = Arc::new(Conn {
            id: new_id(),
            user_id: user_id.to_string(),
            session_id: session_id.to_string(),
            state: Mutex::new(ConnState {
                next_seq: 0,
                backlog: VecDeque::new(),
                outbox: Some(sender),
                generation: 1,
                disconnected_at: None,
            }),
        });
        let hello = WebSocketEvent {
            event: events::HELLO.into(),
            data: serde_json::json!({
                "server_version": crate::SERVER_VERSION,
                "connection_id": conn.id,
                "server_hostname": self.node_id,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
            broadcast: chorus_model::Broadcast {
                user_id: user_id.to_string(),
                ..Default::default()
            },
            seq: 0,
        };
        // Registered and greeted under the hub lock, so no event can slip in before hello.
        let mut inner = self.inner.lock().expect("hub lock");
        conn.state
            .lock()
            .expect("conn lock")
            .push(&body_without_seq(&hello));
        inner.conns.insert(conn.id.clone(), conn.clone());
        inner
            .by_user
            .entry(user_id.to_string())
            .or_default()
            .insert(conn.id.clone());
        Attached {
            conn,
            generation: 1,
            outbox: receiver,
        }
    }

    fn detach(&self, conn: &Conn, generation: u64) {
        let mut state = conn.state.lock().expect("conn lock");
        if state.generation == generation {
            state.outbox = None;
            state.disconnected_at = Some(Instant::now());
        }
    }
}

impl HubInner {
    fn remove(&mut self, conn: &Conn) {
        self.conns.remove(&conn.id);
        if let Some(ids) = self.by_user.get_mut(&conn.user_id) {
            ids.remove(&conn.id);
            if ids.is_empty() {
                self.by_user.remove(&conn.user_id);
            }
        }
    }
}

/// Who a socket belongs to once authenticated.
pub struct SocketIdentity {
    pub user_id: String,
    pub session_id: String,
}

/// Query parameters of `/api/v4/websocket`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ConnectParams {
    pub connection_id: String,
    pub sequence_number: i64,
}

/// Runs one websocket from upgrade to close.
pub async fn serve_socket(
    mut socket: WebSocket,
    state: Arc<AppState>,
    identity: Option<SocketIdentity>,
    params: ConnectParams,
) {
    let (identity, challenge_seq) = match identity {
        Some(identity) => (identity, None),
        None => match authenticate(&mut socket, &state).await {
            Some((identity, seq)) => (identity, Some(seq)),
            None => return,
        },
    };
    let Attached {
        conn,
        generation,
        mut outbox,
    } = state.hub.attach(
        &identity.user_id,
        &identity.session_id,
        &params.connection_id,
        params.sequence_number,
    );
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
            return;
        }
    }
    loop {
        tokio::select! {
            frame = outbox.recv() => match frame {
                Some(frame) => {
                    if socket.send(Message::Text(frame.as_ref().into())).await.is_err() {
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
        match crate::api::auth::session_for_token(state, token).await {
            Ok(auth) => {
                return Some((
                    SocketIdentity {
                        user_id: auth.user.id,
                        session_id: auth.session.id,
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
                "version": crate::SERVER_VERSION,
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
            match crate::events::publish_typing(state, &conn.user_id, &channel_id, &parent_id).await
            {
                Ok(()) => Some(success(request.seq, None)),
                Err(err) => Some(failure(request.seq, err.to_api_error())),
            }
        }
        other => Some(failure(
            request.seq,
            ApiError {
                id: "api.web_socket_router.bad_action.app_error".into(),
                message: format!("Unknown websocket action {other:?}."),
                detailed_error: String::new(),
                request_id: String::new(),
                status_code: 400,
            },
        )),
    }
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
        id: "api.web_socket_router.bad_request.app_error".into(),
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
        id: "api.web_socket_router.not_authenticated.app_error".into(),
        message: "Send an authentication_challenge with a valid token first.".into(),
        detailed_error: String::new(),
        request_id: String::new(),
        status_code: 401,
    }
}

/// Keeps the hub tidy: forgets connections that were not resumed in time.
pub fn spawn_sweeper(hub: Arc<Hub>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(15));
        loop {
            tick.tick().await;
            hub.sweep();
        }
    })
}
