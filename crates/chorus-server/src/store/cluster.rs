//! Cluster rows: membership (each node records itself at start, heartbeats, and removes
//! itself at a clean stop; nodes with a stale heartbeat are not listed), each node's
//! plugin statuses, and the cluster messages too large for a NOTIFY payload.

use super::{on_reader, on_writer, Backend, IdList, Store, StoreError, StoreResult};
use chorus_model::{now_millis, ClusterNode, PluginStatus};

#[derive(sqlx::FromRow)]
struct NodeRow {
    node_id: String,
    cluster_name: String,
    hostname: String,
    version: String,
    address: String,
    started_at: i64,
    last_heartbeat_at: i64,
}

impl From<NodeRow> for ClusterNode {
    fn from(row: NodeRow) -> ClusterNode {
        ClusterNode {
            id: row.node_id,
            cluster_name: row.cluster_name,
            hostname: row.hostname,
            version: row.version,
            ipaddress: row.address,
            started_at: row.started_at,
            last_heartbeat_at: row.last_heartbeat_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    node_id: String,
    plugin_id: String,
    plugin_path: String,
    state: i32,
    error: String,
    name: String,
    description: String,
    version: String,
}

impl From<StatusRow> for PluginStatus {
    fn from(row: StatusRow) -> PluginStatus {
        PluginStatus {
            plugin_id: row.plugin_id,
            cluster_id: row.node_id,
            plugin_path: row.plugin_path,
            state: row.state.into(),
            error: row.error,
            name: row.name,
            description: row.description,
            version: row.version,
        }
    }
}

impl Store {
    /// Records (or refreshes) this node.
    pub async fn register_node(&self, node: &ClusterNode) -> StoreResult<()> {
        on_writer!(self, pool => {
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
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Forgets a node and its plugin statuses, at its clean stop.
    pub async fn remove_node(&self, node_id: &str) -> StoreResult<()> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM plugin_statuses WHERE node_id = $1")
                .bind(node_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM cluster_nodes WHERE node_id = $1")
                .bind(node_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
        .map_err(StoreError::from)
    }

    /// Nodes of `cluster_name` that heartbeated at or after `since` (ms), by start time.
    pub async fn live_nodes(
        &self,
        cluster_name: &str,
        since: i64,
    ) -> StoreResult<Vec<ClusterNode>> {
        let rows: Vec<NodeRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT node_id, cluster_name, hostname, version, address, started_at, last_heartbeat_at \
                 FROM cluster_nodes WHERE cluster_name = $1 AND last_heartbeat_at >= $2 \
                 ORDER BY started_at, node_id",
            )
            .bind(cluster_name)
            .bind(since)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(ClusterNode::from).collect())
    }

    /// Replaces this node's plugin statuses with `statuses`.
    pub async fn save_node_plugin_statuses(
        &self,
        node_id: &str,
        statuses: &[PluginStatus],
    ) -> StoreResult<()> {
        let now = now_millis();
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM plugin_statuses WHERE node_id = $1")
                .bind(node_id)
                .execute(&mut *tx)
                .await?;
            for status in statuses {
                sqlx::query(
                    "INSERT INTO plugin_statuses (node_id, plugin_id, plugin_path, state, error, name, \
                       description, version, update_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(node_id)
                .bind(&status.plugin_id)
                .bind(&status.plugin_path)
                .bind(status.state.number())
                .bind(&status.error)
                .bind(&status.name)
                .bind(&status.description)
                .bind(&status.version)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
        .map_err(StoreError::from)
    }

    /// Plugin statuses reported by the live nodes of `cluster_name` other than
    /// `except_node`.
    pub async fn other_nodes_plugin_statuses(
        &self,
        cluster_name: &str,
        since: i64,
        except_node: &str,
    ) -> StoreResult<Vec<PluginStatus>> {
        let rows: Vec<StatusRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT s.node_id, s.plugin_id, s.plugin_path, s.state, s.error, s.name, s.description, s.version \
                 FROM plugin_statuses s JOIN cluster_nodes n ON n.node_id = s.node_id \
                 WHERE n.cluster_name = $1 AND n.last_heartbeat_at >= $2 AND s.node_id <> $3 \
                 ORDER BY s.plugin_id, n.started_at, s.node_id",
            )
            .bind(cluster_name)
            .bind(since)
            .bind(except_node)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(PluginStatus::from).collect())
    }

    /// Keeps a cluster message too large for a NOTIFY payload; returns its id.
    pub async fn save_cluster_message(&self, payload: &str) -> StoreResult<i64> {
        let id = on_writer!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO cluster_messages (payload, create_at) VALUES ($1, $2) RETURNING id",
            )
            .bind(payload)
            .bind(now_millis())
            .fetch_one(pool)
            .await
        })?;
        Ok(id)
    }

    pub async fn cluster_message(&self, id: i64) -> StoreResult<Option<String>> {
        let payload = on_writer!(self, pool => {
            sqlx::query_scalar("SELECT payload FROM cluster_messages WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(payload)
    }

    /// Deletes large cluster messages older than `before` (ms): every node has read
    /// them long since, or missed them and re-read the state instead.
    pub async fn delete_cluster_messages_before(&self, before: i64) -> StoreResult<u64> {
        let done = on_writer!(self, pool => {
            sqlx::query("DELETE FROM cluster_messages WHERE create_at < $1")
                .bind(before)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done)
    }

    /// Which of `session_ids` still exist and are unexpired: login sessions, and active
    /// access tokens of active users (a token's id is the session id of its sockets).
    pub async fn live_session_ids(&self, session_ids: &[String]) -> StoreResult<Vec<String>> {
        if session_ids.is_empty() {
            return Ok(Vec::new());
        }
        let live = on_writer!(self, pool, backend => {
            let sql = match backend {
                Backend::Postgres => {
                    "SELECT id FROM sessions WHERE expires_at > $1 AND id = ANY($2) \
                     UNION ALL SELECT t.id FROM user_access_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.is_active AND u.delete_at = 0 AND t.id = ANY($2)"
                }
                Backend::Sqlite => {
                    "SELECT id FROM sessions WHERE expires_at > $1 \
                     AND id IN (SELECT value FROM json_each($2)) \
                     UNION ALL SELECT t.id FROM user_access_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.is_active AND u.delete_at = 0 AND t.id IN (SELECT value FROM json_each($2))"
                }
            };
            sqlx::query_scalar(sql)
                .bind(now_millis())
                .bind(IdList(session_ids))
                .fetch_all(pool)
                .await
        })?;
        Ok(live)
    }
}
