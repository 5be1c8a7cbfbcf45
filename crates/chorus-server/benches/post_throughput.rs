//! Posts created per second over HTTP by concurrent clients, on SQLite and on
//! PostgreSQL, with p50/p99 latency. Not a test: it prints figures.
//!
//! `cargo bench -p chorus-server --bench post_throughput`
//! Environment: `CHORUS_BENCH_SECONDS` (measured seconds per backend, default 5),
//! `CHORUS_BENCH_CLIENTS` (concurrent clients, default 16).

#[path = "../tests/api/common.rs"]
mod common;

use common::{Backend, TestServer};
use std::time::{Duration, Instant};

const CHANNELS: usize = 4;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Figures {
    posts: usize,
    errors: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
}

async fn measure(backend: Backend, clients: usize, seconds: u64) -> Option<Figures> {
    let server = TestServer::start_with(backend, |c| c.sql_settings.max_open_conns = 20).await?;
    let (admin, _) = server.user("admin").await;
    let team = admin.team("bench").await;
    let team_id = team["id"].as_str().unwrap().to_string();
    let mut channel_ids = Vec::new();
    for i in 0..CHANNELS {
        let channel = admin.channel(&team_id, &format!("bench-{i}"), "O").await;
        channel_ids.push(channel["id"].as_str().unwrap().to_string());
    }
    let mut posters = Vec::new();
    for i in 0..clients {
        let (api, user) = server.user(&format!("poster{i}")).await;
        let user_id = user["id"].as_str().unwrap();
        admin.add_to_team(&team_id, user_id).await;
        for channel_id in &channel_ids {
            admin.add_to_channel(channel_id, user_id).await;
        }
        posters.push(api);
    }

    let warmup = Duration::from_secs(1);
    let started = Instant::now();
    let measure_from = started + warmup;
    let deadline = measure_from + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (i, api) in posters.into_iter().enumerate() {
        let channel_id = channel_ids[i % CHANNELS].clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut n = 0u64;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let request =
                    api.request(reqwest::Method::POST, "/posts")
                        .json(&serde_json::json!({
                            "channel_id": channel_id,
                            "message": format!("benchmark post {n} from client {i}"),
                        }));
                let ok = request
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED);
                let took = now.elapsed();
                n += 1;
                if now >= measure_from {
                    if ok {
                        latencies.push(took);
                    } else {
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("client task");
        latencies.extend(l);
        errors += e;
    }
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    let figures = Figures {
        posts: latencies.len(),
        errors,
        seconds: seconds as f64,
        p50: pick(0.50),
        p99: pick(0.99),
    };
    server.stop().await;
    Some(figures)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; anything else is ignored.
    let seconds = env_number("CHORUS_BENCH_SECONDS", 5);
    let clients = env_number("CHORUS_BENCH_CLIENTS", 16) as usize;
    println!("post throughput over HTTP: {clients} concurrent clients, {CHANNELS} channels, {seconds} s measured per backend");
    println!(
        "{:<12} {:>10} {:>8} {:>10} {:>10}",
        "backend", "posts/s", "errors", "p50 ms", "p99 ms"
    );
    let mut rates = Vec::new();
    for (name, backend) in [("sqlite", Backend::Sqlite), ("postgres", Backend::Postgres)] {
        match measure(backend, clients, seconds).await {
            Some(f) => {
                let rate = f.posts as f64 / f.seconds;
                rates.push((name, rate));
                println!(
                    "{:<12} {:>10.0} {:>8} {:>10.2} {:>10.2}",
                    name,
                    rate,
                    f.errors,
                    f.p50.as_secs_f64() * 1e3,
                    f.p99.as_secs_f64() * 1e3
                );
            }
            None => println!("{name:<12} skipped (database unreachable)"),
        }
    }
    if let [(a, ra), (b, rb)] = rates.as_slice() {
        println!("ratio {b}/{a}: {:.2}", rb / ra);
    }
}
