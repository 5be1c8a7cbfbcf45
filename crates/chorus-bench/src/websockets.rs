//! Scenarios 3, 4 (node kill) and 6 (memory of a node holding sockets): a thousand
//! websockets owned by the population's holders, spread over the cluster's nodes.
//!
//! Each socket runs in its own task and reports every `posted` event with the instant
//! it arrived, so one post gives one delivery latency per socket: same-node for the
//! sockets on the node that took the post, cross-node for the others.

use crate::memory::rss_mib;
use crate::posts::Population;
use crate::report::{Report, Row, Target};
use chorus_testkit::client::{event_post, id};
use chorus_testkit::load::quantile;
use chorus_testkit::{Cluster, Endpoint, Ws};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What socket tasks tell the benchmark.
enum SocketNews {
    Posted {
        post_id: String,
        node: usize,
        at: Instant,
    },
    Reconnected {
        at: Instant,
    },
}

/// Opens one socket per token, socket `i` on `nodes[i % nodes.len()]`. When a socket
/// closes, its task reconnects to the next node in `nodes` (as a client behind a
/// load balancer would), retrying every 50 ms, and reports the new `hello`.
async fn open_sockets(
    cluster: &Cluster,
    tokens: &[String],
    nodes: &[usize],
) -> (
    Vec<tokio::task::JoinHandle<()>>,
    mpsc::UnboundedReceiver<SocketNews>,
) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let urls: Arc<Vec<(usize, String)>> = Arc::new(
        nodes
            .iter()
            .map(|&n| (n, cluster.node(n).base_url()))
            .collect(),
    );
    let mut tasks = Vec::with_capacity(tokens.len());
    let (opened_sender, mut opened) = mpsc::unbounded_channel::<()>();
    for (i, token) in tokens.iter().enumerate() {
        let token = token.clone();
        let urls = urls.clone();
        let sender = sender.clone();
        let opened_sender = opened_sender.clone();
        tasks.push(tokio::spawn(async move {
            let mut choice = i % urls.len();
            let mut first = true;
            loop {
                let (node, url) = &urls[choice];
                let endpoint = Url(url.clone());
                let Some(mut socket) = Ws::try_ready(&endpoint, &token).await else {
                    choice = (choice + 1) % urls.len();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if first {
                    first = false;
                    let _ = opened_sender.send(());
                } else {
                    let _ = sender.send(SocketNews::Reconnected { at: Instant::now() });
                }
                while let Some(text) = socket.next_text_patient().await {
                    let at = Instant::now();
                    if let Some(post_id) = posted_id(&text) {
                        let _ = sender.send(SocketNews::Posted {
                            post_id,
                            node: *node,
                            at,
                        });
                    }
                }
                choice = (choice + 1) % urls.len();
            }
        }));
    }
    drop(opened_sender);
    for _ in 0..tokens.len() {
        tokio::time::timeout(Duration::from_secs(120), opened.recv())
            .await
            .expect("every socket opens within two minutes");
    }
    (tasks, receiver)
}

/// The post id of a `posted` frame. A thousand sockets share the benchmark's two
/// cores with the servers, so frames are timed on arrival and read with a substring
/// search (the post's JSON, a string inside the frame, starts with its id) rather
/// than parsed twice; anything unexpected falls back to parsing.
fn posted_id(text: &str) -> Option<String> {
    if !text.contains(r#""event":"posted""#) {
        return None;
    }
    const MARKER: &str = r#"\"id\":\""#;
    let quick = text.find(MARKER).and_then(|at| {
        let start = at + MARKER.len();
        let id = text.get(start..start + 26)?;
        chorus_model::is_valid_id(id).then(|| id.to_string())
    });
    quick.or_else(|| {
        let frame: serde_json::Value = serde_json::from_str(text).ok()?;
        Some(id(&event_post(&frame)))
    })
}

struct Url(String);

