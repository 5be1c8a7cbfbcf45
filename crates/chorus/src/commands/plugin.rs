//! `chorus plugin`: bundling a plugin folder, installing a bundle on a server (cluster-
//! wide), enabling, disabling and removing it, the per-node status table, and deploying
//! a bundle into an operator-managed `PluginSettings.Directory`.

use super::Context;
use crate::errors::{CliError, CliResult};
use crate::output::{table, Output};
use anyhow::Context as _;
use chorus_client::Client;
use chorus_model::{PluginState, PluginStatus};
use clap::Subcommand;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Build a .tar.gz bundle from a plugin folder (manifest, server executables, web
    /// part). A folder with a Cargo.toml and no executable in place is built with
    /// `cargo build --release` first.
    Bundle {
        /// The plugin folder, with plugin.json / plugin.yaml at its root.
        folder: PathBuf,
        /// Where to write the bundle (default: <plugin id>-<version>.tar.gz).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The server executable for this platform, when built elsewhere.
        #[arg(long)]
        executable: Option<PathBuf>,
    },
    /// Upload a bundle; every node of the cluster installs it.
    Add {
        bundle: PathBuf,
        /// Replace an installed plugin with the same id.
        #[arg(long)]
        force: bool,
    },
    /// Installed plugins and whether they run on the node asked.
    List,
    /// Enable a plugin on every node.
    Enable {
        id: String,
        /// Wait until it runs on every node.
        #[arg(long)]
        wait: bool,
        /// How long --wait may take, in seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Disable a plugin on every node.
    Disable {
        id: String,
        /// Wait until it has stopped on every node.
        #[arg(long)]
        wait: bool,
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Remove a plugin from every node.
    Delete { id: String },
    /// State and version of every plugin on every node.
    Status,
    /// Create a ready-to-build plugin crate (server part on chorus-plugin, optional web
    /// part, manifest, a test), like Mattermost's starter template.
    New(super::plugin_new::NewArgs),
    /// Start a throwaway cluster, install the plugin, and drive a scenario with every
    /// step sent to another node: reports results that depend on the node (state kept
    /// in memory instead of the KV store) and the plugin's KV traffic.
    CheckHa(super::check_ha::CheckHaArgs),
    /// Unpack a bundle into a plugin directory (PluginSettings.Directory of a node),
    /// beside the old version, and swap it in atomically: a node never sees half a
    /// plugin. Runs locally; no server involved.
    Deploy {
        bundle: PathBuf,
        #[arg(long)]
        dir: PathBuf,
    },
}

pub async fn run(context: &Context, command: PluginCommand) -> CliResult<()> {
    match command {
        PluginCommand::Bundle {
            folder,
            output,
            executable,
        } => bundle(&context.output, &folder, output, executable),
        PluginCommand::Add { bundle, force } => add(context, &bundle, force).await,
        PluginCommand::List => list(context).await,
        PluginCommand::Enable { id, wait, timeout } => {
            switch(
                context,
                &id,
                true,
                wait.then(|| Duration::from_secs(timeout)),
            )
            .await
        }
        PluginCommand::Disable { id, wait, timeout } => {
            switch(
                context,
                &id,
                false,
                wait.then(|| Duration::from_secs(timeout)),
            )
            .await
        }
        PluginCommand::Delete { id } => delete(context, &id).await,
        PluginCommand::Status => status(context).await,
        PluginCommand::Deploy { bundle, dir } => deploy(&context.output, &bundle, &dir),
        PluginCommand::New(args) => super::plugin_new::run(&context.output, args),
        PluginCommand::CheckHa(args) => super::check_ha::run(&context.output, args).await,
    }
}

fn read_bundle(path: &Path) -> CliResult<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))
}

async fn add(context: &Context, path: &Path, force: bool) -> CliResult<()> {
    let client = context.client()?;
    let bytes = read_bundle(path)?;
    let total = bytes.len() as u64;
    let bar = context.output.bytes_bar(total, "uploading");
    let progress = bar.clone();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let stream =
        futures_util::StreamExt::inspect(futures_util::stream::iter(chunks), move |chunk| {
            if let Ok(chunk) = chunk {
                progress.inc(chunk.len() as u64);
            }
        });
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin.tar.gz".into());
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), total)
            .file_name(file_name);
    let result = client.upload_plugin(part, force).await;
    bar.finish_and_clear();
    let manifest = result?;
    context.output.print(
        || {
            format!(
                "Installed {} {} on every node. Enable it with `chorus plugin enable {} --wait`.",
                manifest.id, manifest.version, manifest.id
            )
        },
        &manifest,
    );
    Ok(())
}

