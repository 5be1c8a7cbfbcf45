//! Incoming and outgoing webhooks: stored, listed per team (and owner or channel),
//! changed and soft-deleted.

use super::{on_reader, on_writer, Store, StoreResult};
use chorus_model::{IncomingWebhook, OutgoingWebhook};

#[derive(sqlx::FromRow)]
struct HookRow {
    id: String,
    create_at: i64,
    update_at: i64,
    delete_at: i64,
    user_id: String,
    channel_id: String,
    team_id: String,
    display_name: String,
    description: String,
    username: String,
    icon_url: String,
    channel_locked: bool,
}

impl From<HookRow> for IncomingWebhook {
    fn from(row: HookRow) -> IncomingWebhook {
        IncomingWebhook {
            id: row.id,
            create_at: row.create_at,
            update_at: row.update_at,
            delete_at: row.delete_at,
            user_id: row.user_id,
            channel_id: row.channel_id,
            team_id: row.team_id,
            display_name: row.display_name,
            description: row.description,
            username: row.username,
            icon_url: row.icon_url,
            channel_locked: row.channel_locked,
        }
    }
}

const SELECT_HOOKS: &str = "SELECT id, create_at, update_at, delete_at, user_id, channel_id, \
     team_id, display_name, description, username, icon_url, channel_locked \
     FROM incoming_webhooks ";

impl Store {
    pub async fn insert_incoming_webhook(&self, hook: &IncomingWebhook) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO incoming_webhooks (id, create_at, update_at, delete_at, user_id, \
                   channel_id, team_id, display_name, description, username, icon_url, \
                   channel_locked) VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&hook.id)
            .bind(hook.create_at)
            .bind(hook.update_at)
            .bind(&hook.user_id)
            .bind(&hook.channel_id)
            .bind(&hook.team_id)
            .bind(&hook.display_name)
            .bind(&hook.description)
            .bind(&hook.username)
            .bind(&hook.icon_url)
            .bind(hook.channel_locked)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// A live (not deleted) incoming webhook.
    pub async fn get_incoming_webhook(&self, id: &str) -> StoreResult<Option<IncomingWebhook>> {
        let row: Option<HookRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("{SELECT_HOOKS} WHERE id = $1 AND delete_at = 0"))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(IncomingWebhook::from))
    }

    /// A page of live hooks, oldest first, of one team and one owner when given
    /// (empty: any).
    pub async fn list_incoming_webhooks(
        &self,
        team_id: &str,
        user_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<IncomingWebhook>> {
        let rows: Vec<HookRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "{SELECT_HOOKS} WHERE delete_at = 0 AND ($1 = '' OR team_id = $1) \
                 AND ($2 = '' OR user_id = $2) ORDER BY create_at, id LIMIT $3 OFFSET $4"
            ))
            .bind(team_id)
            .bind(user_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(IncomingWebhook::from).collect())
    }

    /// Writes a live hook's changeable fields; `false` when it is gone.
    pub async fn update_incoming_webhook(&self, hook: &IncomingWebhook) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE incoming_webhooks SET update_at = $1, channel_id = $2, display_name = $3, \
                   description = $4, username = $5, icon_url = $6, channel_locked = $7 \
                 WHERE id = $8 AND delete_at = 0",
            )
            .bind(hook.update_at)
            .bind(&hook.channel_id)
            .bind(&hook.display_name)
            .bind(&hook.description)
            .bind(&hook.username)
            .bind(&hook.icon_url)
            .bind(hook.channel_locked)
            .bind(&hook.id)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Soft-deletes a hook; `false` when it was already gone.
    pub async fn delete_incoming_webhook(&self, id: &str, at: i64) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE incoming_webhooks SET delete_at = $1, update_at = $1 \
                 WHERE id = $2 AND delete_at = 0",
            )
            .bind(at)
            .bind(id)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
        })?;
        Ok(done == 1)
    }
}

#[derive(sqlx::FromRow)]
struct OutgoingRow {
    id: String,
    token: String,
    create_at: i64,
    update_at: i64,
    delete_at: i64,
    creator_id: String,
    channel_id: String,
    team_id: String,
    trigger_words: String,
    trigger_when: i32,
    callback_urls: String,
    display_name: String,
    description: String,
    content_type: String,
    username: String,
    icon_url: String,
}

/// A list column: a JSON array of strings (empty when unreadable, which only a hand
/// edit of the database could cause).
fn string_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn list_text(list: &[String]) -> String {
    serde_json::to_string(list).expect("a list of strings is JSON")
}

