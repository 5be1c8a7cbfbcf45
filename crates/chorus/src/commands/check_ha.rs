//! `chorus plugin check-ha`: catches plugins that keep state in memory before they meet
//! a cluster. It starts a throwaway cluster (N `chorus server` processes of this very
//! binary, through `chorus-launcher`) on a fresh database of the PostgreSQL server given,
//! installs and enables the plugin, and drives a scenario in which every step goes to
//! the next node in turn. A step fails when its expectation does not hold; a GET is
//! also replayed on every node, and different answers mean the result depends on the
//! node. The plugin's KV traffic is counted per step: a scenario that changes things
//! while the plugin writes nothing to the KV store means it keeps state elsewhere.
//!
//! Scenario files are YAML (format in `docs/plugin-guide.md`):
//!
//! ```yaml
//! users: [alice, bob]
//! steps:
//!   - http: {as: alice, method: POST, path: /api/v1/triggers, body: {word: hello}}
//!     expect: {status: 200, contains: hello}
//!   - post: {as: bob, message: hello there}
//!   - event: {for: alice, event: ephemeral_message, contains: hello}
//! ```

use crate::errors::{CliError, CliResult};
use crate::output::{table, Output};
use chorus_client::{multipart, Client, ClientError, Method};
use chorus_launcher::{Cluster, LaunchError, Node};
use chorus_model::{CreateUserRequest, PluginState, PluginStatus, CHANNEL_OPEN, TEAM_OPEN};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct CheckHaArgs {
    /// The plugin bundle (.tar.gz).
    pub bundle: PathBuf,
    /// The PostgreSQL server to create the throwaway database on, as an admin URL
    /// (postgres://postgres@127.0.0.1:5432/postgres); the database is dropped after.
    #[arg(long, env = "CHORUS_CHECK_DATABASE", hide_env_values = true)]
    pub database: String,
    /// How many nodes to start.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// The scenario (YAML); without one, only installation on every node is checked.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    name: Option<String>,
    http: Option<HttpStep>,
    post: Option<PostStep>,
    command: Option<CommandStep>,
    event: Option<EventStep>,
    #[serde(default)]
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpStep {
    #[serde(rename = "as")]
    user: String,
    #[serde(default = "default_method")]
    method: String,
    path: String,
    body: Option<Value>,
}

fn default_method() -> String {
    "GET".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostStep {
    #[serde(rename = "as")]
    user: String,
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandStep {
    #[serde(rename = "as")]
    user: String,
    command: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventStep {
    #[serde(rename = "for")]
    user: String,
    event: String,
    contains: Option<String>,
    #[serde(default = "default_event_timeout")]
    timeout_ms: u64,
}

fn default_event_timeout() -> u64 {
    5000
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: Option<u16>,
    contains: Option<String>,
}

/// What a step's action produced, to check and to compare between nodes.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    status: u16,
    body: String,
}

/// KV rows of the plugin (key → value digest) at one moment.
type KvSnapshot = BTreeMap<String, String>;

#[derive(Debug, Default, Clone, Copy)]
struct KvChanges {
    added: usize,
    changed: usize,
    removed: usize,
}

impl KvChanges {
    fn between(before: &KvSnapshot, after: &KvSnapshot) -> KvChanges {
        let mut changes = KvChanges::default();
        for (key, value) in after {
            match before.get(key) {
                None => changes.added += 1,
                Some(old) if old != value => changes.changed += 1,
                _ => {}
            }
        }
        changes.removed = before.keys().filter(|k| !after.contains_key(*k)).count();
        changes
    }

    fn writes(&self) -> usize {
        self.added + self.changed + self.removed
    }

    fn describe(&self) -> String {
        if self.writes() == 0 {
            "-".into()
        } else {
            format!("+{} ~{} -{}", self.added, self.changed, self.removed)
        }
    }
}

struct StepReport {
    index: usize,
    name: String,
    node: usize,
    problem: Option<String>,
    kv: KvChanges,
    writes: bool,
}

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

fn load_scenario(path: Option<&PathBuf>) -> CliResult<Scenario> {
    let Some(path) = path else {
        return Ok(Scenario::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| failed(format!("cannot read {}: {e}", path.display())))?;
    let scenario: Scenario = serde_yaml_ng::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{} is not a valid scenario: {e}", path.display())))?;
    for (i, step) in scenario.steps.iter().enumerate() {
        let actions = [
            step.http.is_some(),
            step.post.is_some(),
            step.command.is_some(),
            step.event.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            return Err(CliError::Usage(format!(
                "step {} of {} needs exactly one of http, post, command, event",
                i + 1,
                path.display()
            )));
        }
        let user = step
            .http
            .as_ref()
            .map(|s| &s.user)
            .or(step.post.as_ref().map(|s| &s.user))
            .or(step.command.as_ref().map(|s| &s.user))
            .or(step.event.as_ref().map(|s| &s.user));
        if let Some(user) = user.filter(|u| !scenario.users.contains(u)) {
            return Err(CliError::Usage(format!(
                "step {} names user {user:?}, who is not in `users`",
                i + 1
            )));
        }
    }
    Ok(scenario)
}

pub async fn run(output: &Output, args: CheckHaArgs) -> CliResult<()> {
    let scenario = load_scenario(args.scenario.as_ref())?;
    if args.nodes < 2 {
        return Err(CliError::Usage("--nodes must be at least 2".into()));
    }
    let bundle = std::fs::read(&args.bundle)
        .map_err(|e| failed(format!("cannot read {}: {e}", args.bundle.display())))?;
    sqlx::PgConnection::connect(&args.database)
        .await
        .map_err(|e| failed(format!("cannot reach PostgreSQL at --database: {e}")))?
        .close()
        .await
        .ok();
    let binary = std::env::current_exe()
        .map_err(|e| failed(format!("cannot find this chorus executable: {e}")))?;
    let spinner = output.spinner(&format!("starting {} nodes", args.nodes));
    let cluster = Cluster::builder(binary, &args.database)
        .nodes(args.nodes)
        .start()
        .await
        .map_err(|e| match e {
            LaunchError::PostgresUnreachable { .. } => failed("PostgreSQL is unreachable"),
            e => failed(format!("the cluster did not start: {e}")),
        })?;
    spinner.set_message("installing the plugin");
    let result = check(&cluster, &scenario, bundle).await;
    spinner.finish_and_clear();
    cluster.shutdown().await;
    let (plugin_id, reports, total_writes) = result?;
    report(output, &plugin_id, args.nodes, &reports, total_writes)
}

/// Signs a user up (the first becomes the admin) and returns a client with its token.
async fn sign_up(node: &Node, username: &str) -> CliResult<(Client, String)> {
    let anonymous = crate::connection::connect(&node.base_url(), None)?;
    let password = format!("check-ha-{username}-password");
    let user = anonymous
        .create_user(&CreateUserRequest {
            username: username.to_string(),
            email: format!("{username}@check-ha.invalid"),
            password: password.clone(),
            ..CreateUserRequest::default()
        })
        .await?;
    let (token, _) = anonymous.login(username, &password).await?;
    Ok((anonymous.with_token(&token), user.id))
}

/// Every websocket frame one user has received so far.
type Frames = Arc<Mutex<Vec<Value>>>;

/// Collects every websocket frame the user of `client` receives from its server.
fn listen(client: Client) -> Frames {
    let frames = Arc::new(Mutex::new(Vec::new()));
    let sink = frames.clone();
    tokio::spawn(async move {
        let Ok(mut stream) = client.websocket().await else {
            return;
        };
        while let Some(Ok(message)) = stream.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                if let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) {
                    sink.lock().unwrap_or_else(|e| e.into_inner()).push(frame);
                }
            }
        }
    });
    frames
}

async fn kv_snapshot(db: &mut sqlx::PgConnection, plugin_id: &str) -> CliResult<KvSnapshot> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT pkey, md5(pvalue) FROM plugin_kv WHERE plugin_id = $1")
            .bind(plugin_id)
            .fetch_all(db)
            .await
            .map_err(|e| failed(format!("cannot read the plugin's KV rows: {e}")))?;
    Ok(rows.into_iter().collect())
}

