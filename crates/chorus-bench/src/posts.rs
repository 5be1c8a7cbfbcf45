//! Scenario 2: posts created per second over HTTP by concurrent clients, with no
//! plugin and with trigger-alert enabled while many users hold trigger words, beside
//! `pgbench` running single-row inserts on the same database.
//!
//! Also builds the population the websocket scenarios reuse: the trigger-word holders
//! are the owners of the thousand websockets.

use crate::report::{Report, Row, Target};
use chorus_testkit::client::id;
use chorus_testkit::load::{measure_posts, posting_setup, Figures};
use chorus_testkit::plugins::plugin_bundle;
use chorus_testkit::{Api, Cluster, Endpoint};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

pub const TRIGGER_ALERT: &str = "com.chorus.trigger-alert";

/// Who takes part: an admin, the posting clients, and the holders of trigger words.
pub struct Population {
    pub admin: Api,
    pub town_square_id: String,
    pub posters: Vec<Api>,
    pub channel_ids: Vec<String>,
    pub holders: Vec<Api>,
}

/// Signs everyone up through node 0, installs trigger-alert and gives every holder a
/// word that benchmark posts never contain (so every post gets the plugin's full
/// lookup and sends no alert). Leaves trigger-alert disabled.
pub async fn populate(cluster: &Cluster, clients: usize, holders: usize) -> Population {
    let node = cluster.node(0);
    let (admin, _) = node.user("admin").await;
    let (posters, channel_ids) = posting_setup(node, &admin, clients).await;
    let (_, team) = admin.get("/teams/name/bench").await;
    let team_id = id(&team);
    let town_square_id = id(&admin.channel_named(&team_id, "town-square").await);
    admin
        .install_plugin(plugin_bundle("trigger-alert", "trigger-alert"))
        .await;
    use futures_util::StreamExt;
    // Sign-ups hash passwords (Argon2): a handful at a time keeps both cores busy
    // without queueing hundreds of requests.
    let holders_api: Vec<Api> = futures_util::stream::iter((0..holders).map(|i| {
        let admin = admin.clone();
        let team_id = team_id.clone();
        async move {
            let (user, _) = node.member(&admin, &team_id, &format!("holder{i}")).await;
            let response = user
                .plugin_request(Method::POST, TRIGGER_ALERT, "/api/v1/triggers")
                .json(&json!({"word": format!("trigger{i}")}))
                .send()
                .await
                .expect("trigger-alert answers");
            assert_eq!(response.status(), StatusCode::OK, "setting a trigger word");
            user
        }
    }))
    .buffer_unordered(8)
    .collect()
    .await;
    plugin_action(&admin, TRIGGER_ALERT, "disable").await;
    Population {
        admin,
        town_square_id,
        posters,
        channel_ids,
        holders: holders_api,
    }
}

impl Population {
    /// The holders' session tokens: one websocket each.
    pub fn holder_tokens(&self) -> Vec<String> {
        self.holders
            .iter()
            .map(|api| api.token().to_string())
            .collect()
    }
}

pub async fn plugin_action(api: &Api, plugin_id: &str, action: &str) {
    let (status, body) = api
        .send(api.request(Method::POST, &format!("/plugins/{plugin_id}/{action}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{action} {plugin_id}: {body}");
}

/// Waits until every live node reports `plugin_id` in `state`.
pub async fn wait_all(api: &Api, plugin_id: &str, nodes: usize, state: i64) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let (status, list) = api.get("/plugins/statuses").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let matching: Vec<_> = list
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|s| s["plugin_id"] == plugin_id)
                    .collect()
            })
            .unwrap_or_default();
        if matching.len() == nodes && matching.iter().all(|s| s["state"] == state) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{plugin_id} never reached state {state} on {nodes} node(s): {list}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// `pgbench`'s transactions per second for single-row inserts into a table shaped
