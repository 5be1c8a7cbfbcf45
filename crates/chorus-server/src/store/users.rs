//! Users: sign-up, lookup by id, username or login id, and listing.

use super::{get_bool, get_i64, get_str, placeholders, Store, StoreError, StoreResult};
use chorus_model::{User, ROLE_SYSTEM_ADMIN, ROLE_SYSTEM_USER};
use sqlx::any::AnyRow;

const USER_COLUMNS: &str = "id, create_at, update_at, delete_at, username, email, nickname, \
     first_name, last_name, position, roles, locale, is_bot";

fn user_from_row(row: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: get_str(row, "id")?,
        create_at: get_i64(row, "create_at")?,
        update_at: get_i64(row, "update_at")?,
        delete_at: get_i64(row, "delete_at")?,
        username: get_str(row, "username")?,
        email: get_str(row, "email")?,
        nickname: get_str(row, "nickname")?,
        first_name: get_str(row, "first_name")?,
        last_name: get_str(row, "last_name")?,
        position: get_str(row, "position")?,
        roles: get_str(row, "roles")?,
        locale: get_str(row, "locale")?,
        is_bot: get_bool(row, "is_bot")?,
        ..User::default()
    })
}

/// What a login needs to know of an account.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub user: User,
    pub password_hash: String,
    pub failed_attempts: i64,
    pub last_failed_at: i64,
}

/// Filters of `GET /users`.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub in_team: Option<String>,
    pub in_channel: Option<String>,
    pub not_in_channel: Option<String>,
}

/// The advisory lock key that serialises user creation on PostgreSQL ("chorus" + 1).
const USER_CREATION_LOCK: i64 = 0x6368_6f72_7573_0001;

impl Store {
    /// Inserts a user; the very first human user of the database becomes system admin,
    /// decided inside the insert. On PostgreSQL two first sign-ups (on two nodes, say)
    /// could both see an empty table under READ COMMITTED, so user creation takes a
    /// transaction-scoped advisory lock first; SQLite's single writer already
    /// serialises them. Bots are never admins.
    pub async fn create_user(&self, user: &User, password_hash: &str) -> StoreResult<User> {
        let admin_roles = format!("{ROLE_SYSTEM_USER} {ROLE_SYSTEM_ADMIN}");
        let mut tx = self.pool.begin().await?;
        if self.backend == super::Backend::Postgres {
            // `IS NULL` turns the function's void result into a type every driver reads.
            sqlx::query("SELECT pg_advisory_xact_lock($1) IS NULL")
                .bind(USER_CREATION_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO users (id, create_at, update_at, delete_at, username, email, password_hash, \
               nickname, first_name, last_name, position, roles, locale, is_bot) \
             SELECT $1, $2, $2, 0, $3, $4, $5, $6, $7, $8, $9, \
               CASE WHEN $13 OR EXISTS (SELECT 1 FROM users WHERE is_bot = $14) THEN $10 ELSE $11 END, $12, $13",
        )
        .bind(&user.id)
        .bind(user.create_at)
        .bind(&user.username)
        .bind(&user.email)
        .bind(password_hash)
        .bind(&user.nickname)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.position)
        .bind(if user.roles.is_empty() { ROLE_SYSTEM_USER } else { user.roles.as_str() })
        .bind(&admin_roles)
        .bind(&user.locale)
        .bind(user.is_bot)
        .bind(false)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_user(&user.id)
            .await?
            .ok_or(StoreError(sqlx::Error::RowNotFound))
    }

    pub async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn get_user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        let row = sqlx::query(&sql)
            .bind(username.to_lowercase())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user whose username or email is `login_id`, with what a login checks.
    pub async fn get_user_for_login(&self, login_id: &str) -> StoreResult<Option<LoginRecord>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, password_hash, failed_attempts, last_failed_at \
             FROM users WHERE username = $1 OR email = $1"
        );
        let row = sqlx::query(&sql)
            .bind(login_id.to_lowercase())
            .fetch_optional(&self.reader)
            .await?;
        match row {
            Some(row) => Ok(Some(LoginRecord {
                user: user_from_row(&row)?,
                password_hash: get_str(&row, "password_hash")?,
                failed_attempts: get_i64(&row, "failed_attempts")?,
                last_failed_at: get_i64(&row, "last_failed_at")?,
            })),
            None => Ok(None),
        }
    }

    /// Counts one failed login of `user_id` at `now`. Failures older than
    /// `locked_since` have served their lockout: the count starts again from this one.
    pub async fn record_failed_login(
        &self,
        user_id: &str,
        now: i64,
        locked_since: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET last_failed_at = $2, failed_attempts = \
               CASE WHEN last_failed_at < $3 THEN 1 ELSE failed_attempts + 1 END \
             WHERE id = $1",
        )
        .bind(user_id)
        .bind(now)
        .bind(locked_since)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(StoreError::from)
    }

    /// Clears the failed logins of `user_id` after a correct password, unless the
    /// account is locked at this moment (`max` failures or more, the last one after
    /// `locked_since`): decided in the one statement, so that concurrent wrong
    /// guesses that locked the account meanwhile cannot be overtaken. `max` 0 never
    /// locks. Answers whether the login may go ahead.
    pub async fn clear_failed_logins_unless_locked(
        &self,
        user_id: &str,
        max: i64,
        locked_since: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET failed_attempts = 0 \
             WHERE id = $1 AND ($2 = 0 OR failed_attempts < $2 OR last_failed_at < $3)",
        )
        .bind(user_id)
        .bind(max)
        .bind(locked_since)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets a new password hash, which also unlocks the account (as in Mattermost).
    pub async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $2, failed_attempts = 0, update_at = $3 WHERE id = $1",
        )
        .bind(user_id)
        .bind(password_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The password hash of `user_id`, to check a current password.
    pub async fn password_hash(&self, user_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(|r| get_str(r, "password_hash"))
            .transpose()
    }

    pub async fn get_users_by_ids(&self, ids: &[String]) -> StoreResult<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id IN ({}) ORDER BY username",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn list_users(
        &self,
        filter: &UserFilter,
        page: i64,
        per_page: i64,
    ) -> StoreResult<Vec<User>> {
        let mut conditions = vec!["u.delete_at = 0".to_string()];
        let mut binds: Vec<&str> = Vec::new();
        if let Some(team) = &filter.in_team {
            binds.push(team);
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_id = u.id AND tm.team_id = ${} AND tm.delete_at = 0)",
                binds.len()
            ));
        }
        if let Some(channel) = &filter.in_channel {
            binds.push(channel);
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_id = u.id AND cm.channel_id = ${})",
                binds.len()
            ));
        }
        if let Some(channel) = &filter.not_in_channel {
            binds.push(channel);
            conditions.push(format!(
                "NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_id = u.id AND cm.channel_id = ${})",
                binds.len()
            ));
        }
        let sql = format!(
            "SELECT {} FROM users u WHERE {} ORDER BY u.username LIMIT ${} OFFSET ${}",
            USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            conditions.join(" AND "),
            binds.len() + 1,
            binds.len() + 2
        );
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = query.bind(bind);
        }
        let rows = query
            .bind(per_page)
            .bind(page * per_page)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(user_from_row).collect()
    }
}

impl Store {
    /// Whether any person has signed up yet (the first sign-up is always allowed).
    pub async fn any_user_exists(&self) -> StoreResult<bool> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM users WHERE is_bot = $1 LIMIT 1")
                .bind(false)
                .fetch_optional(&self.reader)
                .await?;
        Ok(found.is_some())
    }
}