impl Endpoint for Url {
    fn base_url(&self) -> String {
        self.0.clone()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Posts `samples` times through node 0, one at a time, each once every socket got
/// the previous one, and returns same-node and cross-node delivery latencies.
async fn deliveries(
    population: &Population,
    cluster: &Cluster,
    receiver: &mut mpsc::UnboundedReceiver<SocketNews>,
    sockets: usize,
    samples: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let poster = population.admin.at(cluster.node(0));
    let mut same = Vec::new();
    let mut cross = Vec::new();
    for i in 0..samples {
        let started = Instant::now();
        let (status, post) = poster
            .post(
                "/posts",
                json!({"channel_id": population.town_square_id, "message": format!("fan-out {i}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{post}");
        let post_id = id(&post);
        let mut arrived = 0;
        while arrived < sockets {
            let report = tokio::time::timeout(Duration::from_secs(30), receiver.recv())
                .await
                .expect("every socket receives the post")
                .expect("socket tasks run");
            if let SocketNews::Posted {
                post_id: got,
                node,
                at,
            } = report
            {
                if got == post_id {
                    arrived += 1;
                    let latency = at - started;
                    if node == 0 {
                        same.push(latency);
                    } else {
                        cross.push(latency);
                    }
                }
            }
        }
    }
    same.sort();
    cross.sort();
    (same, cross)
}

pub async fn latency(
    report: &mut Report,
    cluster: &Cluster,
    population: &Population,
    samples: usize,
) {
    let tokens = population.holder_tokens();
    let nodes: Vec<usize> = (0..cluster.nodes().len()).collect();

    // First one socket per node: the bus hop alone, without a thousand-socket fan-out
    // competing for the same two cores.
    let (tasks, mut receiver) = open_sockets(cluster, &tokens[..nodes.len()], &nodes).await;
    let (same, cross) = deliveries(population, cluster, &mut receiver, nodes.len(), samples).await;
    for task in tasks {
        task.abort();
    }
    add_delivery_rows(
        report,
        &format!("one socket per node, {samples} posts"),
        &same,
        &cross,
    );

    let (tasks, mut receiver) = open_sockets(cluster, &tokens, &nodes).await;
    let (same, cross) = deliveries(population, cluster, &mut receiver, tokens.len(), samples).await;
    let label = format!(
        "{} sockets on {} nodes, {samples} posts",
        tokens.len(),
        nodes.len()
    );
    add_delivery_rows(report, &label, &same, &cross);
    for task in tasks {
        task.abort();
    }
}

/// Cross-node delivery p50 and p99 beside the same-node figures; the target
/// (p99 < 20 ms) is on the cross-node p99.
fn add_delivery_rows(report: &mut Report, label: &str, same: &[Duration], cross: &[Duration]) {
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        let row = Row::new(
            "websockets",
            format!("cross-node delivery {name} ({label})"),
            ms(quantile(cross, q)),
            "ms",
        )
        .against("same-node delivery", ms(quantile(same, q)));
        report.add(if q == 0.99 {
            row.target(Target::AtMost(20.0))
        } else {
            row
        });
    }
}

/// Resident memory of one node before and while it holds every socket.
pub async fn memory(report: &mut Report, cluster: &Cluster, population: &Population) {
    let node = cluster.nodes().len() - 1;
    let pid = cluster.node(node).pid().expect("node runs");
    let before = rss_mib(pid);
    let tokens = population.holder_tokens();
    let (tasks, _receiver) = open_sockets(cluster, &tokens, &[node]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let holding = rss_mib(pid);
    report.add(
        Row::new(
            "memory",
            format!("node holding {} websockets, RSS", tokens.len()),
            holding,
            "MiB",
        )
        .against("the same node before", before),
    );
    // The longest posts there are (16,383 four-byte characters), to every socket.
    let message = "\u{1F600}".repeat(16_383);
    for _ in 0..MAXIMUM_POSTS {
        let (status, _) = population
            .admin
            .post(
                "/posts",
                json!({"channel_id": population.town_square_id, "message": message}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    report.add(
        Row::new(
            "memory",
            format!(
                "node holding {} websockets after {MAXIMUM_POSTS} posts of 64 KiB, RSS",
                tokens.len()
            ),
            rss_mib(pid),
            "MiB",
        )
        .against("the same node before the posts", holding),
    );
    for task in tasks {
        task.abort();
    }
}

/// Maximum-size posts sent to every socket in the memory scenario.
const MAXIMUM_POSTS: usize = 100;

/// Kills node 0 while its share of the sockets is connected, and times until each of
/// them has a `hello` from another node.
pub async fn node_kill(report: &mut Report, cluster: &mut Cluster, population: &Population) {
    let tokens = population.holder_tokens();
    let nodes: Vec<usize> = (0..cluster.nodes().len()).collect();
    let (tasks, mut receiver) = open_sockets(cluster, &tokens, &nodes).await;
    let on_killed_node = tokens.len().div_ceil(nodes.len());
    let killed_at = Instant::now();
    cluster.kill(0);
    let mut reconnections = Vec::with_capacity(on_killed_node);
    while reconnections.len() < on_killed_node {
        let report = tokio::time::timeout(Duration::from_secs(60), receiver.recv())
            .await
            .expect("the killed node's sockets reconnect within a minute")
            .expect("socket tasks run");
        if let SocketNews::Reconnected { at } = report {
            reconnections.push(at - killed_at);
        }
    }
    reconnections.sort();
    let all = *reconnections.last().unwrap_or(&Duration::ZERO);
    report.add(Row::new(
        "failover",
        format!("node kill -9 → first of its {on_killed_node} sockets reconnected elsewhere"),
        ms(reconnections[0]),
        "ms",
    ));
    report.add(
        Row::new(
            "failover",
            format!("node kill -9 → all {on_killed_node} of its sockets reconnected elsewhere"),
            ms(all),
            "ms",
        )
        .target(Target::AtMost(5000.0)),
    );
    for task in tasks {
        task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::posted_id;

    #[test]
    fn finds_the_post_id_of_posted_frames_only() {
        let post = serde_json::json!({"id": "abcdefghijklmnopqrstuvwxyz", "message": "hi"});
        let frame = serde_json::json!({
            "event": "posted",
            "data": {"channel_name": "town", "post": post.to_string()},
            "seq": 3,
        })
        .to_string();
        assert_eq!(
            posted_id(&frame).as_deref(),
            Some("abcdefghijklmnopqrstuvwxyz")
        );
        let typing = serde_json::json!({"event": "typing", "data": {}}).to_string();
        assert_eq!(posted_id(&typing), None);
    }
}