async fn plugin_http(client: &Client, plugin_id: &str, step: &HttpStep) -> CliResult<Outcome> {
    let method = Method::from_bytes(step.method.to_uppercase().as_bytes())
        .map_err(|_| CliError::Usage(format!("{:?} is not an HTTP method", step.method)))?;
    let mut request = client
        .plugin_request(method, plugin_id, &step.path)
        // Plugins' CSRF check applies to cookies only; a header marks it as an API call.
        .header("X-Requested-With", "XMLHttpRequest");
    if let Some(body) = &step.body {
        request = request.json(body);
    }
    let reply = client.send_raw(request).await?;
    Ok(Outcome {
        status: reply.status.as_u16(),
        body: reply.text(),
    })
}

type Checked = (String, Vec<StepReport>, usize);

async fn check(cluster: &Cluster, scenario: &Scenario, bundle: Vec<u8>) -> CliResult<Checked> {
    let nodes = cluster.nodes();
    let (admin, _) = sign_up(&nodes[0], "checkadmin").await?;
    // Install and enable through node 1, then wait for every node.
    let manifest = admin
        .upload_plugin(
            multipart::Part::bytes(bundle).file_name("plugin.tar.gz"),
            false,
        )
        .await?;
    let plugin_id = manifest.id;
    admin.enable_plugin(&plugin_id).await?;
    let started = Instant::now();
    loop {
        let statuses = admin.plugin_statuses().await?;
        let mine: Vec<&PluginStatus> = statuses
            .iter()
            .filter(|s| s.plugin_id == plugin_id)
            .collect();
        if mine.len() == nodes.len() && mine.iter().all(|s| s.state == PluginState::Running) {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) || mine.iter().any(|s| s.state.is_failed()) {
            return Err(failed(format!(
                "{plugin_id} does not run on every node: {}",
                serde_json::to_value(&mine).unwrap_or_default()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The scenario's people, in one team and one channel; each listens for events on
    // a node of its own (user i on node i+1), so events must cross nodes.
    let team_id = admin
        .create_team("check-ha", "check-ha", TEAM_OPEN)
        .await?
        .id;
    let channel_id = admin
        .create_channel(&team_id, "scenario", "scenario", CHANNEL_OPEN)
        .await?
        .id;
    let mut users: BTreeMap<String, (Client, Frames)> = BTreeMap::new();
    for (i, name) in scenario.users.iter().enumerate() {
        let (client, user_id) = sign_up(&nodes[0], name).await?;
        admin.add_team_member(&team_id, &user_id).await?;
        admin.add_channel_member(&channel_id, &user_id).await?;
        let listen_node = &nodes[(i + 1) % nodes.len()];
        let frames = listen(client.at(&listen_node.base_url()));
        users.insert(name.clone(), (client, frames));
    }
    // Let the sockets finish their handshakes before anything happens.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut db = sqlx::PgConnection::connect(cluster.database_url())
        .await
        .map_err(|e| failed(format!("cannot read the throwaway database: {e}")))?;
    let mut reports = Vec::new();
    let mut total_writes = 0;
    for (index, step) in scenario.steps.iter().enumerate() {
        let node_index = index % nodes.len();
        let node_url = nodes[node_index].base_url();
        let before = kv_snapshot(&mut db, &plugin_id).await?;
        let on_node = |user: &str| -> Client { users[user].0.at(&node_url) };
        let mut problem = None;
        let mut writes = true;
        let (action, outcome) = if let Some(http) = &step.http {
            writes = !http.method.eq_ignore_ascii_case("GET");
            let outcome = plugin_http(&on_node(&http.user), &plugin_id, http).await?;
            if !writes {
                // A read must give the same answer on every node.
                let mut answers = Vec::new();
                for node in nodes {
                    let client = users[&http.user].0.at(&node.base_url());
                    answers.push(plugin_http(&client, &plugin_id, http).await?);
                }
                if answers.iter().any(|a| *a != answers[0]) {
                    let detail: Vec<String> = answers
                        .iter()
                        .enumerate()
                        .map(|(i, a)| format!("node {}: {} {}", i + 1, a.status, shorten(&a.body)))
                        .collect();
                    problem = Some(format!(
                        "the answer depends on the node ({})",
                        detail.join("; ")
                    ));
                }
            }
            (
                format!(
                    "{} {} as {}",
                    http.method.to_uppercase(),
                    http.path,
                    http.user
                ),
                Some(outcome),
            )
        } else if let Some(post) = &step.post {
            let created = on_node(&post.user)
                .create_post(&channel_id, &post.message, "")
                .await;
            let outcome = match created {
                Ok(created) => Outcome {
                    status: 201,
                    body: json_text(&created),
                },
                Err(err) => Outcome {
                    status: 0,
                    body: CliError::from(err).to_string(),
                },
            };
            (
                format!("post {:?} as {}", post.message, post.user),
                Some(outcome),
            )
        } else if let Some(command) = &step.command {
            let reply = on_node(&command.user)
                .execute_command(&channel_id, &team_id, &command.command)
                .await;
            let outcome = match reply {
                Ok(response) => Outcome {
                    status: 200,
                    body: json_text(&response),
                },
                Err(ClientError::Api {
                    status, message, ..
                }) => Outcome {
                    status,
                    body: message,
                },
                Err(err) => return Err(err.into()),
            };
            (
                format!("{} as {}", command.command, command.user),
                Some(outcome),
            )
        } else if let Some(event) = &step.event {
            writes = false;
            let frames = users[&event.user].1.clone();
            let deadline = Instant::now() + Duration::from_millis(event.timeout_ms);
            let found = loop {
                let hit = frames
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .any(|f| {
                        f["event"] == event.event.as_str()
                            && event
                                .contains
                                .as_ref()
                                .is_none_or(|c| f.to_string().contains(c.as_str()))
                    });
                if hit || Instant::now() > deadline {
                    break hit;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            if !found {
                problem = Some(format!(
                    "{} received no {}{} within {} ms",
                    event.user,
                    event.event,
                    event
                        .contains
                        .as_ref()
                        .map(|c| format!(" containing {c:?}"))
                        .unwrap_or_default(),
                    event.timeout_ms
                ));
            }
            let listening = (scenario
                .users
                .iter()
                .position(|u| *u == event.user)
                .unwrap_or(0)
                + 1)
                % nodes.len();
            reports.push(StepReport {
                index: index + 1,
                name: step
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{} gets {}", event.user, event.event)),
                node: listening + 1,
                problem,
                kv: KvChanges::default(),
                writes,
            });
            continue;
        } else {
            unreachable!("validated: one action per step")
        };
        if let Some(outcome) = outcome {
            if let Some(status) = step.expect.status {
                if outcome.status != status && problem.is_none() {
                    problem = Some(format!(
                        "expected status {status}, got {} {}",
                        outcome.status,
                        shorten(&outcome.body)
                    ));
                }
            }
            if let Some(text) = &step.expect.contains {
                if !outcome.body.contains(text.as_str()) && problem.is_none() {
                    problem = Some(format!("expected {text:?} in {}", shorten(&outcome.body)));
                }
            }
        }
        // Notification hooks run after the reply; give them a moment before counting.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let after = kv_snapshot(&mut db, &plugin_id).await?;
        let kv = KvChanges::between(&before, &after);
        total_writes += kv.writes();
        reports.push(StepReport {
            index: index + 1,
            name: step.name.clone().unwrap_or(action),
            node: node_index + 1,
            problem,
            kv,
            writes,
        });
    }
    Ok((plugin_id, reports, total_writes))
}

/// A reply as JSON text, the way scenario expectations (`contains`) match it.
fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value).unwrap_or_default().to_string()
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text.to_string()
    }
}

fn report(
    output: &Output,
    plugin_id: &str,
    nodes: usize,
    reports: &[StepReport],
    total_writes: usize,
) -> CliResult<()> {
    let changing_steps = reports.iter().filter(|r| r.writes).count();
    let memory_suspect = changing_steps > 0 && total_writes == 0;
    let failures = reports.iter().filter(|r| r.problem.is_some()).count();
    let passed = failures == 0 && !memory_suspect;
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                r.index.to_string(),
                format!("node {}", r.node),
                r.name.clone(),
                r.kv.describe(),
                r.problem
                    .clone()
                    .map(|p| format!("FAILED: {p}"))
                    .unwrap_or_else(|| "ok".into()),
            ]
        })
        .collect();
    let json = json!({
        "plugin_id": plugin_id,
        "nodes": nodes,
        "passed": passed,
        "kv_writes": total_writes,
        "state_outside_kv_suspected": memory_suspect,
        "steps": reports.iter().map(|r| json!({
            "step": r.index,
            "name": r.name,
            "node": r.node,
            "ok": r.problem.is_none(),
            "problem": r.problem,
            "kv": {"added": r.kv.added, "changed": r.kv.changed, "removed": r.kv.removed},
        })).collect::<Vec<_>>(),
    });
    output.print(
        || {
            let mut text = format!("{plugin_id} on {nodes} nodes, each step on the next node:\n");
            if !rows.is_empty() {
                text.push_str(&table(&["STEP", "NODE", "ACTION", "KV (+new ~changed -deleted)", "RESULT"], &rows));
            }
            text.push_str(&format!("KV writes in all: {total_writes}\n"));
            if memory_suspect {
                text.push_str("The scenario changed things but the plugin wrote nothing to the KV store: it keeps its state somewhere a cluster does not share (memory, local files). Store it with the KV API.\n");
            }
            if passed {
                text.push_str("PASSED: no result depends on the node.\n");
            } else {
                text.push_str(&format!("FAILED: {failures} step(s) gave node-dependent or wrong results.\n"));
            }
            text
        },
        json,
    );
    if passed {
        Ok(())
    } else {
        Err(CliError::CheckFailed(format!(
            "{plugin_id} does not behave the same on every node (see the steps above)"
        )))
    }
}
