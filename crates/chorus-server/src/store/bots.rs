//! Bot accounts: a user row with `is_bot` (username, display name as first name) and a
//! `bots` row (description, owner), written together so that no bot is ever half made.

use super::{on_reader, on_writer, Store, StoreError, StoreResult};
use chorus_model::{Bot, User, ROLE_SYSTEM_USER};

/// `SELECT` of a [`BotRow`] from bots `b` joined with its user `u`, then the literals.
macro_rules! select_bots {
    ($($tail:literal),*) => {
        concat!(
            "SELECT b.user_id, u.username, u.first_name AS display_name, b.description, \
               b.owner_id, b.create_at, b.update_at, b.delete_at \
             FROM bots b JOIN users u ON u.id = b.user_id ",
            $($tail),*
        )
    };
}

#[derive(sqlx::FromRow)]
struct BotRow {
    user_id: String,
    username: String,
    display_name: String,
    description: String,
    owner_id: String,
    create_at: i64,
    update_at: i64,
    delete_at: i64,
}

impl From<BotRow> for Bot {
    fn from(row: BotRow) -> Bot {
        Bot {
            user_id: row.user_id,
            username: row.username,
            display_name: row.display_name,
            description: row.description,
            owner_id: row.owner_id,
            last_icon_update: 0,
            create_at: row.create_at,
            update_at: row.update_at,
            delete_at: row.delete_at,
        }
    }
}

/// Which bots `GET /bots` lists.
#[derive(Debug, Clone, Default)]
pub struct BotFilter {
    /// Only the bots this user owns.
    pub owner_id: Option<String>,
    pub include_deleted: bool,
    /// Only bots whose owner is a deactivated user.
    pub only_orphaned: bool,
}

/// A password hash no password matches: bots never log in with one.
const NO_PASSWORD: &str = "!bot-accounts-cannot-log-in";

impl Store {
    /// Creates the bot's user (from `bot`: username, display name) and its bot row.
    pub async fn create_bot(&self, bot: &Bot, email: &str) -> StoreResult<Bot> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO users (id, create_at, update_at, delete_at, username, email, password_hash, \
                   first_name, roles, locale, is_bot) \
                 VALUES ($1, $2, $2, 0, $3, $4, $5, $6, $7, 'en', TRUE)",
            )
            .bind(&bot.user_id)
            .bind(bot.create_at)
            .bind(&bot.username)
            .bind(email)
            .bind(NO_PASSWORD)
            .bind(&bot.display_name)
            .bind(ROLE_SYSTEM_USER)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO bots (user_id, description, owner_id, create_at, update_at, delete_at) \
                 VALUES ($1, $2, $3, $4, $4, 0)",
            )
            .bind(&bot.user_id)
            .bind(&bot.description)
            .bind(&bot.owner_id)
            .bind(bot.create_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        self.written_bot(&bot.user_id).await
    }

    /// A bot just written, read back whole (with its user's fields).
    async fn written_bot(&self, user_id: &str) -> StoreResult<Bot> {
        self.get_bot(user_id)
            .await?
            .ok_or_else(StoreError::vanished)
    }

    /// A bot, deactivated or not.
    pub async fn get_bot(&self, user_id: &str) -> StoreResult<Option<Bot>> {
        let row: Option<BotRow> = on_reader!(self, pool => {
            sqlx::query_as(select_bots!("WHERE b.user_id = $1"))
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Bot::from))
    }

    /// Bots, oldest first (then by username), as Mattermost pages them.
    pub async fn list_bots(
        &self,
        filter: &BotFilter,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<Bot>> {
        let rows: Vec<BotRow> = on_reader!(self, pool => {
            sqlx::query_as(select_bots!(
                "WHERE ($1 IS NULL OR b.owner_id = $1) AND ($2 OR b.delete_at = 0) \
                 AND (NOT $3 OR EXISTS (SELECT 1 FROM users o WHERE o.id = b.owner_id AND o.delete_at <> 0)) \
                 ORDER BY b.create_at, u.username LIMIT $4 OFFSET $5"
            ))
            .bind(filter.owner_id.as_deref())
            .bind(filter.include_deleted)
            .bind(filter.only_orphaned)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Bot::from).collect())
    }

    /// Saves a bot's username, display name, description and owner (the caller has
    /// merged the patch into `bot`).
    pub async fn update_bot(&self, bot: &Bot) -> StoreResult<Bot> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET username = $1, first_name = $2, update_at = $3 WHERE id = $4")
                .bind(&bot.username)
                .bind(&bot.display_name)
                .bind(bot.update_at)
                .bind(&bot.user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE bots SET description = $1, owner_id = $2, update_at = $3 WHERE user_id = $4")
                .bind(&bot.description)
                .bind(&bot.owner_id)
                .bind(bot.update_at)
                .bind(&bot.user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        self.written_bot(&bot.user_id).await
    }

    /// Deactivates (`delete_at` > 0) or reactivates a bot and its user together.
    pub async fn set_bot_delete_at(
        &self,
        user_id: &str,
        delete_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET delete_at = $1, update_at = $2 WHERE id = $3")
                .bind(delete_at)
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE bots SET delete_at = $1, update_at = $2 WHERE user_id = $3")
                .bind(delete_at)
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Turns a person's account into a bot owned by `owner_id`: it loses its password,
    /// its roles beyond `system_user` and its login sessions, in one transaction.
    pub async fn convert_user_to_bot(
        &self,
        user: &User,
        owner_id: &str,
        now: i64,
    ) -> StoreResult<Bot> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE users SET is_bot = TRUE, password_hash = $1, roles = $2, update_at = $3 WHERE id = $4",
            )
            .bind(NO_PASSWORD)
            .bind(ROLE_SYSTEM_USER)
            .bind(now)
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO bots (user_id, description, owner_id, create_at, update_at, delete_at) \
                 VALUES ($1, '', $2, $3, $3, 0)",
            )
            .bind(&user.id)
            .bind(owner_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(&user.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        self.written_bot(&user.id).await
    }
}
