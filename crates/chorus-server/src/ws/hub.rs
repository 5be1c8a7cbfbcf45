//! The websocket hub: every live (and recently dropped) websocket connection of this
//! node, the per-connection event sequence and resume backlog, and delivery of events
//! to the connections of the users an event is for. It knows nothing of the socket
//! protocol (`socket.rs`), which attaches to it and drains a connection's outbox.

use super::socket::SocketIdentity;
use crate::error::Code;
use crate::metrics::Metrics;
use chorus_model::{events, new_id, now_millis, ApiError, WebSocketEvent};
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Frames queued for one socket before its client is considered too slow.
pub(super) const OUTBOX_LEN: usize = 1024;

/// The bounds of the hub, from `ServiceSettings`.
#[derive(Debug, Clone)]
pub struct HubLimits {
    pub resume_window: Duration,
    pub resume_events: usize,
    pub resume_bytes: usize,
    pub hub_resume_bytes: usize,
    pub per_user: usize,
    pub per_session: usize,
    pub unauthenticated: usize,
}

impl HubLimits {
    pub fn from_settings(settings: &crate::config::ServiceSettings) -> HubLimits {
        HubLimits {
            resume_window: Duration::from_secs(settings.websocket_resume_seconds),
            resume_events: settings.websocket_resume_events.max(1),
            resume_bytes: settings.websocket_resume_bytes,
            hub_resume_bytes: settings.websocket_hub_resume_bytes,
            per_user: settings.maximum_websockets_per_user.max(1),
            per_session: settings.maximum_websockets_per_session.max(1),
            unauthenticated: settings.maximum_unauthenticated_websockets,
        }
    }
}

/// One event as a socket writes it: its number on that connection and the body shared
/// by every receiver (serialised without its closing brace, where `seq` goes).
pub(super) type Frame = (i64, Arc<str>);

pub struct Hub {
    pub(super) node_id: String,
    /// What `hello` reports: the same text as `X-Version-Id`, as in Mattermost.
    server_version: String,
    pub(super) limits: HubLimits,
    pub(super) metrics: Arc<Metrics>,
    pub(super) inner: Mutex<HubInner>,
    /// Bytes in every connection's backlog together.
    pub(super) backlog_bytes: AtomicUsize,
    /// Sockets upgraded but not yet authenticated.
    pub(super) unauthenticated: AtomicUsize,
}

#[derive(Default)]
pub(super) struct HubInner {
    pub(super) conns: HashMap<String, Arc<Conn>>,
    pub(super) by_user: HashMap<String, HashSet<String>>,
}

pub(super) struct Conn {
    pub(super) id: String,
    pub(super) user_id: String,
    pub(super) session_id: String,
    /// When the session behind the socket expires (ms); the socket is closed then.
    pub(super) session_expires_at: i64,
    pub(super) state: Mutex<ConnState>,
}

pub(super) struct ConnState {
    pub(super) next_seq: i64,
    pub(super) backlog: VecDeque<Frame>,
    pub(super) bytes: usize,
    pub(super) outbox: Option<mpsc::Sender<Frame>>,
    /// Bumped at each attach so that a stale socket's detach does not undo a newer one.
    pub(super) generation: u64,
    pub(super) disconnected_at: Option<Instant>,
}

impl ConnState {
    /// Numbers one event for this connection, remembers it within the limits, and
    /// sends it if connected. Answers the change in backlog bytes.
    pub(super) fn push(&mut self, body: &Arc<str>, limits: &HubLimits) -> isize {
        let seq = self.next_seq;
        self.next_seq += 1;
        let before = self.bytes;
        self.backlog.push_back((seq, body.clone()));
        self.bytes += body.len();
        while self.backlog.len() > limits.resume_events
            || (self.bytes > limits.resume_bytes && !self.backlog.is_empty())
        {
            if let Some((_, old)) = self.backlog.pop_front() {
                self.bytes -= old.len();
            }
        }
        if let Some(outbox) = &self.outbox {
            if outbox.try_send((seq, body.clone())).is_err() {
                // Too slow (or gone): cut it; the client resumes from the backlog.
                self.outbox = None;
                self.disconnected_at = Some(Instant::now());
            }
        }
        self.bytes as isize - before as isize
    }

