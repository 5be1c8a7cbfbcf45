//! Login sessions: created at login, looked up on every authenticated request,
//! removed at logout; expired rows are refused and swept.

use super::{on_reader, on_writer, Store, StoreResult};
use chorus_model::{now_millis, User};

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub token: String,
    pub user_id: String,
    pub create_at: i64,
    pub expires_at: i64,
    pub csrf_token: String,
    pub device_id: String,
    /// A personal access token rather than a login: `id` is the token's id and
    /// `token` is empty (only the token's hash is kept).
    pub from_access_token: bool,
}

impl Session {
    pub fn is_expired(&self) -> bool {
        self.expires_at <= now_millis()
    }
}

/// A session with the little of its user that requests need.
#[derive(sqlx::FromRow)]
struct SessionRow {
    token: String,
    id: String,
    user_id: String,
    create_at: i64,
    expires_at: i64,
    csrf_token: String,
    device_id: String,
    roles: String,
    username: String,
    user_delete_at: i64,
}

impl Store {
    pub async fn create_session(&self, session: &Session) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO sessions (token, id, user_id, create_at, expires_at, csrf_token, device_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&session.token)
            .bind(&session.id)
            .bind(&session.user_id)
            .bind(session.create_at)
            .bind(session.expires_at)
            .bind(&session.csrf_token)
            .bind(&session.device_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// The session for `token` and its (not deleted) user, expired or not: the caller
    /// tells "expired" apart from "unknown" for a clearer error.
    pub async fn get_session(&self, token: &str) -> StoreResult<Option<(Session, User)>> {
        let row: Option<SessionRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT s.token, s.id, s.user_id, s.create_at, s.expires_at, s.csrf_token, \
                   s.device_id, u.roles, u.username, u.delete_at AS user_delete_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token = $1",
            )
            .bind(token)
            .fetch_optional(pool)
            .await
        })?;
        let Some(row) = row.filter(|row| row.user_delete_at == 0) else {
            return Ok(None);
        };
        let user = User {
            id: row.user_id.clone(),
            roles: row.roles,
            username: row.username,
            ..User::default()
        };
        let session = Session {
            id: row.id,
            token: row.token,
            user_id: row.user_id,
            create_at: row.create_at,
            expires_at: row.expires_at,
            csrf_token: row.csrf_token,
            device_id: row.device_id,
            from_access_token: false,
        };
        Ok(Some((session, user)))
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE token = $1")
                .bind(token)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Sets a session's expiry; used by tests and by admins revoking access.
    pub async fn set_session_expiry(&self, token: &str, expires_at: i64) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token = $2")
                .bind(expires_at)
                .bind(token)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&self) -> StoreResult<u64> {
        let done = on_writer!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now_millis())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done)
    }

    /// The ids of a user's login sessions, for closing their websockets.
    pub async fn session_ids_of_user(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let ids = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT id FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(ids)
    }

    /// Ends every login session of a user; returns their ids.
    pub async fn delete_sessions_of_user(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let ids = on_writer!(self, pool => {
            sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING id")
                .bind(user_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(ids)
    }
}
