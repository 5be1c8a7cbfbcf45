//! Channels (open, private, direct) and channel membership.

use super::{on_reader, on_writer, Backend, IdList, JsonObject, Store, StoreError, StoreResult};
use chorus_model::{now_millis, Channel, ChannelMember, ROLE_CHANNEL_ADMIN, ROLE_CHANNEL_USER};
use sqlx::types::Json;

/// `SELECT` of a [`ChannelRow`] (and the `$extra` columns) from channels `c`, followed
/// by the literals given.
macro_rules! select_channels {
    (extra: $extra:literal, $($tail:literal),*) => {
        concat!(
            "SELECT c.id, c.create_at, c.update_at, c.delete_at, c.team_id, c.type, c.name, \
               c.display_name, c.header, c.purpose, c.creator_id, c.last_post_at, \
               c.total_msg_count, c.total_msg_count_root",
            $extra,
            " FROM channels c ",
            $($tail),*
        )
    };
    ($($tail:literal),*) => {
        select_channels!(extra: "", $($tail),*)
    };
}

#[derive(sqlx::FromRow)]
struct ChannelRow {
    id: String,
    create_at: i64,
    update_at: i64,
    delete_at: i64,
    team_id: String,
    #[sqlx(rename = "type")]
    channel_type: String,
    name: String,
    display_name: String,
    header: String,
    purpose: String,
    creator_id: String,
    last_post_at: i64,
    total_msg_count: i64,
    total_msg_count_root: i64,
}

impl From<ChannelRow> for Channel {
    fn from(row: ChannelRow) -> Channel {
        Channel {
            id: row.id,
            create_at: row.create_at,
            update_at: row.update_at,
            delete_at: row.delete_at,
            team_id: row.team_id,
            channel_type: row.channel_type,
            name: row.name,
            display_name: row.display_name,
            header: row.header,
            purpose: row.purpose,
            creator_id: row.creator_id,
            last_post_at: row.last_post_at,
            total_msg_count: row.total_msg_count,
            total_msg_count_root: row.total_msg_count_root,
        }
    }
}

/// `SELECT` of a [`MemberRow`] from `channel_members`, followed by the literals given.
macro_rules! select_members {
    ($($tail:literal),*) => {
        concat!(
            "SELECT channel_id, user_id, roles, last_viewed_at, msg_count, mention_count, \
               mention_count_root, msg_count_root, notify_props, last_update_at \
             FROM channel_members ",
            $($tail),*
        )
    };
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    channel_id: String,
    user_id: String,
    roles: String,
    last_viewed_at: i64,
    msg_count: i64,
    mention_count: i64,
    mention_count_root: i64,
    msg_count_root: i64,
    notify_props: Json<JsonObject>,
    last_update_at: i64,
}

impl From<MemberRow> for ChannelMember {
    fn from(row: MemberRow) -> ChannelMember {
        ChannelMember {
            channel_id: row.channel_id,
            user_id: row.user_id,
            roles: row.roles,
            last_viewed_at: row.last_viewed_at,
            msg_count: row.msg_count,
            mention_count: row.mention_count,
            mention_count_root: row.mention_count_root,
            msg_count_root: row.msg_count_root,
            notify_props: chorus_model::with_defaults(
                row.notify_props.0,
                chorus_model::CHANNEL_NOTIFY_DEFAULTS,
            ),
            last_update_at: row.last_update_at,
            ..ChannelMember::default()
        }
    }
}

/// Inserts a channel through `$executor` (a transaction, usually).
macro_rules! insert_channel {
    ($executor:expr, $channel:expr) => {
        sqlx::query(
            "INSERT INTO channels (id, create_at, update_at, delete_at, team_id, type, name, \
               display_name, header, purpose, creator_id, last_post_at, total_msg_count) \
             VALUES ($1, $2, $2, 0, $3, $4, $5, $6, $7, $8, $9, 0, 0)",
        )
        .bind(&$channel.id)
        .bind($channel.create_at)
        .bind(&$channel.team_id)
        .bind(&$channel.channel_type)
        .bind(&$channel.name)
        .bind(&$channel.display_name)
        .bind(&$channel.header)
        .bind(&$channel.purpose)
        .bind(&$channel.creator_id)
        .execute($executor)
        .await
    };
}

