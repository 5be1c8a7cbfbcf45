//! Users' statuses and which nodes hold their websockets (presence), in the shared
//! database so that every node answers the same and a dead node's users can be
//! found by the others.

use super::{on_reader, on_writer, Backend, IdList, Store, StoreResult};
use chorus_model::{Status, STATUS_AWAY, STATUS_OFFLINE, STATUS_ONLINE};

#[derive(sqlx::FromRow)]
struct StatusRow {
    user_id: String,
    status: String,
    manual: bool,
    last_activity_at: i64,
    dnd_end_time: i64,
    prev_status: String,
}

impl From<StatusRow> for Status {
    fn from(row: StatusRow) -> Status {
        Status {
            user_id: row.user_id,
            status: row.status,
            manual: row.manual,
            last_activity_at: row.last_activity_at,
            dnd_end_time: row.dnd_end_time,
            prev_status: row.prev_status,
        }
    }
}

/// How stale the recorded last activity may get before activity writes it again.
pub const ACTIVITY_WRITE_MS: i64 = 30_000;

const SELECT_STATUSES: &str = "SELECT user_id, status, manual, last_activity_at, dnd_end_time, \
     prev_status FROM user_statuses ";

impl Store {
    pub async fn get_status(&self, user_id: &str) -> StoreResult<Option<Status>> {
        let row: Option<StatusRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("{SELECT_STATUSES} WHERE user_id = $1"))
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Status::from))
    }

    /// The stored statuses of these users (those never seen have none).
    pub async fn get_statuses(&self, user_ids: &[String]) -> StoreResult<Vec<Status>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<StatusRow> = on_reader!(self, pool, backend => {
            let filter = match backend {
                Backend::Postgres => "WHERE user_id = ANY($1)",
                Backend::Sqlite => "WHERE user_id IN (SELECT value FROM json_each($1))",
            };
            sqlx::query_as(&format!("{SELECT_STATUSES} {filter}"))
                .bind(IdList(user_ids))
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(Status::from).collect())
    }

    /// Everyone who is not offline.
    pub async fn present_statuses(&self) -> StoreResult<Vec<Status>> {
        let rows: Vec<StatusRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("{SELECT_STATUSES} WHERE status <> $1 ORDER BY user_id"))
                .bind(STATUS_OFFLINE)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(Status::from).collect())
    }

    pub async fn save_status(&self, status: &Status) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO user_statuses (user_id, status, manual, last_activity_at, \
                   dnd_end_time, prev_status) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, \
                   manual = excluded.manual, last_activity_at = excluded.last_activity_at, \
                   dnd_end_time = excluded.dnd_end_time, prev_status = excluded.prev_status",
            )
            .bind(&status.user_id)
            .bind(&status.status)
            .bind(status.manual)
            .bind(status.last_activity_at)
            .bind(status.dnd_end_time)
            .bind(&status.prev_status)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Activity: `online` unless the status was set by hand; `true` when it was
    /// something else before (so the change is announced once, by this call). The
    /// time of the last activity is written at most every [`ACTIVITY_WRITE_MS`], so
    /// that posting in a hurry is not a status write per post.
    pub async fn mark_active(&self, user_id: &str, now: i64) -> StoreResult<bool> {
        let changed = on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO user_statuses (user_id, status, manual, last_activity_at) \
                 VALUES ($1, $2, FALSE, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET status = $2, last_activity_at = $3 \
                 WHERE user_statuses.manual = FALSE AND user_statuses.status <> $2",
            )
            .bind(user_id)
            .bind(STATUS_ONLINE)
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
        })?;
        if changed == 0 {
            on_writer!(self, pool => {
                sqlx::query(
                    "UPDATE user_statuses SET last_activity_at = $2 \
                     WHERE user_id = $1 AND last_activity_at < $3",
                )
                .bind(user_id)
                .bind(now)
                .bind(now - ACTIVITY_WRITE_MS)
                .execute(pool)
                .await
                .map(drop)
            })?;
        }
        Ok(changed == 1)
    }

    /// Gone: `offline` unless the status was set by hand; `true` when it changed.
    pub async fn mark_offline(&self, user_id: &str, now: i64) -> StoreResult<bool> {
        let changed = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE user_statuses SET status = $2, last_activity_at = $3 \
                 WHERE user_id = $1 AND manual = FALSE AND status <> $2",
            )
            .bind(user_id)
            .bind(STATUS_OFFLINE)
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// Online users idle since `before` become `away`; the changed statuses.
    pub async fn mark_idle_away(&self, before: i64) -> StoreResult<Vec<Status>> {
        let rows: Vec<StatusRow> = on_writer!(self, pool => {
            sqlx::query_as(
                "UPDATE user_statuses SET status = $1 \
                 WHERE status = $2 AND manual = FALSE AND last_activity_at < $3 \
                 RETURNING user_id, status, manual, last_activity_at, dnd_end_time, prev_status",
            )
            .bind(STATUS_AWAY)
            .bind(STATUS_ONLINE)
            .bind(before)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Status::from).collect())
    }

    /// Timed `dnd` statuses whose end passed (seconds) go back to what they were; the
    /// changed statuses.
    pub async fn end_expired_dnd(&self, now_seconds: i64) -> StoreResult<Vec<Status>> {
        let rows: Vec<StatusRow> = on_writer!(self, pool => {
            sqlx::query_as(
                "UPDATE user_statuses SET \
                   status = CASE WHEN prev_status = '' THEN $1 ELSE prev_status END, \
                   manual = FALSE, dnd_end_time = 0, prev_status = '' \
                 WHERE dnd_end_time > 0 AND dnd_end_time <= $2 \
                 RETURNING user_id, status, manual, last_activity_at, dnd_end_time, prev_status",
            )
            .bind(STATUS_ONLINE)
            .bind(now_seconds)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Status::from).collect())
    }

    /// Records that `node_id` holds a live socket of `user_id` (or no longer does).
    pub async fn set_presence(
        &self,
        node_id: &str,
        user_id: &str,
        present: bool,
    ) -> StoreResult<()> {
        on_writer!(self, pool => {
            let query = if present {
                "INSERT INTO user_presence (node_id, user_id) VALUES ($1, $2) \
                 ON CONFLICT (node_id, user_id) DO NOTHING"
            } else {
                "DELETE FROM user_presence WHERE node_id = $1 AND user_id = $2"
            };
            sqlx::query(query)
                .bind(node_id)
                .bind(user_id)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// Rewrites this node's presence to exactly `user_ids` (repairing any write that
    /// raced with another).
    pub async fn replace_presence(&self, node_id: &str, user_ids: &[String]) -> StoreResult<()> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM user_presence WHERE node_id = $1")
                .bind(node_id)
                .execute(&mut *tx)
                .await?;
            for user_id in user_ids {
                sqlx::query("INSERT INTO user_presence (node_id, user_id) VALUES ($1, $2)")
                    .bind(node_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Whether a node that heartbeated since `since` holds a socket of `user_id`.
    pub async fn is_present(&self, user_id: &str, since: i64) -> StoreResult<bool> {
        let found: Option<i32> = on_reader!(self, pool => {
            sqlx::query_scalar(
                "SELECT 1 FROM user_presence p JOIN cluster_nodes n ON n.node_id = p.node_id \
                 WHERE p.user_id = $1 AND n.last_heartbeat_at >= $2 LIMIT 1",
            )
            .bind(user_id)
            .bind(since)
            .fetch_optional(pool)
            .await
        })?;
        Ok(found.is_some())
    }

    /// Removes the presence of nodes that stopped heartbeating before `since` (or are
    /// gone); the users it held, each once across the cluster.
    pub async fn sweep_dead_presence(&self, since: i64) -> StoreResult<Vec<String>> {
        let users: Vec<String> = on_writer!(self, pool => {
            sqlx::query_scalar(
                "DELETE FROM user_presence WHERE node_id NOT IN \
                   (SELECT node_id FROM cluster_nodes WHERE last_heartbeat_at >= $1) \
                 RETURNING user_id",
            )
            .bind(since)
            .fetch_all(pool)
            .await
        })?;
        Ok(users)
    }
}