async fn list(context: &Context) -> CliResult<()> {
    let client = context.client()?;
    let plugins = client.plugins().await?;
    let mut rows = Vec::new();
    for (group, label) in [(&plugins.active, "active"), (&plugins.inactive, "inactive")] {
        for manifest in group {
            rows.push(vec![
                manifest.id.clone(),
                manifest.version.clone(),
                label.to_string(),
                manifest.name.clone(),
            ]);
        }
    }
    context.output.print(
        || {
            if rows.is_empty() {
                "No plugins installed.".into()
            } else {
                table(&["ID", "VERSION", "STATE", "NAME"], &rows)
            }
        },
        &plugins,
    );
    Ok(())
}

async fn statuses_of(client: &Client, plugin_id: &str) -> CliResult<Vec<PluginStatus>> {
    let mut list = client.plugin_statuses().await?;
    list.retain(|s| s.plugin_id == plugin_id);
    Ok(list)
}

async fn switch(
    context: &Context,
    id: &str,
    enable: bool,
    wait: Option<Duration>,
) -> CliResult<()> {
    let client = context.client()?;
    let action = if enable { "enable" } else { "disable" };
    if enable {
        client.enable_plugin(id).await?;
    } else {
        client.disable_plugin(id).await?;
    }
    let mut statuses = Vec::new();
    if let Some(timeout) = wait {
        let wanted = if enable { "running" } else { "stopped" };
        let spinner = context
            .output
            .spinner(&format!("waiting until {id} is {wanted} on every node"));
        let started = Instant::now();
        loop {
            statuses = statuses_of(&client, id).await?;
            // Every live node must report it running (a node that has not reported yet
            // is not done); stopped means no node reports it running any more.
            let live_nodes = client.cluster_status().await?;
            let missing: Vec<String> = live_nodes
                .into_iter()
                .map(|node| node.id)
                .filter(|node| !statuses.iter().any(|s| s.cluster_id == *node))
                .collect();
            let done = if enable {
                missing.is_empty()
                    && !statuses.is_empty()
                    && statuses.iter().all(|s| s.state == PluginState::Running)
            } else {
                statuses.iter().all(|s| s.state == PluginState::NotRunning)
            };
            // A plugin that failed will not get there by waiting.
            let failed: Vec<&PluginStatus> = statuses
                .iter()
                .filter(|s| enable && s.state.is_failed())
                .collect();
            if done {
                break;
            }
            if !failed.is_empty() || started.elapsed() > timeout {
                spinner.finish_and_clear();
                let mut nodes: Vec<String> = statuses
                    .iter()
                    .map(|s| {
                        format!(
                            "{}: {}{}",
                            s.cluster_id,
                            s.state.name(),
                            if s.error.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", s.error)
                            }
                        )
                    })
                    .collect();
                if enable {
                    nodes.extend(missing.iter().map(|node| format!("{node}: not installed")));
                }
                let why = if failed.is_empty() {
                    format!("not {wanted} on every node after {} s", timeout.as_secs())
                } else {
                    "it failed on some node".into()
                };
                return Err(CliError::Failed(format!(
                    "{id} was {action}d but {why}: {}; see `chorus plugin status`",
                    if nodes.is_empty() {
                        "no node reports it".into()
                    } else {
                        nodes.join("; ")
                    }
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        spinner.finish_and_clear();
    }
    context.output.print(
        || {
            if wait.is_some() {
                format!(
                    "{id} {action}d; {} on {} node(s).",
                    if enable { "running" } else { "stopped" },
                    statuses.len()
                )
            } else {
                format!("{id} {action}d on every node.")
            }
        },
        json!({"plugin_id": id, "enabled": enable, "statuses": statuses}),
    );
    Ok(())
}

async fn delete(context: &Context, id: &str) -> CliResult<()> {
    let client = context.client()?;
    client.remove_plugin(id).await?;
    context.output.print(
        || format!("{id} removed from every node."),
        json!({"plugin_id": id, "removed": true}),
    );
    Ok(())
}

async fn status(context: &Context) -> CliResult<()> {
    let client = context.client()?;
    let list = client.plugin_statuses().await?;
    let mut entries: Vec<&PluginStatus> = list.iter().collect();
    entries.sort_by_key(|s| (&s.plugin_id, &s.cluster_id));
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|s| {
            vec![
                s.plugin_id.clone(),
                s.version.clone(),
                s.cluster_id.clone(),
                s.state.name().to_string(),
                s.error.clone(),
            ]
        })
        .collect();
    context.output.print(
        || {
            if rows.is_empty() {
                "No plugins installed on any node.".into()
            } else {
                table(&["PLUGIN", "VERSION", "NODE", "STATE", "ERROR"], &rows)
            }
        },
        &list,
    );
    Ok(())
}

fn deploy(output: &Output, path: &Path, dir: &Path) -> CliResult<()> {
    use chorus_server::plugins::bundle;
    let bytes = read_bundle(path)?;
    let staged = bundle::stage_bundle(&bytes[..], dir, bundle::BundleLimits::default())
        .map_err(|e| CliError::Failed(format!("{} cannot be deployed: {e}", path.display())))?;
    let target = dir.join(&staged.manifest.id);
    let previous = chorus_server::plugins::manifest::read_manifest(&target)
        .ok()
        .map(|m| m.version);
    let manifest = staged.manifest.clone();
    let installed = bundle::install_staged(&staged, dir, true).map_err(|e| {
        CliError::Failed(format!("cannot swap {} into place: {e}", target.display()))
    })?;
    output.print(
        || {
            format!(
                "Deployed {} {} into {}{}. Nodes using this directory pick it up within a heartbeat; enable it once with `chorus plugin enable {}`.",
                manifest.id,
                manifest.version,
                installed.display(),
                previous
                    .as_ref()
                    .map(|v| format!(" (replacing {v})"))
                    .unwrap_or_default(),
                manifest.id
            )
        },
        json!({
            "plugin_id": manifest.id,
            "version": manifest.version,
            "path": installed.display().to_string(),
            "replaced_version": previous,
        }),
    );
    Ok(())
}

/// `chorus plugin bundle`.
fn bundle(
    output: &Output,
    folder: &Path,
    destination: Option<PathBuf>,
    executable: Option<PathBuf>,
) -> CliResult<()> {
    let (path, bytes, plugin_id) = build_bundle(folder, destination, executable)
        .map_err(|e| CliError::Failed(format!("{e:#}")))?;
    output.print(
        || format!("{} ({} bytes)", path.display(), bytes),
        json!({"path": path.display().to_string(), "bytes": bytes, "plugin_id": plugin_id}),
    );
    Ok(())
}

/// Bundles `folder`; returns the bundle's path, size and plugin id.
fn build_bundle(
    folder: &Path,
    output: Option<PathBuf>,
    executable: Option<PathBuf>,
) -> anyhow::Result<(PathBuf, usize, String)> {
    use chorus_server::plugins::{bundle, manifest};
    let plugin = manifest::read_manifest(folder)
        .with_context(|| format!("{} is not a plugin folder", folder.display()))?;
    let host_path = manifest::executable_for_host(&plugin);
    let needs_build = executable.is_none()
        && plugin.server.is_some()
        && host_path.as_ref().is_none_or(|p| !folder.join(p).is_file())
        && folder.join("Cargo.toml").is_file();
    let executable = if needs_build {
        Some(cargo_build(folder)?)
    } else {
        executable
    };
    let bytes = bundle::bundle_folder(folder, executable.as_deref())
        .with_context(|| format!("cannot bundle {}", folder.display()))?;
    let output = output.unwrap_or_else(|| {
        let version = if plugin.version.is_empty() {
            "0.0.0"
        } else {
            &plugin.version
        };
        PathBuf::from(format!("{}-{version}.tar.gz", plugin.id))
    });
    std::fs::write(&output, &bytes)
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok((output, bytes.len(), plugin.id))
}

/// Builds the plugin crate in `folder` in release mode and returns its executable.
fn cargo_build(folder: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(folder.join("Cargo.toml"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo to build the plugin")?;
    if !output.status.success() {
        anyhow::bail!("cargo build of {} failed", folder.display());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let executable = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo built no executable for this plugin")?;
    Ok(executable)
}
