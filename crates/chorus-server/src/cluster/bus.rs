//! The cluster bus: cluster messages between the nodes of one deployment over
//! PostgreSQL `LISTEN/NOTIFY` on the channel [`CHANNEL`].
//!
//! Sending: [`Bus::send`] queues a message and returns at once. One publisher task per
//! node drains the queue and sends everything queued in one statement on its own
//! connection (`SELECT pg_notify(...) FROM unnest(...)`), so a busy node batches, the
//! lock NOTIFY takes at commit is never held by a transaction that writes chat data,
//! and the order of one node's messages is kept. Messages are packed into envelopes of
//! at most [`INLINE_LIMIT`] bytes; one message larger than that is stored in
//! `cluster_messages` and the envelope carries its row id.
//!
//! Receiving: one listener task per node holds a dedicated LISTEN connection and hands
//! each envelope from another node to [`dispatch`]. Notifications sent while that
//! connection was down are lost for good, so after every reconnection the node
//! re-reads the state it could have missed ([`resync`]): plugin bundles, states and
//! settings, and the sessions behind its websockets. Websocket events missed in that
//! window are not replayed; clients learn of the gap as after any reconnection.

use crate::lifecycle::Stage;
use crate::AppState;
use chorus_model::WebSocketEvent;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The NOTIFY channel of every Chorus node sharing a database.
pub const CHANNEL: &str = "chorus_cluster";
/// Largest NOTIFY payload sent inline; PostgreSQL's limit is 8000 bytes.
pub const INLINE_LIMIT: usize = 7000;
/// Most messages one publishing statement carries.
const MAX_BATCH: usize = 512;
/// How long large messages stay in `cluster_messages`.
const LARGE_MESSAGE_RETENTION_MS: i64 = 10 * 60 * 1000;

/// What nodes tell each other.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClusterMessage {
    /// A websocket event for `audience` (`None`: every user connected to the node).
    WebsocketEvent {
        event: WebSocketEvent,
        audience: Option<Vec<String>>,
    },
    /// A session ended (logout): close its websockets.
    SessionRevoked { session_id: String },
    /// A plugin's stored bundle or enabled state changed: re-read it from the database.
    /// `retry_failed` restarts a copy that failed (an admin enabled it).
    PluginChanged {
        plugin_id: String,
        retry_failed: bool,
    },
    /// A plugin was removed: stop and delete the local copy, however it was deployed.
    PluginRemoved { plugin_id: String },
    /// A plugin's settings were saved: tell the local copy.
    PluginConfigChanged { plugin_id: String },
    /// `PublishPluginClusterEvent`: for the copies of `plugin_id` on every other node,
    /// or only on `target_node_id` when it is not empty.
    PluginClusterEvent {
        plugin_id: String,
        target_node_id: String,
        id: String,
        data: Vec<u8>,
    },
}

/// One NOTIFY payload: the sending node, its message number, and either the messages
/// or the id of the `cluster_messages` row that holds them.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    #[serde(rename = "o")]
    origin: String,
    #[serde(rename = "m", default, skip_serializing_if = "Vec::is_empty")]
    messages: Vec<ClusterMessage>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    stored: Option<i64>,
    /// When the sender packed it (ms since the epoch), for the bus-lag metric.
    #[serde(rename = "t", default)]
    sent_at: i64,
}

/// This node's end of the bus.
pub struct Bus {
    node_id: String,
    queue: mpsc::UnboundedSender<ClusterMessage>,
    pending: Mutex<Option<mpsc::UnboundedReceiver<ClusterMessage>>>,
    connected: watch::Sender<bool>,
    pools: BusPools,
}

struct BusPools {
    publish: PgPool,
    listen: PgPool,
}

impl Bus {
    /// Prepares the bus for the database at `url`; connections open lazily.
    pub fn new(node_id: &str, url: &str) -> Result<Bus, sqlx::Error> {
        let options = PgConnectOptions::from_str(url)?;
        let short_id = &node_id[..node_id.len().min(8)];
        let pool = |role: &str| {
            PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(5))
                .connect_lazy_with(
                    options
                        .clone()
                        .application_name(&format!("chorus-bus-{role}-{short_id}")),
                )
        };
        let (queue, pending) = mpsc::unbounded_channel();
        Ok(Bus {
            node_id: node_id.to_string(),
            queue,
            pending: Mutex::new(Some(pending)),
            connected: watch::channel(false).0,
            pools: BusPools {
                publish: pool("publish"),
                listen: pool("listen"),
            },
        })
    }

    /// Queues `message` for the other nodes.
    pub fn send(&self, message: ClusterMessage) {
        // Fails only after shutdown, when nobody is left to tell.
        let _ = self.queue.send(message);
    }

    /// Whether the LISTEN connection is up.
    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// Waits until the LISTEN connection is up, at most `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut connected = self.connected.subscribe();
        tokio::time::timeout(timeout, connected.wait_for(|up| *up))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Starts the publisher and the listener in the node's transport stage.
    pub fn start(self: &Arc<Self>, state: &Arc<AppState>) {
        let pending = self.pending.lock().expect("bus lock").take();
        if let Some(pending) = pending {
            state.lifecycle.spawn(
                Stage::Transport,
                publish_loop(self.clone(), state.store.clone(), pending),
            );
        }
        state
            .lifecycle
            .spawn(Stage::Transport, listen_loop(self.clone(), state.clone()));
    }

    pub async fn close(&self) {
        self.pools.publish.close().await;
        self.pools.listen.close().await;
    }
}

