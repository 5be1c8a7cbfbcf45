//! Users: sign-up, lookup by id, username or login id, and listing.

use super::{on_reader, on_writer, Backend, IdList, JsonObject, Store, StoreError, StoreResult};
use chorus_model::{User, ROLE_SYSTEM_ADMIN, ROLE_SYSTEM_USER};
use sqlx::types::Json;

/// `SELECT` of a [`UserRow`] (and the `$extra` columns) from users `u`, followed by the
/// literals given.
macro_rules! select_users {
    (extra: $extra:literal, $($tail:literal),*) => {
        concat!(
            "SELECT u.id, u.create_at, u.update_at, u.delete_at, u.username, u.email, \
               u.nickname, u.first_name, u.last_name, u.position, u.roles, u.locale, u.is_bot, \
               u.props, u.notify_props, u.last_picture_update",
            $extra,
            " FROM users u ",
            $($tail),*
        )
    };
    ($($tail:literal),*) => {
        select_users!(extra: "", $($tail),*)
    };
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    create_at: i64,
    update_at: i64,
    delete_at: i64,
    username: String,
    email: String,
    nickname: String,
    first_name: String,
    last_name: String,
    position: String,
    roles: String,
    locale: String,
    is_bot: bool,
    props: Json<JsonObject>,
    notify_props: Json<JsonObject>,
    last_picture_update: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            id: row.id,
            create_at: row.create_at,
            update_at: row.update_at,
            delete_at: row.delete_at,
            username: row.username,
            email: row.email,
            nickname: row.nickname,
            first_name: row.first_name,
            last_name: row.last_name,
            position: row.position,
            roles: row.roles,
            locale: row.locale,
            is_bot: row.is_bot,
            props: row.props.0,
            notify_props: chorus_model::with_defaults(
                row.notify_props.0,
                chorus_model::USER_NOTIFY_DEFAULTS,
            ),
            last_picture_update: row.last_picture_update,
            ..User::default()
        }
    }
}

fn users(rows: Vec<UserRow>) -> Vec<User> {
    rows.into_iter().map(User::from).collect()
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
    failed_attempts: i64,
    last_failed_at: i64,
}

/// What a login needs to know of an account.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub user: User,
    pub password_hash: String,
    pub failed_attempts: i64,
    pub last_failed_at: i64,
}

