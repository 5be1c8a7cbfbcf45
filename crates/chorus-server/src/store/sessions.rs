//! Login sessions: created at login, looked up on every authenticated request,
//! removed at logout; expired rows are refused and swept.

use super::{get_i64, get_str, Store, StoreResult};
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
}

impl Session {
    pub fn is_expired(&self) -> bool {
        self.expires_at <= now_millis()
    }
}

impl Store {
    pub async fn create_session(&self, session: &Session) -> StoreResult<()> {
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session for `token` and its (not deleted) user, expired or not: the caller
    /// tells "expired" apart from "unknown" for a clearer error.
    pub async fn get_session(&self, token: &str) -> StoreResult<Option<(Session, User)>> {
        let row = sqlx::query(
            "SELECT s.token, s.id AS session_id, s.user_id, s.create_at AS session_create_at, \
               s.expires_at, s.csrf_token, s.device_id, u.roles, u.username, u.delete_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token = $1",
        )
        .bind(token)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        if get_i64(&row, "delete_at")? != 0 {
            return Ok(None);
        }
        let session = Session {
            id: get_str(&row, "session_id")?,
            token: get_str(&row, "token")?,
            user_id: get_str(&row, "user_id")?,
            create_at: get_i64(&row, "session_create_at")?,
            expires_at: get_i64(&row, "expires_at")?,
            csrf_token: get_str(&row, "csrf_token")?,
            device_id: get_str(&row, "device_id")?,
        };
        let user = User {
            id: session.user_id.clone(),
            roles: get_str(&row, "roles")?,
            username: get_str(&row, "username")?,
            ..User::default()
        };
        Ok(Some((session, user)))
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token = $1")
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Sets a session's expiry; used by tests and by admins revoking access.
    pub async fn set_session_expiry(&self, token: &str, expires_at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token = $2")
            .bind(expires_at)
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&self) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
