//! A login flood: 200 clients sending wrong passwords as fast as they can, for as long
//! as a throughput run lasts, against one node. Reported: passwords checked per second
//! beside one client's rate, logins refused as busy, the latency of ordinary requests
//! (`GET /system/ping`) during the flood beside idle, and the node's peak memory beside
//! its memory before. The flood uses unknown login ids, which cost a hash like real
//! accounts (a real one would lock after ten failures and stop costing anything).

use crate::memory::rss_mib;
use crate::report::{Report, Row};
use chorus_client::{Client, Method, StatusCode};
use chorus_testkit::load::quantile;
use chorus_testkit::Node;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FLOOD_CLIENTS: usize = 200;

pub async fn flood(report: &mut Report, node: &Node, seconds: u64) {
    let pid = node.pid().expect("node runs");
    let client = Client::new(node.base_url());
    let idle_pings = ping_latencies(&client, Duration::from_secs(2)).await;
    let before = rss_mib(pid);

    let one = count_logins(&client, 1, Duration::from_secs(seconds)).await;
    let run = Duration::from_secs(seconds);
    let flood = {
        let client = client.clone();
        tokio::spawn(async move { count_logins(&client, FLOOD_CLIENTS, run).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut peak = rss_mib(pid);
    let pings = {
        let started = Instant::now();
        let mut latencies = Vec::new();
        while started.elapsed() < run - Duration::from_secs(1) {
            let sent = Instant::now();
            let _ = client.ping().await;
            latencies.push(sent.elapsed());
            peak = peak.max(rss_mib(pid));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        latencies.sort();
        latencies
    };
    let flooded = flood.await.expect("flood task");
    let secs = seconds as f64;
    report.add(
        Row::new(
            "logins",
            format!("{FLOOD_CLIENTS}-client wrong-password flood: passwords checked"),
            flooded.checked as f64 / secs,
            "/s",
        )
        .against("1 client", one.checked as f64 / secs),
    );
    report.add(Row::new(
        "logins",
        format!("{FLOOD_CLIENTS}-client flood: logins refused as busy (503)"),
        flooded.busy as f64 / secs,
        "/s",
    ));
    report.add(
        Row::new(
            "logins",
            "GET /system/ping p50 during the flood",
            ms(quantile(&pings, 0.5)),
            "ms",
        )
        .against("idle", ms(quantile(&idle_pings, 0.5))),
    );
    report.add(
        Row::new(
            "logins",
            "GET /system/ping p99 during the flood",
            ms(quantile(&pings, 0.99)),
            "ms",
        )
        .against("idle", ms(quantile(&idle_pings, 0.99))),
    );
    report.add(
        Row::new(
            "logins",
            "node RSS at its peak during the flood",
            peak,
            "MiB",
        )
        .against("before", before),
    );
}

struct Counts {
    checked: usize,
    busy: usize,
}

/// `clients` loops of wrong logins for `run`: answers (401, 503) counted.
async fn count_logins(client: &Client, clients: usize, run: Duration) -> Counts {
    let checked = Arc::new(AtomicUsize::new(0));
    let busy = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + run;
    let tasks: Vec<_> = (0..clients)
        .map(|n| {
            let client = client.clone();
            let (checked, busy) = (checked.clone(), busy.clone());
            tokio::spawn(async move {
                let body = json!({"login_id": format!("nobody-{n}"), "password": "not-a-password"});
                while Instant::now() < deadline {
                    let reply = client.call(Method::POST, "/users/login", Some(&body)).await;
                    match reply.map(|r| r.status) {
                        Ok(StatusCode::UNAUTHORIZED) => checked.fetch_add(1, Ordering::Relaxed),
                        Ok(StatusCode::SERVICE_UNAVAILABLE) => busy.fetch_add(1, Ordering::Relaxed),
                        _ => 0,
                    };
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    Counts {
        checked: checked.load(Ordering::Relaxed),
        busy: busy.load(Ordering::Relaxed),
    }
}

async fn ping_latencies(client: &Client, run: Duration) -> Vec<Duration> {
    let started = Instant::now();
    let mut latencies = Vec::new();
    while started.elapsed() < run {
        let sent = Instant::now();
        let _ = client.ping().await;
        latencies.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    latencies
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
