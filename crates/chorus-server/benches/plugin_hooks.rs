//! What plugins cost. Prints:
//! 1. the round trip of a `MessageWillBePosted` hook to a plugin that does nothing
//!    (p50, p99), beside a raw Unix-socket ping-pong of a similar payload between two
//!    processes measured in the same run, and their ratio;
//! 2. posts created per second over HTTP with no plugin and with trigger-alert enabled
//!    (users holding trigger words), and the cost in percent.
//!
//! `cargo bench -p chorus-server --bench plugin_hooks`
//! Environment: `CHORUS_BENCH_CALLS` (round trips, default 20000), `CHORUS_BENCH_SECONDS`
//! (measured seconds per throughput run, default 5), `CHORUS_BENCH_CLIENTS` (default 16),
//! `CHORUS_BENCH_TRIGGER_USERS` (users holding trigger words, default 200),
//! `CHORUS_BENCH_BACKEND` (`sqlite` or `postgres`, default `sqlite`).

#[path = "../tests/api/common.rs"]
mod common;

use chorus_server::plugins::HookContext;
use chorus_testkit::load::{env_number, measure_posts, posting_setup, quantile};
use common::{plugin_bundle, Backend, Endpoint, TestServer};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Size of the raw ping-pong message: about what a short post weighs on the wire.
const PAYLOAD: usize = 256;
const ECHO_PEER_FLAG: &str = "--echo-peer";

/// The child side of the raw baseline: echoes fixed-size messages until EOF.
fn echo_peer(path: &str) {
    let mut stream =
        std::os::unix::net::UnixStream::connect(path).expect("connect to the benchmark");
    let mut buffer = [0u8; PAYLOAD];
    while stream.read_exact(&mut buffer).is_ok() {
        if stream.write_all(&buffer).is_err() {
            break;
        }
    }
}

/// Round trips of `PAYLOAD` bytes to a child process over a Unix socket.
fn raw_round_trips(calls: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .arg(ECHO_PEER_FLAG)
        .arg(&path)
        .spawn()
        .expect("start the echo peer");
    let (mut stream, _) = listener.accept().unwrap();
    let message = [7u8; PAYLOAD];
    let mut reply = [0u8; PAYLOAD];
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls + calls / 10 {
        let start = Instant::now();
        stream.write_all(&message).unwrap();
        stream.read_exact(&mut reply).unwrap();
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
    let server =
        TestServer::start_with(Backend::Sqlite, |c| c.plugin_settings.enable_uploads = true)
            .await
            .expect("SQLite is always there");
    let (admin, admin_user) = server.user("admin").await;
    admin.install_plugin(plugin_bundle("noop", "noop")).await;
    let post = chorus_model::Post {
        id: chorus_model::new_id(),
        create_at: chorus_model::now_millis(),
        user_id: admin_user["id"].as_str().unwrap().to_string(),
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
        assert!(result.is_ok());
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

async fn posts_per_second(
    backend: Backend,
    with_plugin: bool,
    clients: usize,
    seconds: u64,
    trigger_users: usize,
) -> Option<chorus_testkit::load::Figures> {
    let server = TestServer::start_with(backend, |c| {
        c.plugin_settings.enable_uploads = true;
        c.sql_settings.max_open_conns = 20;
    })
    .await?;
    let (admin, _) = server.user("admin").await;
    let (posters, channel_ids) = posting_setup(&server, &admin, clients).await;
    if with_plugin {
        admin
            .install_plugin(plugin_bundle("trigger-alert", "trigger-alert"))
            .await;
        // Users holding words that benchmark posts never contain: the plugin does its
        // full lookup for every post, and sends no alert.
        for i in 0..trigger_users {
            let (user, _) = server.user(&format!("holder{i}")).await;
            let response = user
                .plugin_request(
                    reqwest::Method::POST,
                    "com.chorus.trigger-alert",
                    "/api/v1/triggers",
                )
                .json(&serde_json::json!({"word": format!("trigger{i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::OK);
        }
    }
    let figures = measure_posts(posters, &channel_ids, seconds).await;
    if with_plugin {
        assert_eq!(
            server
                .state
                .plugins
                .hook_failures("com.chorus.trigger-alert"),
            0
        );
    }
    server.stop().await;
    Some(figures)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == ECHO_PEER_FLAG) {
        echo_peer(&args[at + 1]);
        return;
    }
    let calls = env_number("CHORUS_BENCH_CALLS", 20_000) as usize;
    let seconds = env_number("CHORUS_BENCH_SECONDS", 5);
    let clients = env_number("CHORUS_BENCH_CLIENTS", 16) as usize;
    let trigger_users = env_number("CHORUS_BENCH_TRIGGER_USERS", 200) as usize;
    let backend = match std::env::var("CHORUS_BENCH_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };

    let raw = raw_round_trips(calls);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let hook = runtime.block_on(hook_round_trips(calls));
    // The same calls with the whole server on one thread: the difference is what
    // cross-thread wake-ups in the multi-threaded server cost.
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hook_single = single.block_on(hook_round_trips(calls));
    drop(single);
    println!("plugin hook round trip, {calls} calls, {PAYLOAD}-byte raw payload");
    println!("{:<40} {:>10} {:>10}", "", "p50 µs", "p99 µs");
    let (raw50, raw99) = (micros(quantile(&raw, 0.5)), micros(quantile(&raw, 0.99)));
    let (hook50, hook99) = (micros(quantile(&hook, 0.5)), micros(quantile(&hook, 0.99)));
    println!(
        "{:<40} {:>10.1} {:>10.1}",
        "raw Unix socket ping-pong (2 processes)", raw50, raw99
    );
    println!(
        "{:<40} {:>10.1} {:>10.1}",
        "MessageWillBePosted to a no-op plugin", hook50, hook99
    );
    println!(
        "{:<40} {:>10.1} {:>10.1}",
        "  same, server on a single thread",
        micros(quantile(&hook_single, 0.5)),
        micros(quantile(&hook_single, 0.99))
    );
    println!(
        "{:<40} {:>10.2} {:>10.2}   (target p50 <= 3.00)",
        "ratio hook / raw",
        hook50 / raw50,
        hook99 / raw99
    );

    println!();
    println!("posts/s over HTTP ({backend:?}, {clients} clients, {seconds} s; trigger-alert with {trigger_users} users holding words)");
    let without = runtime.block_on(posts_per_second(
        backend,
        false,
        clients,
        seconds,
        trigger_users,
    ));
    let with = runtime.block_on(posts_per_second(
        backend,
        true,
        clients,
        seconds,
        trigger_users,
    ));
    match (without, with) {
        (Some(without), Some(with)) => {
            println!(
                "{:<24} {:>10} {:>8} {:>10} {:>10}",
                "", "posts/s", "errors", "p50 ms", "p99 ms"
            );
            for (name, f) in [("no plugin", &without), ("trigger-alert", &with)] {
                println!(
                    "{:<24} {:>10.0} {:>8} {:>10.2} {:>10.2}",
                    name,
                    f.rate(),
                    f.errors,
                    f.p50.as_secs_f64() * 1e3,
                    f.p99.as_secs_f64() * 1e3
                );
            }
            let cost = (1.0 - with.rate() / without.rate()) * 100.0;
            println!("plugin cost: {cost:.1}% of post throughput   (target <= 15%)");
        }
        _ => println!("skipped: database unreachable"),
    }
}
