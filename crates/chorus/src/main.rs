//! The `chorus` command: `chorus server` runs an app server; more subcommands
//! (plugin and admin tooling) hang off the same entry point.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(name = "chorus", version, about = "Chorus team-chat server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an app server (embedded SQLite at ./data/chorus.db on port 8065 by default).
    Server {
        /// A config.json with Mattermost-style sections; CHORUS_<SECTION>_<KEY>
        /// environment variables override it.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Plugin tooling.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cli.command {
        Command::Server { config } => runtime.block_on(server(config)),
        Command::Plugin {
            command:
                PluginCommand::Bundle {
                    folder,
                    output,
                    executable,
                },
        } => plugin_bundle(&folder, output, executable),
    }
}

async fn server(config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let config = chorus_server::Config::load(config_path.as_deref(), std::env::vars())?;
    let address = config.listen_address()?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (ServiceSettings.ListenAddress)"))?;
    let state = chorus_server::build_state(config).await?;
    let shutdown = shutdown_signal()?;
    let bound = listener.local_addr()?;
    let shown_host = if bound.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        bound.ip().to_string()
    };
    // Tests and scripts wait for exactly this line.
    println!(
        "Chorus server listening on http://{shown_host}:{}",
        bound.port()
    );
    std::io::stdout().flush()?;
    tracing::info!(node_id = %state.node_id, %bound, "server started");
    chorus_server::serve(listener, state, shutdown).await?;
    tracing::info!("server stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when first polled, so that a signal arriving right after start-up is not lost.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

fn plugin_bundle(
    folder: &Path,
    output: Option<PathBuf>,
    executable: Option<PathBuf>,
) -> anyhow::Result<()> {
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
    println!("{} ({} bytes)", output.display(), bytes.len());
    Ok(())
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
