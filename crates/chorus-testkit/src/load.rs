//! Load for benchmarks: driving posts over HTTP from concurrent clients, and
//! summarising latencies.

use crate::client::{Api, Endpoint};
use std::time::{Duration, Instant};

pub const CHANNELS: usize = 4;

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// p-th quantile of sorted durations.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

pub struct Figures {
    pub posts: usize,
    pub errors: usize,
    pub seconds: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Figures {
    pub fn rate(&self) -> f64 {
        self.posts as f64 / self.seconds
    }
}

/// A team with `CHANNELS` open channels and `clients` posting users in all of them.
pub async fn posting_setup(
    server: &impl Endpoint,
    admin: &Api,
    clients: usize,
) -> (Vec<Api>, Vec<String>) {
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
    (posters, channel_ids)
}

/// Every poster posts in a loop for one second of warm-up and `seconds` measured.
pub async fn measure_posts(posters: Vec<Api>, channel_ids: &[String], seconds: u64) -> Figures {
    let warmup = Duration::from_secs(1);
    let started = Instant::now();
    let measure_from = started + warmup;
    let deadline = measure_from + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (i, api) in posters.into_iter().enumerate() {
        let channel_id = channel_ids[i % channel_ids.len()].clone();
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
    Figures {
        posts: latencies.len(),
        errors,
        seconds: seconds as f64,
        p50: quantile(&latencies, 0.50),
        p99: quantile(&latencies, 0.99),
    }
}
