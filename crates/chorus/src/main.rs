//! The `chorus` command: `chorus server` runs an app server; more subcommands
//! (plugin and admin tooling) hang off the same entry point.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

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
    }
}

async fn server(config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let config = chorus_server::Config::load(config_path.as_deref(), std::env::vars())?;
    let address = config.listen_address()?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (ServiceSettings.ListenAddress)"))?;
    let state = chorus_server::build_state(config).await?;
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
    chorus_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("server stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
