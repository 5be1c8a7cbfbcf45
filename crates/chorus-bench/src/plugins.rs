//! Scenario 4 (plugins) and 5: enabling a plugin until it runs on every node, a
//! plugin's crash until its node serves it again, and plugin KV operations per second
//! through the plugin API, on one node and on every node at once.

use crate::posts::{plugin_action, wait_all};
use crate::report::{Report, Row, Target};
use chorus_testkit::load::quantile;
use chorus_testkit::plugins::{child_processes, plugin_bundle};
use chorus_testkit::{Api, Cluster};
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};

const NOOP: &str = "com.chorus.test.noop";
const DEMO: &str = "com.chorus.demo";
const FAULTY: &str = "com.chorus.test.faulty";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub async fn lifecycle(report: &mut Report, cluster: &Cluster, admin: &Api, runs: usize) {
    let nodes = cluster.nodes().len();
    let (status, body) = admin
        .upload_plugin(plugin_bundle("noop", "noop"), true)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut enable_times = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        plugin_action(&admin.at(cluster.node(run % nodes)), NOOP, "enable").await;
        wait_all(admin, NOOP, nodes, 2).await;
        enable_times.push(started.elapsed());
        plugin_action(admin, NOOP, "disable").await;
        wait_all(admin, NOOP, nodes, 0).await;
    }
    enable_times.sort();
    add_p50_and_max(
        report,
        &format!("enable → running on all {nodes} nodes ({runs} runs)"),
        &enable_times,
    );

    admin.install_plugin(plugin_bundle("demo", "demo")).await;
    wait_all(admin, DEMO, nodes, 2).await;
    let node_pid = cluster.node(0).pid().expect("node 0 runs");
    let on_node0 = admin.at(cluster.node(0));
    let mut recoveries = Vec::new();
    for _ in 0..runs.min(5) {
        let pid = child_processes(node_pid, "demo")
            .first()
            .copied()
            .expect("the demo plugin runs");
        // SAFETY: killing a plugin process started by our node.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
        let started = Instant::now();
        loop {
            let replaced = child_processes(node_pid, "demo")
                .first()
                .is_some_and(|&p| p != pid);
            let serves = on_node0
                .plugin_request(Method::GET, DEMO, "/hello")
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if replaced && serves {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "no recovery");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        recoveries.push(started.elapsed());
        // After a healthy run the supervisor's restart backoff starts over; each
        // crash is measured from there, as a one-off crash would be.
        tokio::time::sleep(Duration::from_millis(5500)).await;
    }
    recoveries.sort();
    add_p50_and_max(
        report,
        &format!(
            "crash (SIGKILL) → serving again ({} runs)",
            recoveries.len()
        ),
        &recoveries,
    );
    plugin_action(admin, DEMO, "disable").await;
}

/// A p50 row and a max row; the target (< 1 s) applies to the worst run.
fn add_p50_and_max(report: &mut Report, what: &str, sorted: &[Duration]) {
    report.add(Row::new(
        "plugins",
        format!("{what}, p50"),
        ms(quantile(sorted, 0.5)),
        "ms",
    ));
    report.add(
        Row::new(
            "plugins",
            format!("{what}, max"),
            ms(*sorted.last().unwrap_or(&Duration::ZERO)),
            "ms",
        )
        .target(Target::AtMost(1000.0)),
    );
}

/// One `/api-flood` run: (operations that succeeded, seconds inside the plugin).
async fn flood(api: &Api, op: &str, calls: usize) -> (f64, f64) {
    let response = api
        .plugin_request(
            Method::POST,
            FAULTY,
            &format!("/api-flood?calls={calls}&op={op}"),
        )
        .send()
        .await
        .expect("the plugin answers");
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["failed"], 0, "KV {op} calls failed: {body}");
    (
        body["succeeded"].as_f64().unwrap_or(0.0),
        body["seconds"].as_f64().unwrap_or(f64::INFINITY),
    )
}

pub async fn kv(report: &mut Report, cluster: &Cluster, admin: &Api, calls: usize) {
    let nodes = cluster.nodes().len();
    admin
        .install_plugin(plugin_bundle("faulty", "faulty"))
        .await;
    wait_all(admin, FAULTY, nodes, 2).await;
    let apis: Vec<Api> = (0..nodes).map(|n| admin.at(cluster.node(n))).collect();
    for (op, name) in [
        ("get", "KVGet"),
        ("set", "KVSet"),
        ("cas", "KVCompareAndSet"),
    ] {
        let (done, seconds) = flood(&apis[0], op, calls).await;
        let one_node = done / seconds;
        let started = Instant::now();
        let all =
            futures_util::future::join_all(apis.iter().map(|api| flood(api, op, calls))).await;
        let wall = started.elapsed().as_secs_f64();
        let total: f64 = all.iter().map(|(done, _)| done).sum();
        report.add(Row::new(
            "kv",
            format!("{name} through the plugin API, 64 in flight, one node"),
            one_node,
            "/s",
        ));
        report.add(
            Row::new(
                "kv",
                format!("{name}, one plugin copy per node, all {nodes} at once"),
                total / wall,
                "/s",
            )
            .against("one node", one_node),
        );
    }
    plugin_action(admin, FAULTY, "disable").await;
}
