//! The `chorus` command: `chorus server` runs an app server; the other subcommands are
//! mmctl-style tooling for operators and plugin authors, talking to a server over its
//! REST API through `chorus_client` (`connection` picks the server and token,
//! `profiles` keeps sign-ins, `errors` maps failures to messages and exit codes,
//! `output` prints, and one module per command group under `commands`).

mod commands;
mod connection;
mod errors;
mod output;
mod profiles;

use anyhow::Context;
use clap::{Parser, Subcommand};
use errors::{exit, CliError};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "chorus",
    version,
    about = "Chorus team-chat server and its admin tooling"
)]
struct Cli {
    /// The server to talk to (default: the current profile's, see `chorus auth`).
    #[arg(long, global = true, env = "CHORUS_URL")]
    url: Option<String>,
    /// A session or access token (default: the current profile's).
    #[arg(long, global = true, env = "CHORUS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print one JSON document instead of text, for scripts.
    #[arg(long, global = true)]
    json: bool,
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
    /// Sign in to servers and choose which one commands talk to.
    Auth {
        #[command(subcommand)]
        command: commands::auth::AuthCommand,
    },
    /// Plugin tooling: bundle, install, enable, disable, remove, status, deploy.
    Plugin {
        #[command(subcommand)]
        command: commands::plugin::PluginCommand,
    },
    /// The nodes of the cluster.
    Cluster {
        #[command(subcommand)]
        command: commands::cluster::ClusterCommand,
    },
    /// Users: create and list.
    User {
        #[command(subcommand)]
        command: commands::admin::UserCommand,
    },
    /// Teams: create, and add members.
    Team {
        #[command(subcommand)]
        command: commands::admin::TeamCommand,
    },
    /// Channels: create, and add members.
    Channel {
        #[command(subcommand)]
        command: commands::admin::ChannelCommand,
    },
    /// Posts: create.
    Post {
        #[command(subcommand)]
        command: commands::admin::PostCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let context = commands::Context {
        url: cli.url,
        token: cli.token,
        output: output::Output { json: cli.json },
        profiles_path: profiles::default_path(),
    };
    let result = match cli.command {
        Command::Server { config } => {
            return match runtime.block_on(server(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("error: {err:#}");
                    ExitCode::from(exit::FAILURE)
                }
            }
        }
        Command::Auth { command } => runtime.block_on(commands::auth::run(&context, command)),
        Command::Plugin { command } => runtime.block_on(commands::plugin::run(&context, command)),
        Command::Cluster { command } => runtime.block_on(commands::cluster::run(&context, command)),
        Command::User { command } => runtime.block_on(commands::admin::user(&context, command)),
        Command::Team { command } => runtime.block_on(commands::admin::team(&context, command)),
        Command::Channel { command } => {
            runtime.block_on(commands::admin::channel(&context, command))
        }
        Command::Post { command } => runtime.block_on(commands::admin::post(&context, command)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&context, &err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Prints a failure: a sentence (and what to do) on stderr, or JSON on stdout.
fn report(context: &commands::Context, err: &CliError) {
    if context.output.json && matches!(err, CliError::CheckFailed(_)) {
        // The check's own JSON report already says what failed.
        return;
    }
    if context.output.json {
        println!("{}", err.json());
    } else {
        eprintln!("error: {err}");
        if let Some(advice) = err.advice() {
            eprintln!("hint: {advice}");
        }
    }
}

async fn server(config_path: Option<PathBuf>) -> anyhow::Result<()> {
    // Before anything else: plugins run as this user and must not read our memory or
    // environment, and what they daemonise must come back to us (security::process).
    chorus_server::security::process::make_non_dumpable();
    chorus_server::security::process::become_plugin_reaper();
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