/// Packs serialised messages, in order, into payloads of at most [`INLINE_LIMIT`]
/// bytes; a message too large alone is returned as `Err` for the table.
fn pack(origin: &str, messages: &[ClusterMessage]) -> Vec<Result<String, String>> {
    let header = format!(
        "{{\"o\":{},\"t\":{},\"m\":[",
        serde_json::Value::from(origin),
        chorus_model::now_millis()
    );
    let mut payloads = Vec::new();
    let mut current = String::new();
    let finish = |current: &mut String, payloads: &mut Vec<Result<String, String>>| {
        if !current.is_empty() {
            payloads.push(Ok(format!("{header}{current}]}}")));
            current.clear();
        }
    };
    for message in messages {
        let json = serde_json::to_string(message).expect("cluster messages serialise");
        if header.len() + json.len() + 2 > INLINE_LIMIT {
            finish(&mut current, &mut payloads);
            payloads.push(Err(format!("{header}{json}]}}")));
            continue;
        }
        if header.len() + current.len() + json.len() + 3 > INLINE_LIMIT {
            finish(&mut current, &mut payloads);
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&json);
    }
    finish(&mut current, &mut payloads);
    payloads
}

async fn publish_loop(
    bus: Arc<Bus>,
    store: crate::Store,
    mut queue: mpsc::UnboundedReceiver<ClusterMessage>,
) {
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut payloads = Vec::with_capacity(batch.len());
        for packed in pack(&bus.node_id, &batch) {
            match packed {
                Ok(inline) => payloads.push(inline),
                Err(large) => match store_large(&store, &large).await {
                    Some(id) => payloads.push(
                        serde_json::to_string(&Envelope {
                            origin: bus.node_id.clone(),
                            messages: Vec::new(),
                            stored: Some(id),
                            sent_at: chorus_model::now_millis(),
                        })
                        .expect("envelopes serialise"),
                    ),
                    None => tracing::error!(
                        "a large cluster message was dropped: the database refused it"
                    ),
                },
            }
        }
        batch.clear();
        notify_with_retry(&bus.pools.publish, &payloads).await;
    }
}

async fn store_large(store: &crate::Store, payload: &str) -> Option<i64> {
    for attempt in 0..10u32 {
        match store.save_cluster_message(payload).await {
            Ok(id) => return Some(id),
            Err(err) => {
                tracing::warn!(error = %err, attempt, "cannot store a large cluster message; retrying");
                tokio::time::sleep(retry_delay(attempt)).await;
            }
        }
    }
    None
}

/// Sends the payloads, retrying for about ten seconds while the database is away.
/// Dropping them after that loses only transient events: state changes are re-read by
/// every node when its listener reconnects.
async fn notify_with_retry(pool: &PgPool, payloads: &[String]) {
    if payloads.is_empty() {
        return;
    }
    for attempt in 0..20u32 {
        let sent = sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
            .bind(CHANNEL)
            .bind(payloads)
            .execute(pool)
            .await;
        match sent {
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = %err, attempt, "cannot publish on the cluster bus; retrying");
                tokio::time::sleep(retry_delay(attempt)).await;
            }
        }
    }
    tracing::error!(
        count = payloads.len(),
        "cluster messages dropped after the database stayed unreachable"
    );
}

fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis((50u64 << attempt.min(4)).min(1000))
}

async fn listen_loop(bus: Arc<Bus>, state: Arc<AppState>) {
    let mut attempt = 0u32;
    let mut connected_before = false;
    loop {
        let mut listener = match connect_listener(&bus.pools.listen).await {
            Ok(listener) => listener,
            Err(err) => {
                if attempt == 0 {
                    tracing::warn!(error = %err, "cluster bus: cannot listen; retrying");
                }
                tokio::time::sleep(retry_delay(attempt)).await;
                attempt = attempt.saturating_add(1);
                continue;
            }
        };
        attempt = 0;
        if connected_before {
            tracing::info!("cluster bus: listening again; re-reading shared state");
            resync(&state).await;
        }
        connected_before = true;
        bus.connected.send_replace(true);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    receive(&state, &bus.node_id, notification.payload()).await;
                }
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "cluster bus: the listening connection failed");
                    break;
                }
            }
        }
        bus.connected.send_replace(false);
        tracing::warn!("cluster bus: lost the listening connection; reconnecting");
    }
}

