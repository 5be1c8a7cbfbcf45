//! `chorus-bench`: every performance figure of Chorus in one run, each beside a
//! reference measured in the same run on the same machine (a raw socket ping-pong,
//! `pgbench`, the same scenario without the feature), with the ratio and the target.
//!
//! `cargo run --release -p chorus-bench -- all [--json]`
//!
//! It starts everything through `chorus-testkit` (clusters from `chorus-launcher`, REST
//! calls through `chorus-client`): release builds of `chorus` and the plugins, real
//! server processes on fresh PostgreSQL databases (127.0.0.1:5432, or
//! `CHORUS_TEST_POSTGRES_URL`) and on SQLite. Scenarios: `hooks`, `posts`,
//! `websockets`, `plugins`, `kv`, `memory`, `logins`, `files`, or `all`.

mod files;
mod hooks;
mod logins;
mod memory;
mod plugins;
mod posts;
mod report;
mod websockets;

use chorus_testkit::Endpoint;
use clap::{Parser, ValueEnum};
use report::{Machine, Report, Row};

#[derive(Parser)]
#[command(about = "Chorus benchmarks beside their references, in one table")]
struct Args {
    /// Which scenarios to run.
    #[arg(value_enum, default_value = "all", num_args = 1..)]
    scenarios: Vec<Scenario>,
    /// Print one JSON document instead of the table (progress still goes to stderr).
    #[arg(long)]
    json: bool,
    /// Seconds measured per throughput run (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent posting clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Users holding trigger words, who also own the websockets.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Hook round trips measured (and raw ping-pongs).
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
    /// Posts timed for websocket delivery.
    #[arg(long, default_value_t = 100)]
    posts: usize,
    /// Plugin API calls per KV run.
    #[arg(long, default_value_t = 5000)]
    kv_calls: usize,
    /// Enable and crash runs.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Internal: the raw ping-pong peer process.
    #[arg(long, hide = true)]
    echo_peer: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    All,
    Hooks,
    Posts,
    Websockets,
    Plugins,
    Kv,
    Memory,
    Logins,
    Files,
}

fn main() {
    let args = Args::parse();
    if let Some(path) = &args.echo_peer {
        hooks::echo_peer(path);
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let report = runtime.block_on(run(&args));
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report as JSON")
        );
    } else {
        println!();
        report.print_text();
    }
}