/// Adds a member with `$roles` through `$executor`; a no-op for an existing one.
/// Answers the insert's result, whose `rows_affected` says whether it was added.
macro_rules! insert_channel_member {
    ($executor:expr, $channel_id:expr, $user_id:expr, $roles:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO channel_members (channel_id, user_id, roles, last_viewed_at, msg_count, \
               mention_count, last_update_at) VALUES ($1, $2, $3, 0, 0, 0, $4) \
             ON CONFLICT (channel_id, user_id) DO NOTHING",
        )
        .bind($channel_id)
        .bind($user_id)
        .bind($roles)
        .bind($now)
        .execute($executor)
        .await
    };
}
pub(super) use {insert_channel, insert_channel_member};

/// A channel member as a new post needs them: who to tell, and what mentions them
/// (their username, their notify props' mention keys and first name, and whether
/// channel-wide mentions reach them).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct PostedMember {
    pub user_id: String,
    pub username: String,
    /// The user's `mention_keys` notify prop, comma-separated, as they wrote them.
    pub mention_keys: String,
    /// The user's first name when their `first_name` notify prop is "true", else "".
    pub first_name_key: String,
    /// The user's `channel` notify prop is not "false".
    pub channel_mentions: bool,
    /// The member muted the channel (`mark_unread` "mention").
    pub muted: bool,
    /// The member's `ignore_channel_mentions`: "on", "off" or "default".
    pub ignore_channel_mentions: String,
}