    /// Forgets the backlog; answers the bytes freed.
    pub(super) fn clear_backlog(&mut self) -> usize {
        let freed = self.bytes;
        self.backlog.clear();
        self.bytes = 0;
        freed
    }

    pub(super) fn is_live(&self) -> bool {
        self.outbox.is_some()
    }
}

/// The event without its `seq`, serialised once for all its receivers.
#[derive(Serialize)]
pub(super) struct EventBody<'a> {
    event: &'a str,
    data: &'a serde_json::Map<String, serde_json::Value>,
    broadcast: &'a chorus_model::Broadcast,
}

pub(super) fn body_without_seq(event: &WebSocketEvent) -> Arc<str> {
    let mut body = serde_json::to_string(&EventBody {
        event: &event.event,
        data: &event.data,
        broadcast: &event.broadcast,
    })
    .expect("events serialise");
    body.pop(); // the closing brace; `seq` is appended per connection
    body.into()
}

/// What attaching a socket to the hub produced.
pub(super) struct Attached {
    pub(super) conn: Arc<Conn>,
    pub(super) generation: u64,
    pub(super) outbox: mpsc::Receiver<Frame>,
}

/// Why a socket could not be attached.
#[derive(Debug)]
pub enum Refusal {
    TooManyForUser(usize),
    TooManyForSession(usize),
}

impl Refusal {
    pub(super) fn to_api_error(&self) -> ApiError {
        let message = match self {
            Refusal::TooManyForUser(max) => {
                format!("This user already has {max} websockets open, the most allowed (ServiceSettings.MaximumWebsocketsPerUser).")
            }
            Refusal::TooManyForSession(max) => {
                format!("This session already has {max} websockets open, the most allowed (ServiceSettings.MaximumWebsocketsPerSession).")
            }
        };
        ApiError {
            id: Code::WebsocketTooMany.id().into(),
            message,
            detailed_error: String::new(),
            request_id: String::new(),
            status_code: 429,
        }
    }
}

/// Holds one of the hub's unauthenticated-socket places until dropped.
pub struct UnauthenticatedSlot(Arc<Hub>);