async fn run(args: &Args) -> Report {
    let wants = |scenario: Scenario| {
        args.scenarios.contains(&Scenario::All) || args.scenarios.contains(&scenario)
    };
    let mut report = Report {
        machine: Machine::read(),
        ..Default::default()
    };
    let chorus = chorus_testkit::cluster::chorus_binary();
    eprintln!("chorus-bench: {}", chorus.display());

    if wants(Scenario::Hooks) {
        eprintln!("hooks: {} round trips", args.calls);
        hooks::run(&mut report, args.calls).await;
    }

    let start = |builder: chorus_testkit::cluster::ClusterBuilder| {
        builder
            .binary(chorus.clone())
            // The crash scenario kills one plugin several times in a row.
            .env("CHORUS_PLUGINSETTINGS_MAXRESTARTS", "1000")
            .start()
    };
    let needs_population =
        wants(Scenario::Posts) || wants(Scenario::Websockets) || wants(Scenario::Memory);

    if wants(Scenario::Posts) {
        eprintln!("posts: 1 node on SQLite, {} users", args.users);
        let sqlite = start(chorus_testkit::Cluster::builder().sqlite())
            .await
            .expect("a SQLite node always starts");
        let population = posts::populate(&sqlite, args.clients, args.users).await;
        posts::compare(
            &mut report,
            "1 node SQLite",
            &sqlite,
            &[0],
            &population,
            args.seconds,
            None,
        )
        .await;
        sqlite.shutdown().await;
    }

    if wants(Scenario::Logins) {
        eprintln!("logins: a wrong-password flood against 1 node on SQLite");
        let sqlite = start(chorus_testkit::Cluster::builder().sqlite())
            .await
            .expect("a SQLite node always starts");
        logins::flood(&mut report, sqlite.node(0), args.seconds).await;
        sqlite.shutdown().await;
    }

    if wants(Scenario::Files) {
        eprintln!("files: 50 MB through 1 node on SQLite (local driver) and through nginx");
        let sqlite = start(chorus_testkit::Cluster::builder().sqlite())
            .await
            .expect("a SQLite node always starts");
        files::run(&mut report, sqlite.node(0), "1 node SQLite, local driver").await;
        sqlite.shutdown().await;
    }

    let any_cluster = needs_population
        || wants(Scenario::Files)
        || wants(Scenario::Plugins)
        || wants(Scenario::Kv)
        || wants(Scenario::Memory);
    if !any_cluster {
        return report;
    }
    let Some(mut cluster) = start(chorus_testkit::Cluster::builder().nodes(1)).await else {
        report
            .skipped
            .push("every PostgreSQL scenario: PostgreSQL is unreachable".into());
        return report;
    };
    if wants(Scenario::Memory) {
        let pid = cluster.node(0).pid().expect("node runs");
        report.add(Row::new(
            "memory",
            "idle node (just started), RSS",
            memory::rss_mib(pid),
            "MiB",
        ));
    }
    let population = if needs_population {
        eprintln!("PostgreSQL: signing up {} users", args.users);
        Some(posts::populate(&cluster, args.clients, args.users).await)
    } else {
        None
    };
    if let (true, Some(population)) = (wants(Scenario::Posts), &population) {
        eprintln!("posts: pgbench, then 1 node on PostgreSQL");
        let pgbench = match posts::pgbench_inserts(
            cluster.database_url(),
            args.clients,
            args.seconds,
        )
        .await
        {
            Ok(tps) => Some(tps),
            Err(err) => {
                report.skipped.push(format!("pgbench reference: {err}"));
                None
            }
        };
        posts::compare(
            &mut report,
            "1 node PostgreSQL",
            &cluster,
            &[0],
            population,
            args.seconds,
            pgbench,
        )
        .await;
        cluster.add_node().await;
        cluster.add_node().await;
        eprintln!("posts: 3 nodes on PostgreSQL");
        posts::compare(
            &mut report,
            "3 nodes PostgreSQL",
            &cluster,
            &[0, 1, 2],
            population,
            args.seconds,
            pgbench,
        )
        .await;
    }
    while cluster.nodes().len() < 3 {
        cluster.add_node().await;
    }
    let admin = match &population {
        Some(population) => population.admin.clone(),
        None => cluster.node(0).user("admin").await.0,
    };
    if let (true, Some(population)) = (wants(Scenario::Websockets), &population) {
        eprintln!(
            "websockets: {} sockets over 3 nodes, {} posts",
            population.holders.len(),
            args.posts
        );
        websockets::latency(&mut report, &cluster, population, args.posts).await;
    }
    if wants(Scenario::Plugins) {
        eprintln!("plugins: enable and crash, {} runs", args.runs);
        plugins::lifecycle(&mut report, &cluster, &admin, args.runs).await;
    }
    if wants(Scenario::Kv) {
        eprintln!("kv: {} calls per run", args.kv_calls);
        plugins::kv(&mut report, &cluster, &admin, args.kv_calls).await;
    }
    if let (true, Some(population)) = (wants(Scenario::Memory), &population) {
        eprintln!("memory: one node holding every socket");
        websockets::memory(&mut report, &cluster, population).await;
    }
    if wants(Scenario::Memory) {
        memory_of_plugins(&mut report, &cluster, &admin).await;
    }
    if let (true, Some(population)) = (wants(Scenario::Websockets), &population) {
        eprintln!("failover: kill -9 of node 0 with its sockets connected");
        websockets::node_kill(&mut report, &mut cluster, population).await;
    }
    if wants(Scenario::Files) {
        eprintln!("files: 50 MB through a node of the cluster on PostgreSQL (database driver)");
        files::run(
            &mut report,
            cluster.node(0),
            "1 node PostgreSQL, database driver",
        )
        .await;
    }
    cluster.shutdown().await;
    report
}

/// Resident memory of one plugin process (trigger-alert, running on node 1).
async fn memory_of_plugins(
    report: &mut Report,
    cluster: &chorus_testkit::Cluster,
    admin: &chorus_testkit::Api,
) {
    let (status, _) = admin.get("/plugins/statuses").await;
    if status != reqwest::StatusCode::OK {
        return;
    }
    let installed = admin.get("/plugins").await.1.to_string();
    if !installed.contains(posts::TRIGGER_ALERT) {
        admin
            .install_plugin(chorus_testkit::plugins::plugin_bundle(
                "trigger-alert",
                "trigger-alert",
            ))
            .await;
    } else {
        posts::plugin_action(admin, posts::TRIGGER_ALERT, "enable").await;
    }
    posts::wait_all(admin, posts::TRIGGER_ALERT, cluster.nodes().len(), 2).await;
    let node_pid = cluster.node(1).pid().expect("node 1 runs");
    if let Some(&pid) = chorus_testkit::plugins::child_processes(node_pid, "trigger-alert").first()
    {
        report.add(Row::new(
            "memory",
            "one plugin process (trigger-alert, running), RSS",
            memory::rss_mib(pid),
            "MiB",
        ));
    }
    posts::plugin_action(admin, posts::TRIGGER_ALERT, "disable").await;
}