/// Filters of `GET /users` and of user searches; `None` does not narrow.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub in_team: Option<String>,
    pub not_in_team: Option<String>,
    pub in_channel: Option<String>,
    pub not_in_channel: Option<String>,
    /// A `LIKE` pattern (lowercase, with `\` escaping) that the username, nickname,
    /// first name, last name or full name must match.
    pub name_like: Option<String>,
    /// Deactivated users too.
    pub allow_inactive: bool,
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
        let roles = if user.roles.is_empty() {
            ROLE_SYSTEM_USER
        } else {
            user.roles.as_str()
        };
        on_writer!(self, pool, backend => {
            let mut tx = pool.begin().await?;
            if backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(USER_CREATION_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO users (id, create_at, update_at, delete_at, username, email, password_hash, \
                   nickname, first_name, last_name, position, roles, locale, is_bot) \
                 SELECT $1, $2, $2, 0, $3, $4, $5, $6, $7, $8, $9, \
                   CASE WHEN $13 OR EXISTS (SELECT 1 FROM users WHERE NOT is_bot) THEN $10 ELSE $11 END, $12, $13",
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
            .bind(roles)
            .bind(&admin_roles)
            .bind(&user.locale)
            .bind(user.is_bot)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        self.get_user(&user.id)
            .await?
            .ok_or_else(StoreError::vanished)
    }

    pub async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = on_reader!(self, pool => {
            sqlx::query_as(select_users!("WHERE u.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(User::from))
    }

    pub async fn get_user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = on_reader!(self, pool => {
            sqlx::query_as(select_users!("WHERE u.username = $1"))
                .bind(username.to_lowercase())
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(User::from))
    }

    /// The user whose username or email is `login_id`, with what a login checks.
    pub async fn get_user_for_login(&self, login_id: &str) -> StoreResult<Option<LoginRecord>> {
        let row: Option<LoginRow> = on_reader!(self, pool => {
            sqlx::query_as(select_users!(
                extra: ", u.password_hash, u.failed_attempts, u.last_failed_at",
                "WHERE u.username = $1 OR u.email = $1"
            ))
            .bind(login_id.to_lowercase())
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|row| LoginRecord {
            user: row.user.into(),
            password_hash: row.password_hash,
            failed_attempts: row.failed_attempts,
            last_failed_at: row.last_failed_at,
        }))
    }

    /// Counts one failed login of `user_id` at `now`. Failures older than
    /// `locked_since` have served their lockout: the count starts again from this one.
    pub async fn record_failed_login(
        &self,
        user_id: &str,
        now: i64,
        locked_since: i64,
    ) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "UPDATE users SET last_failed_at = $2, failed_attempts = \
                   CASE WHEN last_failed_at < $3 THEN 1 ELSE failed_attempts + 1 END \
                 WHERE id = $1",
            )
            .bind(user_id)
            .bind(now)
            .bind(locked_since)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
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
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE users SET failed_attempts = 0 \
                 WHERE id = $1 AND ($2 = 0 OR failed_attempts < $2 OR last_failed_at < $3)",
            )
            .bind(user_id)
            .bind(max)
            .bind(locked_since)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Sets a new password hash, which also unlocks the account (as in Mattermost).
    pub async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE users SET password_hash = $2, failed_attempts = 0, update_at = $3 WHERE id = $1",
            )
            .bind(user_id)
            .bind(password_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// The password hash of `user_id`, to check a current password.
    pub async fn password_hash(&self, user_id: &str) -> StoreResult<Option<String>> {
        let hash = on_writer!(self, pool => {
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(hash)
    }

    pub async fn get_users_by_ids(&self, ids: &[String]) -> StoreResult<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<UserRow> = on_reader!(self, pool, backend => {
            let sql = match backend {
                Backend::Postgres => select_users!("WHERE u.id = ANY($1) ORDER BY u.username"),
                Backend::Sqlite => select_users!(
                    "WHERE u.id IN (SELECT value FROM json_each($1)) ORDER BY u.username"
                ),
            };
            sqlx::query_as(sql).bind(IdList(ids)).fetch_all(pool).await
        })?;
        Ok(users(rows))
    }

    /// One page of users (live ones unless `allow_inactive`), by username, narrowed by
    /// `filter`'s conditions (an absent one is `NULL` and holds for everyone).
    pub async fn list_users(
        &self,
        filter: &UserFilter,
        page: i64,
        per_page: i64,
    ) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = on_reader!(self, pool => {
            sqlx::query_as(select_users!(
                "WHERE ($6 OR u.delete_at = 0) ",
                "AND ($1 IS NULL OR EXISTS (SELECT 1 FROM team_members tm ",
                "WHERE tm.user_id = u.id AND tm.team_id = $1 AND tm.delete_at = 0)) ",
                "AND ($7 IS NULL OR NOT EXISTS (SELECT 1 FROM team_members tm ",
                "WHERE tm.user_id = u.id AND tm.team_id = $7 AND tm.delete_at = 0)) ",
                "AND ($2 IS NULL OR EXISTS (SELECT 1 FROM channel_members cm ",
                "WHERE cm.user_id = u.id AND cm.channel_id = $2)) ",
                "AND ($3 IS NULL OR NOT EXISTS (SELECT 1 FROM channel_members cm ",
                "WHERE cm.user_id = u.id AND cm.channel_id = $3)) ",
                "AND ($8 IS NULL OR lower(u.username) LIKE $8 ESCAPE '\\' ",
                "OR lower(u.nickname) LIKE $8 ESCAPE '\\' OR lower(u.first_name) LIKE $8 ESCAPE '\\' ",
                "OR lower(u.last_name) LIKE $8 ESCAPE '\\' ",
                "OR lower(u.first_name || ' ' || u.last_name) LIKE $8 ESCAPE '\\') ",
                "ORDER BY u.username LIMIT $4 OFFSET $5"
            ))
            .bind(filter.in_team.as_deref())
            .bind(filter.in_channel.as_deref())
            .bind(filter.not_in_channel.as_deref())
            .bind(per_page)
            .bind(page * per_page)
            .bind(filter.allow_inactive)
            .bind(filter.not_in_team.as_deref())
            .bind(filter.name_like.as_deref())
            .fetch_all(pool)
            .await
        })?;
        Ok(users(rows))
    }

    /// Whether any person has signed up yet (the first sign-up is always allowed).
    pub async fn any_user_exists(&self) -> StoreResult<bool> {
        let found: Option<String> = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT id FROM users WHERE NOT is_bot LIMIT 1")
                .fetch_optional(pool)
                .await
        })?;
        Ok(found.is_some())
    }

    /// Saves a live user's profile fields (username, email, names, position, locale,
    /// notify props);
    /// false for no such user. A username or email another user has is a unique
    /// violation.
    pub async fn update_user_profile(&self, user: &User) -> StoreResult<bool> {
        let changed = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE users SET username = $2, email = $3, nickname = $4, first_name = $5, \
                   last_name = $6, position = $7, locale = $8, update_at = $9, \
                   notify_props = $10 WHERE id = $1 AND delete_at = 0",
            )
            .bind(&user.id)
            .bind(&user.username)
            .bind(&user.email)
            .bind(&user.nickname)
            .bind(&user.first_name)
            .bind(&user.last_name)
            .bind(&user.position)
            .bind(&user.locale)
            .bind(user.update_at)
            .bind(Json(&user.notify_props))
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(changed > 0)
    }

    /// Records when a user's profile image changed (negative: reset to the generated
    /// one); false for no such user.
    pub async fn set_last_picture_update(&self, user_id: &str, at: i64) -> StoreResult<bool> {
        let changed = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE users SET last_picture_update = $2, update_at = $3 \
                 WHERE id = $1 AND delete_at = 0",
            )
            .bind(user_id)
            .bind(at)
            .bind(at.abs())
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(changed > 0)
    }

    /// Sets one of a user's props to a text value, in one statement (no other prop is
    /// touched, whatever else changes them meanwhile); false for no such user.
    pub async fn set_user_prop(
        &self,
        user_id: &str,
        key: UserProp,
        value: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let changed = on_writer!(self, pool, backend => {
            let sql = match backend {
                Backend::Postgres => {
                    "UPDATE users SET props = props || jsonb_build_object($1::text, $2::text), \
                     update_at = $3 WHERE id = $4"
                }
                Backend::Sqlite => {
                    "UPDATE users SET props = json_set(props, '$.' || $1, $2), update_at = $3 \
                     WHERE id = $4"
                }
            };
            sqlx::query(sql)
                .bind(key.name())
                .bind(value)
                .bind(now)
                .bind(user_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(changed > 0)
    }

    /// Sets a user's roles. A change that takes `system_admin` away is only made while
    /// another active admin remains (false otherwise), so the server never loses its
    /// last admin.
    pub async fn update_user_roles(
        &self,
        user_id: &str,
        roles: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let keeps_admin = roles.split_whitespace().any(|r| r == ROLE_SYSTEM_ADMIN);
        let changed = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE users SET roles = $1, update_at = $2 WHERE id = $3 AND ($4 \
                   OR NOT (' ' || roles || ' ') LIKE '% system_admin %' \
                   OR EXISTS (SELECT 1 FROM users o WHERE o.id <> $3 AND o.delete_at = 0 \
                     AND (' ' || o.roles || ' ') LIKE '% system_admin %'))",
            )
            .bind(roles)
            .bind(now)
            .bind(user_id)
            .bind(keeps_admin)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(changed > 0)
    }
}

/// The user props the server writes: plain identifiers, so that they are also valid
/// JSON paths in SQLite's `json_set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserProp {
    /// Mattermost's `customStatus`: the custom status as JSON text, `""` when cleared.
    CustomStatus,
}

impl UserProp {
    pub fn name(self) -> &'static str {
        match self {
            UserProp::CustomStatus => chorus_model::USER_PROP_CUSTOM_STATUS,
        }
    }
}
