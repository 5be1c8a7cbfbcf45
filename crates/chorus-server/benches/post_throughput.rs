//! Posts created per second over HTTP by concurrent clients, on SQLite and on
//! PostgreSQL, with p50/p99 latency. Not a test: it prints figures.
//!
//! `cargo bench -p chorus-server --bench post_throughput`
//! Environment: `CHORUS_BENCH_SECONDS` (measured seconds per backend, default 5),
//! `CHORUS_BENCH_CLIENTS` (concurrent clients, default 16).

#[path = "../tests/api/common.rs"]
mod common;

use chorus_testkit::load::{env_number, measure_posts, posting_setup, Figures, CHANNELS};
use common::{Backend, Endpoint, TestServer};

async fn measure(backend: Backend, clients: usize, seconds: u64) -> Option<Figures> {
    let server = TestServer::start_with(backend, |c| c.sql_settings.max_open_conns = 20).await?;
    let (admin, _) = server.user("admin").await;
    let (posters, channel_ids) = posting_setup(&server, &admin, clients).await;
    let figures = measure_posts(posters, &channel_ids, seconds).await;
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
                let rate = f.rate();
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
