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
//! the messages of each envelope from another node, in order, to the node's
//! dispatcher ([`super::dispatch`]) as [`Delivery`]s. Notifications sent while that
//! connection was down are lost for good, so after every reconnection the dispatcher
//! is told ([`Delivery::Reconnected`]) and re-reads what it could have missed.
//!
//! The bus is transport only: it knows the database, the envelope format and the
//! message type, not what a message means to the node.

use super::ClusterMessage;
use crate::lifecycle::{Lifecycle, Stage};
use crate::store::Store;
use prometheus_client::metrics::histogram::Histogram;
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

/// What the listener hands the dispatcher.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every delivery is a message: boxing it would only add an allocation"
)]
pub enum Delivery {
    /// A message from another node.
    Message {
        origin: String,
        message: ClusterMessage,
    },
    /// The listening connection came back after it was lost: messages may have been
    /// missed.
    Reconnected,
}

/// Deliveries queued for the dispatcher before the listener waits for it.
const DELIVERY_QUEUE: usize = 4096;

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

    /// Starts the publisher and the listener in the node's transport stage; answers
    /// what the listener receives, for the dispatcher. Large messages go through
    /// `store`; `lag` observes how long messages took to arrive.
    pub fn start(
        self: &Arc<Self>,
        lifecycle: &Lifecycle,
        store: Store,
        lag: Histogram,
    ) -> mpsc::Receiver<Delivery> {
        let pending = self.pending.lock().expect("bus lock").take();
        if let Some(pending) = pending {
            lifecycle.spawn(
                Stage::Transport,
                publish_loop(self.clone(), store.clone(), pending),
            );
        }
        let (deliveries, received) = mpsc::channel(DELIVERY_QUEUE);
        let receiver = Receiver {
            bus: self.clone(),
            store,
            lag,
            deliveries,
        };
        lifecycle.spawn(Stage::Transport, receiver.listen());
        received
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
    store: Store,
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

async fn store_large(store: &Store, payload: &str) -> Option<i64> {
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

/// The listening end: the LISTEN connection and what it receives.
struct Receiver {
    bus: Arc<Bus>,
    store: Store,
    lag: Histogram,
    deliveries: mpsc::Sender<Delivery>,
}

impl Receiver {
    /// Listens until the transport stage stops (or the dispatcher is gone), reconnecting
    /// whenever the connection fails.
    async fn listen(self) {
        let mut attempt = 0u32;
        let mut connected_before = false;
        loop {
            let mut listener = match connect_listener(&self.bus.pools.listen).await {
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
                if self.deliveries.send(Delivery::Reconnected).await.is_err() {
                    return;
                }
            }
            connected_before = true;
            self.bus.connected.send_replace(true);
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        if !self.receive(notification.payload()).await {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "cluster bus: the listening connection failed");
                        break;
                    }
                }
            }
            self.bus.connected.send_replace(false);
            tracing::warn!("cluster bus: lost the listening connection; reconnecting");
        }
    }

    /// Hands the messages of one envelope from another node to the dispatcher; answers
    /// `false` once the dispatcher is gone.
    async fn receive(&self, payload: &str) -> bool {
        let envelope: Envelope = match serde_json::from_str(payload) {
            Ok(envelope) => envelope,
            Err(err) => {
                tracing::warn!(error = %err, "cluster bus: ignoring a malformed message");
                return true;
            }
        };
        if envelope.origin == self.bus.node_id {
            return true;
        }
        if envelope.sent_at > 0 {
            let lag_ms = (chorus_model::now_millis() - envelope.sent_at).max(0);
            self.lag.observe(lag_ms as f64 / 1000.0);
        }
        let messages = match envelope.stored {
            None => envelope.messages,
            Some(id) => match self.store.cluster_message(id).await {
                Ok(Some(stored)) => match serde_json::from_str::<Envelope>(&stored) {
                    Ok(envelope) => envelope.messages,
                    Err(err) => {
                        tracing::warn!(error = %err, id, "cluster bus: malformed stored message");
                        return true;
                    }
                },
                Ok(None) => {
                    tracing::warn!(id, "cluster bus: a stored message is gone");
                    return true;
                }
                Err(err) => {
                    tracing::warn!(error = %err, id, "cluster bus: cannot read a stored message");
                    return true;
                }
            },
        };
        for message in messages {
            let delivery = Delivery::Message {
                origin: envelope.origin.clone(),
                message,
            };
            if self.deliveries.send(delivery).await.is_err() {
                return false;
            }
        }
        true
    }
}

async fn connect_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnection is ours (so that the dispatcher hears of it), not the listener's.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Deletes large messages every node has had time to read.
pub async fn sweep_large_messages(store: &Store) {
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