impl Drop for UnauthenticatedSlot {
    fn drop(&mut self) {
        self.0.unauthenticated.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hub {
    pub fn new(
        node_id: String,
        server_version: String,
        limits: HubLimits,
        metrics: Arc<Metrics>,
    ) -> Hub {
        Hub {
            node_id,
            server_version,
            limits,
            metrics,
            inner: Mutex::new(HubInner::default()),
            backlog_bytes: AtomicUsize::new(0),
            unauthenticated: AtomicUsize::new(0),
        }
    }

    /// Takes a place for a socket that will authenticate with a challenge, or `None`
    /// when `MaximumUnauthenticatedWebsockets` are already waiting.
    pub fn reserve_unauthenticated(self: &Arc<Self>) -> Option<UnauthenticatedSlot> {
        let taken = self.unauthenticated.fetch_add(1, Ordering::SeqCst);
        let slot = UnauthenticatedSlot(self.clone());
        if taken >= self.limits.unauthenticated {
            self.metrics.websockets_refused.inc();
            return None;
        }
        Some(slot)
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
            let change = conn
                .state
                .lock()
                .expect("conn lock")
                .push(&body, &self.limits);
            self.account(change);
        }
        if self.backlog_bytes.load(Ordering::SeqCst) > self.limits.hub_resume_bytes {
            self.shed();
        }
    }

    pub(super) fn account(&self, change: isize) {
        if change >= 0 {
            self.backlog_bytes
                .fetch_add(change as usize, Ordering::SeqCst);
        } else {
            self.backlog_bytes
                .fetch_sub(change.unsigned_abs(), Ordering::SeqCst);
        }
    }

    /// Brings the backlogs together under `hub_resume_bytes`: forgets the connections
    /// dropped longest ago first, then empties the largest backlogs of live ones.
    pub(super) fn shed(&self) {
        let cap = self.limits.hub_resume_bytes;
        let mut inner = self.inner.lock().expect("hub lock");
        let mut dropped: Vec<(Instant, Arc<Conn>)> = inner
            .conns
            .values()
            .filter_map(|c| {
                let at = c.state.lock().expect("conn lock").disconnected_at?;
                Some((at, c.clone()))
            })
            .collect();
        dropped.sort_by_key(|(at, _)| *at);
        for (_, conn) in dropped {
            if self.backlog_bytes.load(Ordering::SeqCst) <= cap {
                return;
            }
            let freed = conn.state.lock().expect("conn lock").clear_backlog();
            self.account(-(freed as isize));
            inner.remove(&conn);
            self.metrics.resume_states_dropped.inc();
        }
        let mut live: Vec<(usize, Arc<Conn>)> = inner
            .conns
            .values()
            .map(|c| (c.state.lock().expect("conn lock").bytes, c.clone()))
            .collect();
        live.sort_by_key(|(bytes, _)| std::cmp::Reverse(*bytes));
        for (_, conn) in live {
            if self.backlog_bytes.load(Ordering::SeqCst) <= cap {
                return;
            }
            let freed = conn.state.lock().expect("conn lock").clear_backlog();
            self.account(-(freed as isize));
        }
    }

    /// Ids of users with at least one connection (live or resumable) on this node.
    pub fn connected_users(&self) -> Vec<String> {
        let inner = self.inner.lock().expect("hub lock");
        inner.by_user.keys().cloned().collect()
    }

    /// How many of this user's sockets are open on this node now.
    pub fn live_sockets_of(&self, user_id: &str) -> usize {
        let inner = self.inner.lock().expect("hub lock");
        inner.by_user.get(user_id).map_or(0, |ids| {
            ids.iter()
                .filter_map(|id| inner.conns.get(id))
                .filter(|c| c.state.lock().expect("conn lock").is_live())
                .count()
        })
    }

    /// Number of sockets currently open.
    pub fn live_connections(&self) -> usize {
        let inner = self.inner.lock().expect("hub lock");
        inner
            .conns
            .values()
            .filter(|c| c.state.lock().expect("conn lock").is_live())
            .count()
    }

    /// Open sockets and resume-backlog bytes, for `/metrics`.
    pub fn gauges(&self) -> (usize, usize) {
        (
            self.live_connections(),
            self.backlog_bytes.load(Ordering::SeqCst),
        )
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
            self.forget(&mut inner, &conn);
        }
    }

