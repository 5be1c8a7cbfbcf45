//! Custom slash commands: stored per team, one live command per trigger, changed and
//! soft-deleted.

use super::{on_reader, on_writer, Store, StoreResult};
use chorus_model::Command;

#[derive(sqlx::FromRow)]
struct CommandRow {
    id: String,
    token: String,
    create_at: i64,
    update_at: i64,
    delete_at: i64,
    creator_id: String,
    team_id: String,
    trigger: String,
    method: String,
    username: String,
    icon_url: String,
    auto_complete: bool,
    auto_complete_desc: String,
    auto_complete_hint: String,
    display_name: String,
    description: String,
    url: String,
}

impl From<CommandRow> for Command {
    fn from(row: CommandRow) -> Command {
        Command {
            id: row.id,
            token: row.token,
            create_at: row.create_at,
            update_at: row.update_at,
            delete_at: row.delete_at,
            creator_id: row.creator_id,
            team_id: row.team_id,
            trigger: row.trigger,
            method: row.method,
            username: row.username,
            icon_url: row.icon_url,
            auto_complete: row.auto_complete,
            auto_complete_desc: row.auto_complete_desc,
            auto_complete_hint: row.auto_complete_hint,
            display_name: row.display_name,
            description: row.description,
            url: row.url,
            ..Command::default()
        }
    }
}

const SELECT_COMMANDS: &str = "SELECT id, token, create_at, update_at, delete_at, creator_id, \
     team_id, trigger, method, username, icon_url, auto_complete, auto_complete_desc, \
     auto_complete_hint, display_name, description, url FROM commands ";

impl Store {
    /// Stores a new command; a unique violation when its team already has the trigger.
    pub async fn insert_command(&self, command: &Command) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO commands (id, token, create_at, update_at, delete_at, creator_id, \
                   team_id, trigger, method, username, icon_url, auto_complete, \
                   auto_complete_desc, auto_complete_hint, display_name, description, url) \
                 VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(&command.id)
            .bind(&command.token)
            .bind(command.create_at)
            .bind(command.update_at)
            .bind(&command.creator_id)
            .bind(&command.team_id)
            .bind(&command.trigger)
            .bind(&command.method)
            .bind(&command.username)
            .bind(&command.icon_url)
            .bind(command.auto_complete)
            .bind(&command.auto_complete_desc)
            .bind(&command.auto_complete_hint)
            .bind(&command.display_name)
            .bind(&command.description)
            .bind(&command.url)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// A live command.
    pub async fn get_command(&self, id: &str) -> StoreResult<Option<Command>> {
        let row: Option<CommandRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("{SELECT_COMMANDS} WHERE id = $1 AND delete_at = 0"))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Command::from))
    }

    /// A team's live command for a trigger.
    pub async fn get_command_by_trigger(
        &self,
        team_id: &str,
        trigger: &str,
    ) -> StoreResult<Option<Command>> {
        let row: Option<CommandRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "{SELECT_COMMANDS} WHERE team_id = $1 AND trigger = $2 AND delete_at = 0"
            ))
            .bind(team_id)
            .bind(trigger)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(Command::from))
    }

    /// A team's live commands, by trigger.
    pub async fn list_team_commands(&self, team_id: &str) -> StoreResult<Vec<Command>> {
        let rows: Vec<CommandRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "{SELECT_COMMANDS} WHERE team_id = $1 AND delete_at = 0 ORDER BY trigger, id"
            ))
            .bind(team_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Command::from).collect())
    }

    /// Writes a live command's changeable fields (and its token); `false` when it is
    /// gone. A unique violation when the new trigger is taken in its team.
    pub async fn update_command(&self, command: &Command) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE commands SET update_at = $1, token = $2, trigger = $3, method = $4, \
                   username = $5, icon_url = $6, auto_complete = $7, auto_complete_desc = $8, \
                   auto_complete_hint = $9, display_name = $10, description = $11, url = $12 \
                 WHERE id = $13 AND delete_at = 0",
            )
            .bind(command.update_at)
            .bind(&command.token)
            .bind(&command.trigger)
            .bind(&command.method)
            .bind(&command.username)
            .bind(&command.icon_url)
            .bind(command.auto_complete)
            .bind(&command.auto_complete_desc)
            .bind(&command.auto_complete_hint)
            .bind(&command.display_name)
            .bind(&command.description)
            .bind(&command.url)
            .bind(&command.id)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Moves a live command to another team; `false` when it is gone. A unique
    /// violation when that team already has the trigger.
    pub async fn move_command(&self, id: &str, team_id: &str, at: i64) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE commands SET team_id = $1, update_at = $2 WHERE id = $3 AND delete_at = 0",
            )
            .bind(team_id)
            .bind(at)
            .bind(id)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Soft-deletes a command; `false` when it was already gone.
    pub async fn delete_command(&self, id: &str, at: i64) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE commands SET delete_at = $1, update_at = $1 WHERE id = $2 AND delete_at = 0",
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

/// One run of a custom command whose integration may answer later.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CommandWebhook {
    pub id: String,
    pub command_id: String,
    pub user_id: String,
    pub channel_id: String,
    pub root_id: String,
    pub create_at: i64,
}

impl Store {
    /// Records a run's response URL, and forgets those created before `expired_before`.
    pub async fn insert_command_webhook(
        &self,
        hook: &CommandWebhook,
        expired_before: i64,
    ) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query("DELETE FROM command_webhooks WHERE create_at < $1")
                .bind(expired_before)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO command_webhooks (id, command_id, user_id, channel_id, root_id, create_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&hook.id)
            .bind(&hook.command_id)
            .bind(&hook.user_id)
            .bind(&hook.channel_id)
            .bind(&hook.root_id)
            .bind(hook.create_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A response URL made at or after `not_before`, counting one more use of it if
    /// fewer than `max_uses` were made: `None` when it is unknown or expired,
    /// `Some(None)` when it is used up. On the writer: the run may have been on
    /// another node a moment ago.
    pub async fn use_command_webhook(
        &self,
        id: &str,
        not_before: i64,
        max_uses: i32,
    ) -> StoreResult<Option<Option<CommandWebhook>>> {
        let found: Option<CommandWebhook> = on_writer!(self, pool => {
            sqlx::query_as(
                "SELECT id, command_id, user_id, channel_id, root_id, create_at FROM command_webhooks \
                 WHERE id = $1 AND create_at >= $2",
            )
            .bind(id)
            .bind(not_before)
            .fetch_optional(pool)
            .await?
        });
        let Some(hook) = found else {
            return Ok(None);
        };
        let used = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE command_webhooks SET use_count = use_count + 1 WHERE id = $1 AND use_count < $2",
            )
            .bind(id)
            .bind(max_uses)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(Some((used == 1).then_some(hook)))
    }
}
