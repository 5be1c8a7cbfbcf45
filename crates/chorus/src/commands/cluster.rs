//! `chorus cluster status`: the live nodes of the deployment.

use super::Context;
use crate::errors::CliResult;
use crate::output::table;
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
            let nodes = client.cluster_status().await?;
            let now = chorus_model::now_millis();
            let rows: Vec<Vec<String>> = nodes
                .iter()
                .map(|node| {
                    let age = now - node.last_heartbeat_at;
                    vec![
                        node.id.clone(),
                        node.hostname.clone(),
                        node.version.clone(),
                        node.ipaddress.clone(),
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
                &nodes,
            );
            Ok(())
        }
    }
}