impl From<OutgoingRow> for OutgoingWebhook {
    fn from(row: OutgoingRow) -> OutgoingWebhook {
        OutgoingWebhook {
            id: row.id,
            token: row.token,
            create_at: row.create_at,
            update_at: row.update_at,
            delete_at: row.delete_at,
            creator_id: row.creator_id,
            channel_id: row.channel_id,
            team_id: row.team_id,
            trigger_words: string_list(&row.trigger_words),
            trigger_when: row.trigger_when,
            callback_urls: string_list(&row.callback_urls),
            display_name: row.display_name,
            description: row.description,
            content_type: row.content_type,
            username: row.username,
            icon_url: row.icon_url,
        }
    }
}

const SELECT_OUTGOING: &str = "SELECT id, token, create_at, update_at, delete_at, creator_id, \
     channel_id, team_id, trigger_words, trigger_when, callback_urls, display_name, \
     description, content_type, username, icon_url FROM outgoing_webhooks ";

impl Store {
    pub async fn insert_outgoing_webhook(&self, hook: &OutgoingWebhook) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO outgoing_webhooks (id, token, create_at, update_at, delete_at, \
                   creator_id, channel_id, team_id, trigger_words, trigger_when, callback_urls, \
                   display_name, description, content_type, username, icon_url) \
                 VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(&hook.id)
            .bind(&hook.token)
            .bind(hook.create_at)
            .bind(hook.update_at)
            .bind(&hook.creator_id)
            .bind(&hook.channel_id)
            .bind(&hook.team_id)
            .bind(list_text(&hook.trigger_words))
            .bind(hook.trigger_when)
            .bind(list_text(&hook.callback_urls))
            .bind(&hook.display_name)
            .bind(&hook.description)
            .bind(&hook.content_type)
            .bind(&hook.username)
            .bind(&hook.icon_url)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// A live outgoing webhook.
    pub async fn get_outgoing_webhook(&self, id: &str) -> StoreResult<Option<OutgoingWebhook>> {
        let row: Option<OutgoingRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("{SELECT_OUTGOING} WHERE id = $1 AND delete_at = 0"))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(OutgoingWebhook::from))
    }

    /// A page of live outgoing hooks, oldest first, of one team, channel and owner when
    /// given (empty: any).
    pub async fn list_outgoing_webhooks(
        &self,
        team_id: &str,
        channel_id: &str,
        creator_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<OutgoingWebhook>> {
        let rows: Vec<OutgoingRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "{SELECT_OUTGOING} WHERE delete_at = 0 AND ($1 = '' OR team_id = $1) \
                 AND ($2 = '' OR channel_id = $2) AND ($3 = '' OR creator_id = $3) \
                 ORDER BY create_at, id LIMIT $4 OFFSET $5"
            ))
            .bind(team_id)
            .bind(channel_id)
            .bind(creator_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(OutgoingWebhook::from).collect())
    }

    /// Every live outgoing hook of a team: what a new post is matched against.
    pub async fn team_outgoing_webhooks(&self, team_id: &str) -> StoreResult<Vec<OutgoingWebhook>> {
        self.list_outgoing_webhooks(team_id, "", "", 0, i64::MAX)
            .await
    }

    /// Writes a live hook's changeable fields (and its token); `false` when it is gone.
    pub async fn update_outgoing_webhook(&self, hook: &OutgoingWebhook) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE outgoing_webhooks SET update_at = $1, token = $2, channel_id = $3, \
                   trigger_words = $4, trigger_when = $5, callback_urls = $6, display_name = $7, \
                   description = $8, content_type = $9, username = $10, icon_url = $11 \
                 WHERE id = $12 AND delete_at = 0",
            )
            .bind(hook.update_at)
            .bind(&hook.token)
            .bind(&hook.channel_id)
            .bind(list_text(&hook.trigger_words))
            .bind(hook.trigger_when)
            .bind(list_text(&hook.callback_urls))
            .bind(&hook.display_name)
            .bind(&hook.description)
            .bind(&hook.content_type)
            .bind(&hook.username)
            .bind(&hook.icon_url)
            .bind(&hook.id)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Soft-deletes an outgoing hook; `false` when it was already gone.
    pub async fn delete_outgoing_webhook(&self, id: &str, at: i64) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE outgoing_webhooks SET delete_at = $1, update_at = $1 \
                 WHERE id = $2 AND delete_at = 0",
            )
            .bind(at)
            .bind(id)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
        })?;
        Ok(done == 1)
    }
}