impl Store {
    /// Creates a channel and makes each of `member_ids` a member (the first one channel
    /// admin, except in direct channels), all in one transaction.
    pub async fn create_channel(&self, channel: &Channel, member_ids: &[&str]) -> StoreResult<()> {
        let admin_roles = format!("{ROLE_CHANNEL_USER} {ROLE_CHANNEL_ADMIN}");
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            insert_channel!(&mut *tx, channel)?;
            for (index, user_id) in member_ids.iter().enumerate() {
                let roles = if index == 0 && channel.channel_type != chorus_model::CHANNEL_DIRECT {
                    admin_roles.as_str()
                } else {
                    ROLE_CHANNEL_USER
                };
                insert_channel_member!(&mut *tx, &channel.id, *user_id, roles, channel.create_at)?;
            }
            tx.commit().await
        })
        .map_err(StoreError::from)
    }

    /// Saves a live channel's name, display name, header and purpose; false when it is
    /// gone or archived.
    pub async fn update_channel_details(&self, channel: &Channel) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE channels SET name = $2, display_name = $3, header = $4, purpose = $5, \
                   update_at = $6 WHERE id = $1 AND delete_at = 0",
            )
            .bind(&channel.id)
            .bind(&channel.name)
            .bind(&channel.display_name)
            .bind(&channel.header)
            .bind(&channel.purpose)
            .bind(channel.update_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    pub async fn get_channel(&self, id: &str) -> StoreResult<Option<Channel>> {
        let row: Option<ChannelRow> = on_reader!(self, pool => {
            sqlx::query_as(select_channels!("WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Channel::from))
    }

    /// A channel and whether `user_id` is one of its members, in one query.
    pub async fn get_channel_with_member(
        &self,
        id: &str,
        user_id: &str,
    ) -> StoreResult<Option<(Channel, bool)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            channel: ChannelRow,
            is_member: bool,
        }
        let row: Option<Row> = on_reader!(self, pool => {
            sqlx::query_as(select_channels!(
                extra: ", EXISTS (SELECT 1 FROM channel_members m \
                   WHERE m.channel_id = c.id AND m.user_id = $2) AS is_member",
                "WHERE c.id = $1"
            ))
                .bind(id)
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|row| (row.channel.into(), row.is_member)))
    }

    pub async fn get_channel_by_name(
        &self,
        team_id: &str,
        name: &str,
    ) -> StoreResult<Option<Channel>> {
        let row: Option<ChannelRow> = on_reader!(self, pool => {
            sqlx::query_as(select_channels!("WHERE c.team_id = $1 AND c.name = $2"))
                .bind(team_id)
                .bind(name)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Channel::from))
    }

    /// The channels of a team that `user_id` is a member of, plus their direct channels,
    /// as Mattermost's `GET /users/{id}/teams/{team_id}/channels` returns them.
    pub async fn channels_for_user(
        &self,
        user_id: &str,
        team_id: &str,
    ) -> StoreResult<Vec<Channel>> {
        let rows: Vec<ChannelRow> = on_reader!(self, pool => {
            sqlx::query_as(select_channels!(
                "JOIN channel_members m ON m.channel_id = c.id ",
                "WHERE m.user_id = $1 AND (c.team_id = $2 OR c.team_id = '') AND c.delete_at = 0 ",
                "ORDER BY c.display_name, c.id"
            ))
            .bind(user_id)
            .bind(team_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Channel::from).collect())
    }

    /// Adds a member; returns the membership and whether it is new.
    pub async fn add_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> StoreResult<(ChannelMember, bool)> {
        let now = now_millis();
        let inserted = on_writer!(self, pool => {
            insert_channel_member!(pool, channel_id, user_id, ROLE_CHANNEL_USER, now)
                .map(|done| done.rows_affected() > 0)
        })?;
        let member = self
            .get_channel_member(channel_id, user_id)
            .await?
            .ok_or_else(StoreError::vanished)?;
        Ok((member, inserted))
    }

    pub async fn remove_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> StoreResult<bool> {
        let done = on_writer!(self, pool => {
            sqlx::query("DELETE FROM channel_members WHERE channel_id = $1 AND user_id = $2")
                .bind(channel_id)
                .bind(user_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    pub async fn get_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<ChannelMember>> {
        let row: Option<MemberRow> = on_reader!(self, pool => {
            sqlx::query_as(select_members!("WHERE channel_id = $1 AND user_id = $2"))
                .bind(channel_id)
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(ChannelMember::from))
    }

    pub async fn channel_members(&self, channel_id: &str) -> StoreResult<Vec<ChannelMember>> {
        let rows: Vec<MemberRow> = on_reader!(self, pool => {
            sqlx::query_as(select_members!("WHERE channel_id = $1 ORDER BY user_id"))
                .bind(channel_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(ChannelMember::from).collect())
    }

    /// A team's open channels, for browsing and joining, by display name.
    pub async fn open_channels(
        &self,
        team_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<Channel>> {
        let rows: Vec<ChannelRow> = on_reader!(self, pool => {
            sqlx::query_as(select_channels!(
                "WHERE c.team_id = $1 AND c.type = 'O' AND c.delete_at = 0 ",
                "ORDER BY lower(c.display_name), c.id LIMIT $2 OFFSET $3"
            ))
            .bind(team_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Channel::from).collect())
    }

    /// A team's live channels whose name matches `name_like` or whose display name,
    /// with a space before it, matches `words_like` (lowercase `LIKE` patterns with `\`
    /// escaping): the open ones and, when `member_id` is given, the private ones they
    /// are in. By display name, at most `limit`.
    pub async fn find_channels(
        &self,
        team_id: &str,
        name_like: &str,
        words_like: &str,
        member_id: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<Channel>> {
        let rows: Vec<ChannelRow> = on_reader!(self, pool => {
            sqlx::query_as(select_channels!(
                "WHERE c.team_id = $1 AND c.delete_at = 0 ",
                "AND (c.type = 'O' OR (c.type = 'P' AND EXISTS (SELECT 1 FROM channel_members cm ",
                "WHERE cm.channel_id = c.id AND cm.user_id = $4))) ",
                "AND (lower(c.name) LIKE $2 ESCAPE '\\' ",
                "OR ' ' || lower(c.display_name) LIKE $3 ESCAPE '\\') ",
                "ORDER BY lower(c.display_name), c.id LIMIT $5"
            ))
            .bind(team_id)
            .bind(name_like)
            .bind(words_like)
            .bind(member_id.unwrap_or_default())
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Channel::from).collect())
    }

    /// `user_id`'s memberships in a team's channels and in their direct channels.
    pub async fn channel_memberships(
        &self,
        user_id: &str,
        team_id: &str,
    ) -> StoreResult<Vec<ChannelMember>> {
        let rows: Vec<MemberRow> = on_reader!(self, pool => {
            sqlx::query_as(select_members!(
                "WHERE user_id = $1 AND channel_id IN ",
                "(SELECT id FROM channels WHERE (team_id = $2 OR team_id = '') AND delete_at = 0) ",
                "ORDER BY channel_id"
            ))
            .bind(user_id)
            .bind(team_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(ChannelMember::from).collect())
    }

    /// Merges `props` into a member's notify props, in one statement; the member as
    /// it is now, or `None` when `user_id` is not a member.
    pub async fn merge_member_notify_props(
        &self,
        channel_id: &str,
        user_id: &str,
        props: &JsonObject,
        now: i64,
    ) -> StoreResult<Option<ChannelMember>> {
        let changed = on_writer!(self, pool, backend => {
            let sql = match backend {
                Backend::Postgres => {
                    "UPDATE channel_members SET notify_props = notify_props || $3, \
                     last_update_at = $4 WHERE channel_id = $1 AND user_id = $2"
                }
                Backend::Sqlite => {
                    "UPDATE channel_members SET notify_props = json_patch(notify_props, $3), \
                     last_update_at = $4 WHERE channel_id = $1 AND user_id = $2"
                }
            };
            sqlx::query(sql)
                .bind(channel_id)
                .bind(user_id)
                .bind(Json(props))
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        if changed == 0 {
            return Ok(None);
        }
        self.get_channel_member(channel_id, user_id).await
    }

    /// Counts a mention for each of `user_ids` in a channel (in a root post, also among
    /// root mentions), in one statement.
    pub async fn add_mentions(
        &self,
        channel_id: &str,
        user_ids: &[String],
        in_root: bool,
    ) -> StoreResult<()> {
        if user_ids.is_empty() {
            return Ok(());
        }
        on_writer!(self, pool, backend => {
            let sql = match backend {
                Backend::Postgres => concat!(
                    "UPDATE channel_members SET mention_count = mention_count + 1, ",
                    "mention_count_root = mention_count_root + CASE WHEN $3 THEN 1 ELSE 0 END ",
                    "WHERE channel_id = $1 AND user_id = ANY($2)"
                ),
                Backend::Sqlite => concat!(
                    "UPDATE channel_members SET mention_count = mention_count + 1, ",
                    "mention_count_root = mention_count_root + CASE WHEN $3 THEN 1 ELSE 0 END ",
                    "WHERE channel_id = $1 AND user_id IN (SELECT value FROM json_each($2))"
                ),
            };
            sqlx::query(sql)
                .bind(channel_id)
                .bind(IdList(user_ids))
                .bind(in_root)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// Marks a channel read for a member: everything posted so far counts as seen.
    /// Returns the new `last_viewed_at`, or `None` when `user_id` is not a member.
    pub async fn view_channel(&self, channel_id: &str, user_id: &str) -> StoreResult<Option<i64>> {
        let now = now_millis();
        let done = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE channel_members SET last_viewed_at = $3, last_update_at = $3, \
                   mention_count = 0, mention_count_root = 0, \
                   msg_count = (SELECT total_msg_count FROM channels WHERE id = $1), \
                   msg_count_root = (SELECT total_msg_count_root FROM channels WHERE id = $1) \
                 WHERE channel_id = $1 AND user_id = $2",
            )
            .bind(channel_id)
            .bind(user_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok((done > 0).then_some(now))
    }
}