async fn connect_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnection is ours (so that a resync follows it), not the listener's.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn receive(state: &Arc<AppState>, node_id: &str, payload: &str) {
    let envelope: Envelope = match serde_json::from_str(payload) {
        Ok(envelope) => envelope,
        Err(err) => {
            tracing::warn!(error = %err, "cluster bus: ignoring a malformed message");
            return;
        }
    };
    if envelope.origin == node_id {
        return;
    }
    if envelope.sent_at > 0 {
        let lag_ms = (chorus_model::now_millis() - envelope.sent_at).max(0);
        state.metrics.bus_lag.observe(lag_ms as f64 / 1000.0);
    }
    let messages = match envelope.stored {
        None => envelope.messages,
        Some(id) => match state.store.cluster_message(id).await {
            Ok(Some(stored)) => match serde_json::from_str::<Envelope>(&stored) {
                Ok(envelope) => envelope.messages,
                Err(err) => {
                    tracing::warn!(error = %err, id, "cluster bus: malformed stored message");
                    return;
                }
            },
            Ok(None) => {
                tracing::warn!(id, "cluster bus: a stored message is gone");
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, id, "cluster bus: cannot read a stored message");
                return;
            }
        },
    };
    for message in messages {
        dispatch(state, &envelope.origin, message);
    }
}

/// Applies one message from another node to this node.
pub fn dispatch(state: &Arc<AppState>, origin: &str, message: ClusterMessage) {
    match message {
        ClusterMessage::WebsocketEvent { event, audience } => {
            let audience = audience.unwrap_or_else(|| state.hub.connected_users());
            state.hub.deliver(&event, &audience);
        }
        ClusterMessage::SessionRevoked { session_id } => state.hub.close_session_id(&session_id),
        ClusterMessage::PluginChanged {
            plugin_id,
            retry_failed,
        } => state.plugins.request_sync(Some(plugin_id), retry_failed),
        ClusterMessage::PluginRemoved { plugin_id } => state.plugins.request_removal(plugin_id),
        ClusterMessage::PluginConfigChanged { .. } => state.plugins.request_configuration_check(),
        ClusterMessage::PluginClusterEvent {
            plugin_id,
            target_node_id,
            id,
            data,
        } => {
            if target_node_id.is_empty() || target_node_id == state.node_id {
                state.plugins.deliver_plugin_cluster_event(
                    &plugin_id,
                    chorus_plugin_protocol::v1::PluginClusterEvent {
                        id,
                        data,
                        source_node_id: origin.to_string(),
                    },
                );
            }
        }
    }
}

/// Re-reads what a node may have missed while it was not listening.
async fn resync(state: &Arc<AppState>) {
    state.plugins.request_sync(None, false);
    state.plugins.request_configuration_check();
    let sessions = state.hub.session_ids();
    match state.store.live_session_ids(&sessions).await {
        Ok(live) => {
            for session_id in sessions.iter().filter(|id| !live.contains(id)) {
                state.hub.close_session_id(session_id);
            }
        }
        Err(err) => tracing::warn!(error = %err, "cannot re-check websocket sessions"),
    }
}

/// Deletes large messages every node has had time to read.
pub async fn sweep_large_messages(store: &crate::Store) {
    let before = chorus_model::now_millis() - LARGE_MESSAGE_RETENTION_MS;
    if let Err(err) = store.delete_cluster_messages_before(before).await {
        tracing::warn!(error = %err, "cannot sweep old cluster messages");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_of_size(bytes: usize) -> ClusterMessage {
        ClusterMessage::SessionRevoked {
            session_id: "x".repeat(bytes),
        }
    }

    #[test]
    fn small_messages_share_a_payload_and_keep_their_order() {
        let messages: Vec<_> = (0..5).map(|i| event_of_size(10 + i)).collect();
        let payloads = pack("node", &messages);
        assert_eq!(payloads.len(), 1);
        let envelope: Envelope = serde_json::from_str(payloads[0].as_ref().unwrap()).unwrap();
        assert_eq!(envelope.origin, "node");
        let sizes: Vec<usize> = envelope
            .messages
            .iter()
            .map(|m| match m {
                ClusterMessage::SessionRevoked { session_id } => session_id.len(),
                _ => 0,
            })
            .collect();
        assert_eq!(sizes, vec![10, 11, 12, 13, 14]);
    }

    #[test]
    fn payloads_stay_under_the_limit_and_large_messages_go_to_the_table() {
        let messages = vec![
            event_of_size(3000),
            event_of_size(3000),
            event_of_size(3000),
            event_of_size(9000),
            event_of_size(10),
        ];
        let payloads = pack("node", &messages);
        let inline: Vec<&String> = payloads.iter().filter_map(|p| p.as_ref().ok()).collect();
        let large: Vec<&String> = payloads.iter().filter_map(|p| p.as_ref().err()).collect();
        assert!(inline.iter().all(|p| p.len() <= INLINE_LIMIT));
        assert_eq!(large.len(), 1);
        assert!(large[0].len() > 9000);
        // Order is kept: two messages, one, the large one, then the last.
        assert!(payloads[2].is_err());
        let counts: Vec<usize> = payloads
            .iter()
            .map(|p| {
                let text = match p {
                    Ok(t) | Err(t) => t,
                };
                serde_json::from_str::<Envelope>(text)
                    .unwrap()
                    .messages
                    .len()
            })
            .collect();
        assert_eq!(counts, vec![2, 1, 1, 1]);
    }
}
