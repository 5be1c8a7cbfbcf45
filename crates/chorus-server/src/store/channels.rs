//! Channels (open, private, direct) and channel membership.

use super::{get_i64, get_str, Store, StoreError, StoreResult};
use chorus_model::{now_millis, Channel, ChannelMember, ROLE_CHANNEL_ADMIN, ROLE_CHANNEL_USER};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

const CHANNEL_COLUMNS: &str = "c.id, c.create_at, c.update_at, c.delete_at, c.team_id, c.type, \
     c.name, c.display_name, c.header, c.purpose, c.creator_id, c.last_post_at, c.total_msg_count";

fn channel_from_row(row: &AnyRow) -> StoreResult<Channel> {
    Ok(Channel {
        id: get_str(row, "id")?,
        create_at: get_i64(row, "create_at")?,
        update_at: get_i64(row, "update_at")?,
        delete_at: get_i64(row, "delete_at")?,
        team_id: get_str(row, "team_id")?,
        channel_type: get_str(row, "type")?,
        name: get_str(row, "name")?,
        display_name: get_str(row, "display_name")?,
        header: get_str(row, "header")?,
        purpose: get_str(row, "purpose")?,
        creator_id: get_str(row, "creator_id")?,
        last_post_at: get_i64(row, "last_post_at")?,
        total_msg_count: get_i64(row, "total_msg_count")?,
    })
}

fn member_from_row(row: &AnyRow) -> StoreResult<ChannelMember> {
    Ok(ChannelMember {
        channel_id: get_str(row, "channel_id")?,
        user_id: get_str(row, "user_id")?,
        roles: get_str(row, "roles")?,
        last_viewed_at: get_i64(row, "last_viewed_at")?,
        msg_count: get_i64(row, "msg_count")?,
        mention_count: get_i64(row, "mention_count")?,
        last_update_at: get_i64(row, "last_update_at")?,
        notify_props: Default::default(),
    })
}

const MEMBER_COLUMNS: &str =
    "channel_id, user_id, roles, last_viewed_at, msg_count, mention_count, last_update_at";

