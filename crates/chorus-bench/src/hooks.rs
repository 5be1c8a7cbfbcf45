//! Scenario 1: a `MessageWillBePosted` round trip to a plugin that does nothing,
//! beside a raw Unix-socket ping-pong of a post-sized payload between two processes.
//! The hook is called on the server's plugin manager directly (the server runs in
//! this process on SQLite), so the figure is the plugin round trip alone, without HTTP.

use crate::report::{Report, Row, Target};
use chorus_server::plugins::HookContext;
use chorus_testkit::load::quantile;
use chorus_testkit::plugins::plugin_bundle;
use chorus_testkit::server::{Backend, TestServer};
use chorus_testkit::Endpoint;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// About what a short post weighs on the wire.
const PAYLOAD: usize = 256;
pub const ECHO_PEER_FLAG: &str = "--echo-peer";

/// The child side of the raw baseline: echoes fixed-size messages until EOF.
pub fn echo_peer(path: &str) {
    let mut stream =
        std::os::unix::net::UnixStream::connect(path).expect("connect to the benchmark");
    let mut buffer = [0u8; PAYLOAD];
    while stream.read_exact(&mut buffer).is_ok() {
        if stream.write_all(&buffer).is_err() {
            break;
        }
    }
}

fn raw_round_trips(calls: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("echo.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .arg(ECHO_PEER_FLAG)
        .arg(&path)
        .spawn()
        .expect("start the echo peer");
    let (mut stream, _) = listener.accept().expect("echo peer connects");
    let message = [7u8; PAYLOAD];
    let mut reply = [0u8; PAYLOAD];
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls + calls / 10 {
        let start = Instant::now();
        stream.write_all(&message).expect("write");
        stream.read_exact(&mut reply).expect("read");
        if i >= calls / 10 {
            samples.push(start.elapsed());
        }
    }
    drop(stream);
    let _ = child.wait();
    samples.sort();
    samples
}

async fn hook_round_trips(calls: usize) -> Vec<Duration> {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.plugin_settings.enable_uploads = true;
    })
    .await
    .expect("SQLite is always there");
    let (admin, admin_user) = server.user("admin").await;
    admin.install_plugin(plugin_bundle("noop", "noop")).await;
    let post = chorus_model::Post {
        id: chorus_model::new_id(),
        create_at: chorus_model::now_millis(),
        user_id: admin_user["id"].as_str().unwrap_or_default().to_string(),
        channel_id: chorus_model::new_id(),
        message: "A short message, about the size of a typical chat post.".into(),
        ..Default::default()
    };
    let context = HookContext::for_user(&post.user_id, "");
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls + calls / 10 {
        let start = Instant::now();
        let result = server
            .state
            .plugins
            .message_will_be_posted(&context, post.clone())
            .await;
        let took = start.elapsed();
        assert!(result.is_ok(), "the hook call failed");
        if i >= calls / 10 {
            samples.push(took);
        }
    }
    assert_eq!(
        server.state.plugins.hook_failures("com.chorus.test.noop"),
        0,
        "every call must reach the plugin"
    );
    server.stop().await;
    samples.sort();
    samples
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub async fn run(report: &mut Report, calls: usize) {
    let raw = tokio::task::spawn_blocking(move || raw_round_trips(calls))
        .await
        .expect("raw ping-pong");
    let hook = hook_round_trips(calls).await;
    let reference = format!("raw Unix socket ping-pong, {PAYLOAD} B");
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        let row = Row::new(
            "hooks",
            format!("MessageWillBePosted round trip, no-op plugin, {name}"),
            micros(quantile(&hook, q)),
            "µs",
        )
        .against(reference.clone(), micros(quantile(&raw, q)));
        report.add(if q == 0.5 {
            row.target(Target::RatioAtMost(3.0))
        } else {
            row
        });
    }
}