/// like `posts` (text key, channel, message, time; indexed by channel and time), with
/// as many clients as the HTTP benchmark, on the cluster's own database.
pub async fn pgbench_inserts(
    database_url: &str,
    clients: usize,
    seconds: u64,
) -> Result<f64, String> {
    let psql = |sql: &str| {
        std::process::Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", database_url, "-c", sql])
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))
            .and_then(|out| {
                out.status
                    .success()
                    .then_some(())
                    .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
            })
    };
    psql(
        "CREATE TABLE bench_inserts (id text PRIMARY KEY, channel_id text NOT NULL, \
           message text NOT NULL, create_at bigint NOT NULL); \
         CREATE INDEX bench_inserts_channel ON bench_inserts (channel_id, create_at);",
    )?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let script = dir.path().join("insert.sql");
    std::fs::write(
        &script,
        "\\set channel random(1, 8)\n\
         INSERT INTO bench_inserts VALUES (md5(random()::text || clock_timestamp()::text), \
           'channel-' || :channel, 'benchmark post from pgbench', \
           (extract(epoch from clock_timestamp()) * 1000)::bigint);\n",
    )
    .map_err(|e| e.to_string())?;
    let output = tokio::process::Command::new("pgbench")
        .args(["-n", "-j", "2", "-c"])
        .arg(clients.to_string())
        .arg("-T")
        .arg(seconds.to_string())
        .arg("-f")
        .arg(&script)
        .arg(database_url)
        .output()
        .await
        .map_err(|e| format!("cannot run pgbench: {e}"))?;
    let _ = psql("DROP TABLE bench_inserts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find(|line| line.starts_with("tps = "))
        .and_then(|line| line["tps = ".len()..].split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| {
            format!(
                "pgbench gave no tps: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

/// Posts with no plugin, then with trigger-alert enabled, clients spread over the
/// cluster's live nodes; adds the rows. Returns the no-plugin rate.
pub async fn compare(
    report: &mut Report,
    label: &str,
    cluster: &Cluster,
    live_nodes: &[usize],
    population: &Population,
    seconds: u64,
    pgbench: Option<f64>,
) -> f64 {
    let spread = |posters: &[Api]| -> Vec<Api> {
        posters
            .iter()
            .enumerate()
            .map(|(i, api)| api.at(cluster.node(live_nodes[i % live_nodes.len()])))
            .collect()
    };
    let admin = &population.admin;
    let without = measure_posts(
        spread(&population.posters),
        &population.channel_ids,
        seconds,
    )
    .await;
    plugin_action(admin, TRIGGER_ALERT, "enable").await;
    wait_all(admin, TRIGGER_ALERT, live_nodes.len(), 2).await;
    let with = measure_posts(
        spread(&population.posters),
        &population.channel_ids,
        seconds,
    )
    .await;
    plugin_action(admin, TRIGGER_ALERT, "disable").await;
    wait_all(admin, TRIGGER_ALERT, live_nodes.len(), 0).await;

    let clients = population.posters.len();
    let rate_row = |figures: &Figures, what: &str| {
        Row::new(
            "posts",
            format!("{label}, {what}: posts/s ({clients} clients)"),
            figures.rate(),
            "/s",
        )
    };
    let mut no_plugin = rate_row(&without, "no plugin");
    if let Some(tps) = pgbench {
        no_plugin = no_plugin
            .against("pgbench single-row inserts, tps", tps)
            .target(Target::RatioAtLeast(0.40));
    }
    report.add(no_plugin);
    report.add(
        rate_row(
            &with,
            &format!("trigger-alert, {} holders", population.holders.len()),
        )
        .against("the same without plugin", without.rate())
        .target(Target::RatioAtLeast(0.85)),
    );
    for (what, figures) in [("no plugin", &without), ("trigger-alert", &with)] {
        report.add(Row::new(
            "posts",
            format!("{label}, {what}: latency p50"),
            figures.p50.as_secs_f64() * 1e3,
            "ms",
        ));
        report.add(Row::new(
            "posts",
            format!("{label}, {what}: latency p99"),
            figures.p99.as_secs_f64() * 1e3,
            "ms",
        ));
        if figures.errors > 0 {
            report.skipped.push(format!(
                "{label}, {what}: {} posts failed during the measurement",
                figures.errors
            ));
        }
    }
    without.rate()
}