    /// Closes a connection's socket and drops its resume state.
    pub(super) fn forget(&self, inner: &mut HubInner, conn: &Conn) {
        let mut state = conn.state.lock().expect("conn lock");
        state.outbox = None;
        let freed = state.clear_backlog();
        drop(state);
        self.account(-(freed as isize));
        inner.remove(conn);
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

    /// Forgets connections dropped longer ago than the resume window, and closes those
    /// whose session has expired.
    pub fn sweep(&self) {
        let now = now_millis();
        let mut inner = self.inner.lock().expect("hub lock");
        let expired: Vec<Arc<Conn>> = inner
            .conns
            .values()
            .filter(|c| {
                c.session_expires_at <= now
                    || c.state
                        .lock()
                        .expect("conn lock")
                        .disconnected_at
                        .is_some_and(|at| at.elapsed() > self.limits.resume_window)
            })
            .cloned()
            .collect();
        for conn in expired {
            self.forget(&mut inner, &conn);
        }
    }

    /// Attaches a socket: resumes `resume_id` when it belongs to this user and its
    /// backlog still holds `sequence_number`, else opens a new connection with `hello`
    /// (unless the user or session already has as many sockets as allowed).
    pub(super) fn attach(
        &self,
        identity: &SocketIdentity,
        resume_id: &str,
        sequence_number: i64,
    ) -> Result<Attached, Refusal> {
        let (sender, receiver) = mpsc::channel(OUTBOX_LEN);
        if !resume_id.is_empty() {
            let existing = self
                .inner
                .lock()
                .expect("hub lock")
                .conns
                .get(resume_id)
                .cloned();
            if let Some(conn) = existing.filter(|c| c.user_id == identity.user_id) {
                let mut state = conn.state.lock().expect("conn lock");
                let oldest = state
                    .backlog
                    .front()
                    .map_or(state.next_seq, |(seq, _)| *seq);
                if sequence_number >= oldest && sequence_number <= state.next_seq {
                    let replay: Vec<Frame> = state
                        .backlog
                        .iter()
                        .filter(|(seq, _)| *seq >= sequence_number)
                        .cloned()
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
                        return Ok(Attached {
                            conn,
                            generation,
                            outbox: receiver,
                        });
                    }
                }
            }
        }
        let conn = Arc::new(Conn {
            id: new_id(),
            user_id: identity.user_id.clone(),
            session_id: identity.session_id.clone(),
            session_expires_at: identity.session_expires_at,
            state: Mutex::new(ConnState {
                next_seq: 0,
                backlog: VecDeque::new(),
                bytes: 0,
                outbox: Some(sender),
                generation: 1,
                disconnected_at: None,
            }),
        });
        let hello = WebSocketEvent {
            event: events::HELLO.into(),
            data: serde_json::json!({
                "server_version": self.server_version,
                "connection_id": conn.id,
                "server_hostname": self.node_id,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
            broadcast: chorus_model::Broadcast {
                user_id: identity.user_id.clone(),
                ..Default::default()
            },
            seq: 0,
        };
        // Counted, registered and greeted under the hub lock, so no event can slip in
        // before hello and two sockets cannot both take the last place.
        let mut inner = self.inner.lock().expect("hub lock");
        let live_of = |ids: &mut dyn Iterator<Item = &Arc<Conn>>| {
            ids.filter(|c| c.state.lock().expect("conn lock").is_live())
                .count()
        };
        let user_conns = inner.by_user.get(&identity.user_id);
        let user_live = user_conns.map_or(0, |ids| {
            live_of(&mut ids.iter().filter_map(|id| inner.conns.get(id)))
        });
        if user_live >= self.limits.per_user {
            self.metrics.websockets_refused.inc();
            return Err(Refusal::TooManyForUser(self.limits.per_user));
        }
        let session_live = user_conns.map_or(0, |ids| {
            live_of(
                &mut ids
                    .iter()
                    .filter_map(|id| inner.conns.get(id))
                    .filter(|c| c.session_id == identity.session_id),
            )
        });
        if session_live >= self.limits.per_session {
            self.metrics.websockets_refused.inc();
            return Err(Refusal::TooManyForSession(self.limits.per_session));
        }
        let change = conn
            .state
            .lock()
            .expect("conn lock")
            .push(&body_without_seq(&hello), &self.limits);
        self.account(change);
        inner.conns.insert(conn.id.clone(), conn.clone());
        inner
            .by_user
            .entry(identity.user_id.clone())
            .or_default()
            .insert(conn.id.clone());
        Ok(Attached {
            conn,
            generation: 1,
            outbox: receiver,
        })
    }

    pub(super) fn detach(&self, conn: &Conn, generation: u64) {
        let mut state = conn.state.lock().expect("conn lock");
        if state.generation == generation {
            state.outbox = None;
            state.disconnected_at = Some(Instant::now());
        }
    }
}

impl HubInner {
    pub(super) fn remove(&mut self, conn: &Conn) {
        self.conns.remove(&conn.id);
        if let Some(ids) = self.by_user.get_mut(&conn.user_id) {
            ids.remove(&conn.id);
            if ids.is_empty() {
                self.by_user.remove(&conn.user_id);
            }
        }
    }
}

/// Keeps the hub tidy: forgets connections that were not resumed in time. Runs until
/// the node's services stop.
pub async fn sweep_forever(hub: Arc<Hub>) {
    let mut tick = tokio::time::interval(Duration::from_secs(15));
    loop {
        tick.tick().await;
        hub.sweep();
    }
}
