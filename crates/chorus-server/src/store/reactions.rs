//! Emoji reactions: added and removed together with their post's `has_reactions` and
//! `update_at` (so that a client catching up with `since` sees the post change), and
//! read per post or for a page of posts at once.

use super::{on_reader, on_writer, Backend, IdList, Store, StoreResult};
use chorus_model::Reaction;

#[derive(sqlx::FromRow)]
struct ReactionRow {
    post_id: String,
    user_id: String,
    emoji_name: String,
    channel_id: String,
    create_at: i64,
}

impl From<ReactionRow> for Reaction {
    fn from(row: ReactionRow) -> Reaction {
        Reaction {
            user_id: row.user_id,
            post_id: row.post_id,
            emoji_name: row.emoji_name,
            create_at: row.create_at,
            update_at: row.create_at,
            delete_at: 0,
            remote_id: String::new(),
            channel_id: row.channel_id,
        }
    }
}

const SELECT_REACTIONS: &str =
    "SELECT post_id, user_id, emoji_name, channel_id, create_at FROM reactions ";

/// What adding a reaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReactionAdded {
    /// Stored now.
    Added(Reaction),
    /// The user had already reacted so: the reaction as it was stored then.
    Existing(Reaction),
    /// The post is gone (deleted meanwhile).
    PostGone,
    /// The post already carries `limit` different emoji and this would be another.
    TooManyEmoji,
}

impl Store {
    /// Adds a reaction to a live post, unless the post would then carry more than
    /// `unique_emoji_limit` different emoji, in one transaction with the post's
    /// `has_reactions` and `update_at`. On PostgreSQL the post row is locked first, so
    /// that two concurrent reactions cannot both pass the limit.
    pub async fn add_reaction(
        &self,
        reaction: &Reaction,
        unique_emoji_limit: i64,
    ) -> StoreResult<ReactionAdded> {
        on_writer!(self, pool, backend => {
            let (lock_post, touch_post) = match backend {
                Backend::Postgres => (
                    "SELECT id FROM posts WHERE id = $1 AND delete_at = 0 FOR UPDATE",
                    "UPDATE posts SET has_reactions = TRUE, update_at = GREATEST(update_at + 1, $1) WHERE id = $2",
                ),
                Backend::Sqlite => (
                    "SELECT id FROM posts WHERE id = $1 AND delete_at = 0",
                    "UPDATE posts SET has_reactions = TRUE, update_at = MAX(update_at + 1, $1) WHERE id = $2",
                ),
            };
            let mut tx = pool.begin().await?;
            let live: Option<String> = sqlx::query_scalar(lock_post)
                .bind(&reaction.post_id)
                .fetch_optional(&mut *tx)
                .await?;
            if live.is_none() {
                return Ok(ReactionAdded::PostGone);
            }
            let existing: Option<ReactionRow> = sqlx::query_as(&format!(
                "{SELECT_REACTIONS} WHERE post_id = $1 AND user_id = $2 AND emoji_name = $3"
            ))
            .bind(&reaction.post_id)
            .bind(&reaction.user_id)
            .bind(&reaction.emoji_name)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(existing) = existing {
                return Ok(ReactionAdded::Existing(existing.into()));
            }
            // The post's different emoji, and its reactions with this one: a new emoji
            // must fit under the limit, a known one always does.
            let (distinct, known): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(DISTINCT emoji_name), COUNT(CASE WHEN emoji_name = $2 THEN 1 END) \
                 FROM reactions WHERE post_id = $1",
            )
            .bind(&reaction.post_id)
            .bind(&reaction.emoji_name)
            .fetch_one(&mut *tx)
            .await?;
            if known == 0 && distinct >= unique_emoji_limit {
                return Ok(ReactionAdded::TooManyEmoji);
            }
            sqlx::query(
                "INSERT INTO reactions (post_id, user_id, emoji_name, channel_id, create_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&reaction.post_id)
            .bind(&reaction.user_id)
            .bind(&reaction.emoji_name)
            .bind(&reaction.channel_id)
            .bind(reaction.create_at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(touch_post)
                .bind(reaction.create_at)
                .bind(&reaction.post_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(ReactionAdded::Added(reaction.clone()))
    }

    /// Removes a reaction and updates its post; false when there was none.
    pub async fn remove_reaction(
        &self,
        post_id: &str,
        user_id: &str,
        emoji_name: &str,
        now: i64,
    ) -> StoreResult<bool> {
        on_writer!(self, pool, backend => {
            let touch_post = match backend {
                Backend::Postgres => {
                    "UPDATE posts SET update_at = GREATEST(update_at + 1, $1), \
                     has_reactions = EXISTS (SELECT 1 FROM reactions WHERE post_id = $2) WHERE id = $2"
                }
                Backend::Sqlite => {
                    "UPDATE posts SET update_at = MAX(update_at + 1, $1), \
                     has_reactions = EXISTS (SELECT 1 FROM reactions WHERE post_id = $2) WHERE id = $2"
                }
            };
            let mut tx = pool.begin().await?;
            let removed = sqlx::query(
                "DELETE FROM reactions WHERE post_id = $1 AND user_id = $2 AND emoji_name = $3",
            )
            .bind(post_id)
            .bind(user_id)
            .bind(emoji_name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if removed == 0 {
                return Ok(false);
            }
            sqlx::query(touch_post)
                .bind(now)
                .bind(post_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(true)
    }

    /// The reactions to these posts, oldest first.
    pub async fn reactions_of_posts(&self, post_ids: &[String]) -> StoreResult<Vec<Reaction>> {
        if post_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ReactionRow> = on_reader!(self, pool, backend => {
            let filter = match backend {
                Backend::Postgres => "WHERE post_id = ANY($1)",
                Backend::Sqlite => "WHERE post_id IN (SELECT value FROM json_each($1))",
            };
            sqlx::query_as(&format!("{SELECT_REACTIONS} {filter} ORDER BY create_at, user_id, emoji_name"))
                .bind(IdList(post_ids))
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(Reaction::from).collect())
    }
}