pub(super) async fn insert_channel(
    tx: &mut Transaction<'_, Any>,
    channel: &Channel,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO channels (id, create_at, update_at, delete_at, team_id, type, name, \
           display_name, header, purpose, creator_id, last_post_at, total_msg_count) \
         VALUES ($1, $2, $2, 0, $3, $4, $5, $6, $7, $8, $9, 0, 0)",
    )
    .bind(&channel.id)
    .bind(channel.create_at)
    .bind(&channel.team_id)
    .bind(&channel.channel_type)
    .bind(&channel.name)
    .bind(&channel.display_name)
    .bind(&channel.header)
    .bind(&channel.purpose)
    .bind(&channel.creator_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds a plain member; a no-op for an existing one. Returns whether a row was added.
pub(super) async fn insert_channel_member(
    tx: &mut Transaction<'_, Any>,
    channel_id: &str,
    user_id: &str,
    now: i64,
) -> StoreResult<bool> {
    insert_member_with_roles(tx, channel_id, user_id, ROLE_CHANNEL_USER, now).await
}

async fn insert_member_with_roles(
    tx: &mut Transaction<'_, Any>,
    channel_id: &str,
    user_id: &str,
    roles: &str,
    now: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO channel_members (channel_id, user_id, roles, last_viewed_at, msg_count, \
           mention_count, last_update_at) VALUES ($1, $2, $3, 0, 0, 0, $4) \
         ON CONFLICT (channel_id, user_id) DO NOTHING",
    )
    .bind(channel_id)
    .bind(user_id)
    .bind(roles)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A channel member's id and username, for fan-out and mention detection.
#[derive(Debug, Clone)]
pub struct MemberName {
    pub user_id: String,
    pub username: String,
}

impl Store {
    /// Creates a channel and makes each of `member_ids` a member (the first one channel
    /// admin, except in direct channels), all in one transaction.
    pub async fn create_channel(&self, channel: &Channel, member_ids: &[&str]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_channel(&mut tx, channel).await?;
        for (index, user_id) in member_ids.iter().enumerate() {
            if index == 0 && channel.channel_type != chorus_model::CHANNEL_DIRECT {
                insert_member_with_roles(
                    &mut tx,
                    &channel.id,
                    user_id,
                    &format!("{ROLE_CHANNEL_USER} {ROLE_CHANNEL_ADMIN}"),
                    channel.create_at,
                )
                .await?;
            } else {
                insert_channel_member(&mut tx, &channel.id, user_id, channel.create_at).await?;
            }
        }
        tx.commit().await.map_err(StoreError::from)
    }

    pub async fn get_channel(&self, id: &str) -> StoreResult<Option<Channel>> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels c WHERE c.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(channel_from_row).transpose()
    }

    pub async fn get_channel_by_name(
        &self,
        team_id: &str,
        name: &str,
    ) -> StoreResult<Option<Channel>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels c WHERE c.team_id = $1 AND c.name = $2"
        );
        let row = sqlx::query(&sql)
            .bind(team_id)
            .bind(name)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(channel_from_row).transpose()
    }

    /// The channels of a team that `user_id` is a member of, plus their direct channels,
    /// as Mattermost's `GET /users/{id}/teams/{team_id}/channels` returns them.
    pub async fn channels_for_user(
        &self,
        user_id: &str,
        team_id: &str,
    ) -> StoreResult<Vec<Channel>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels c JOIN channel_members m ON m.channel_id = c.id \
             WHERE m.user_id = $1 AND (c.team_id = $2 OR c.team_id = '') AND c.delete_at = 0 \
             ORDER BY c.display_name, c.id"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(team_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(channel_from_row).collect()
    }

    /// Adds a member; returns the membership and whether it is new.
    pub async fn add_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> StoreResult<(ChannelMember, bool)> {
        let mut tx = self.pool.begin().await?;
        let inserted = insert_channel_member(&mut tx, channel_id, user_id, now_millis()).await?;
        tx.commit().await?;
        let member = self
            .get_channel_member(channel_id, user_id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok((member, inserted))
    }

    pub async fn remove_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM channel_members WHERE channel_id = $1 AND user_id = $2")
                .bind(channel_id)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn get_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<ChannelMember>> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM channel_members WHERE channel_id = $1 AND user_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(channel_id)
            .bind(user_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(member_from_row).transpose()
    }

    pub async fn channel_members(&self, channel_id: &str) -> StoreResult<Vec<ChannelMember>> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM channel_members WHERE channel_id = $1 ORDER BY user_id"
        );
        let rows = sqlx::query(&sql)
            .bind(channel_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(member_from_row).collect()
    }

    /// A team's open channels, for browsing and joining, by display name.
    pub async fn open_channels(
        &self,
        team_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<Channel>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels c WHERE c.team_id = $1 AND c.type = 'O' \
             AND c.delete_at = 0 ORDER BY lower(c.display_name), c.id LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(team_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(channel_from_row).collect()
    }

    /// `user_id`'s memberships in a team's channels and in their direct channels.
    pub async fn channel_memberships(
        &self,
        user_id: &str,
        team_id: &str,
    ) -> StoreResult<Vec<ChannelMember>> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM channel_members WHERE user_id = $1 AND channel_id IN \
               (SELECT id FROM channels WHERE (team_id = $2 OR team_id = '') AND delete_at = 0) \
             ORDER BY channel_id"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(team_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Marks a channel read for a member: everything posted so far counts as seen.
    /// Returns the new `last_viewed_at`, or `None` when `user_id` is not a member.
    pub async fn view_channel(&self, channel_id: &str, user_id: &str) -> StoreResult<Option<i64>> {
        let now = now_millis();
        let done = sqlx::query(
            "UPDATE channel_members SET last_viewed_at = $3, last_update_at = $3, \
               mention_count = 0, \
               msg_count = (SELECT total_msg_count FROM channels WHERE id = $1) \
             WHERE channel_id = $1 AND user_id = $2",
        )
        .bind(channel_id)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok((done.rows_affected() > 0).then_some(now))
    }

    /// Ids and usernames of a channel's members, in one query.
    pub async fn channel_member_names(&self, channel_id: &str) -> StoreResult<Vec<MemberName>> {
        let rows = sqlx::query(
            "SELECT m.user_id, u.username FROM channel_members m JOIN users u ON u.id = m.user_id \
             WHERE m.channel_id = $1",
        )
        .bind(channel_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MemberName {
                    user_id: get_str(row, "user_id")?,
                    username: get_str(row, "username")?,
                })
            })
            .collect()
    }
}
