//! Cluster membership rows: each node records itself at start, heartbeats, and removes
//! itself at a clean stop; nodes with a stale heartbeat are not listed.

use super::{get_i64, get_str, Store};
use chorus_model::{now_millis, ClusterNode};

impl Store {
    /// Records (or refreshes) this node.
    pub async fn register_node(&self, node: &ClusterNode) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO cluster_nodes (node_id, cluster_name, hostname, version, address, started_at, last_heartbeat_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (node_id) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at",
        )
        .bind(&node.id)
        .bind(&node.cluster_name)
        .bind(&node.hostname)
        .bind(&node.version)
        .bind(&node.ipaddress)
        .bind(node.started_at)
        .bind(node.last_heartbeat_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn heartbeat_node(&self, node_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE cluster_nodes SET last_heartbeat_at = $1 WHERE node_id = $2")
            .bind(now_millis())
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn remove_node(&self, node_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM cluster_nodes WHERE node_id = $1")
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Nodes of `cluster_name` that heartbeated at or after `since` (ms), by start time.
    pub async fn live_nodes(
        &self,
        cluster_name: &str,
        since: i64,
    ) -> Result<Vec<ClusterNode>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT node_id, cluster_name, hostname, version, address, started_at, last_heartbeat_at \
             FROM cluster_nodes WHERE cluster_name = $1 AND last_heartbeat_at >= $2 ORDER BY started_at, node_id",
        )
        .bind(cluster_name)
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ClusterNode {
                    id: get_str(row, "node_id")?,
                    cluster_name: get_str(row, "cluster_name")?,
                    hostname: get_str(row, "hostname")?,
                    version: get_str(row, "version")?,
                    ipaddress: get_str(row, "address")?,
                    started_at: get_i64(row, "started_at")?,
                    last_heartbeat_at: get_i64(row, "last_heartbeat_at")?,
                })
            })
            .collect()
    }
}
