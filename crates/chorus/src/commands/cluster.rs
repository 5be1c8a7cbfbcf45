//! `chorus cluster status`: the live nodes of the deployment.

use super::Context;
use crate::client::CliResult;
use crate::output::{table, text};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// The live nodes: id, host name, version, address, last heartbeat.
    Status,
}

pub async fn run(context: &Context, command: ClusterCommand) -> CliResult<()> {
    match command {
        ClusterCommand::Status => {
            let client = context.client()?;
            let nodes = client.get("/cluster/status").await?;
            let now = chorus_model::now_millis();
            let rows: Vec<Vec<String>> = nodes
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|node| {
                    let age = now - node["last_heartbeat_at"].as_i64().unwrap_or(now);
                    vec![
                        text(node, "id"),
                        text(node, "hostname"),
                        text(node, "version"),
                        text(node, "ipaddress"),
                        format!("{:.1} s ago", age.max(0) as f64 / 1000.0),
                    ]
                })
                .collect();
            context.output.print(
                || {
                    format!(
                        "{}{} node(s)",
                        table(
                            &["NODE", "HOSTNAME", "VERSION", "ADDRESS", "HEARTBEAT"],
                            &rows
                        ),
                        rows.len()
                    )
                },
                nodes.clone(),
            );
            Ok(())
        }
    }
}
