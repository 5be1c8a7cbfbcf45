//! Posts: create (bumping the channel's counters in the same transaction), edit,
//! soft-delete (a root takes its replies with it), and the paged and threaded reads.

use super::{on_reader, on_writer, Backend, IdList, JsonObject, PostedMember, Store, StoreResult};
use chorus_model::{now_millis, ChannelStats, Post, PostList, PLUGIN_FILE_OWNER};
use sqlx::types::Json;

/// The columns of a [`PostRow`], from posts `p` with their thread's root `rt`:
/// `reply_count` and `last_reply_at` are the thread's, kept on its root, and reported
/// on the root and on every reply as Mattermost does.
macro_rules! select_posts {
    ($($tail:literal),*) => {
        concat!(
            "SELECT p.id, p.create_at, p.update_at, p.edit_at, p.delete_at, p.is_pinned, \
               p.user_id, p.channel_id, p.root_id, p.original_id, p.message, p.type, p.props, \
               p.hashtags, p.pending_post_id, p.has_reactions, p.file_ids, \
               COALESCE(rt.reply_count, p.reply_count) AS reply_count, \
               COALESCE(rt.last_reply_at, p.last_reply_at) AS last_reply_at \
             FROM posts p LEFT JOIN posts rt ON rt.id = p.root_id AND p.root_id <> '' ",
            $($tail),*
        )
    };
}

pub(super) use select_posts;

#[derive(sqlx::FromRow)]
pub(super) struct PostRow {
    id: String,
    create_at: i64,
    update_at: i64,
    edit_at: i64,
    delete_at: i64,
    is_pinned: bool,
    user_id: String,
    channel_id: String,
    root_id: String,
    original_id: String,
    message: String,
    #[sqlx(rename = "type")]
    post_type: String,
    props: Json<JsonObject>,
    hashtags: String,
    pending_post_id: String,
    has_reactions: bool,
    file_ids: Json<Vec<String>>,
    reply_count: i64,
    last_reply_at: i64,
}

impl From<PostRow> for Post {
    fn from(row: PostRow) -> Post {
        Post {
            id: row.id,
            create_at: row.create_at,
            update_at: row.update_at,
            edit_at: row.edit_at,
            delete_at: row.delete_at,
            is_pinned: row.is_pinned,
            user_id: row.user_id,
            channel_id: row.channel_id,
            root_id: row.root_id,
            original_id: row.original_id,
            message: row.message,
            post_type: row.post_type,
            props: row.props.0,
            hashtags: row.hashtags,
            pending_post_id: row.pending_post_id,
            reply_count: row.reply_count,
            last_reply_at: row.last_reply_at,
            has_reactions: row.has_reactions,
            file_ids: row.file_ids.0,
            metadata: Default::default(),
        }
    }
}

fn posts(rows: Vec<PostRow>) -> Vec<Post> {
    rows.into_iter().map(Post::from).collect()
}

/// A post list with `order` newest first, as every read of posts answers it.
pub(super) fn newest_first(mut posts: Vec<Post>, has_next: bool) -> PostList {
    posts.sort_by(|a, b| (b.create_at, &b.id).cmp(&(a.create_at, &a.id)));
    let mut list = PostList {
        has_next,
        ..PostList::default()
    };
    for post in posts {
        list.order.push(post.id.clone());
        list.posts.insert(post.id.clone(), post);
    }
    list
}

/// Most changes one `since` request returns (Mattermost's limit too).
pub const SINCE_BATCH: usize = 1000;

/// Which slice of a channel's history `GET /channels/{id}/posts` asks for.
#[derive(Debug, Clone)]
pub enum PostWindow {
    /// Newest first, `page` pages of `per_page` back.
    Page,
    /// Everything created, edited or deleted after this time (ms), deletions included.
    Since(i64),
    /// Older than this post.
    Before(Post),
    /// Newer than this post.
    After(Post),
}

/// What storing a post found out, for telling the channel.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The channel's members when the post was stored (read in the insert's own
    /// statement on PostgreSQL, just after its commit on SQLite).
    pub members: Vec<PostedMember>,
    /// The thread's reply count after a reply (0 for a root).
    pub reply_count: i64,
    /// The files that were attached: those of the post's `file_ids` that its author
    /// uploaded to its channel and that no other post had taken.
    pub file_ids: Vec<String>,
}

/// A row of the post insert's answer on PostgreSQL: one per channel member, or one
/// with no member when the channel has none.
#[derive(sqlx::FromRow)]
struct PostedRow {
    user_id: Option<String>,
    username: Option<String>,
    mention_keys: Option<String>,
    first_name_key: Option<String>,
    channel_mentions: Option<bool>,
    muted: Option<bool>,
    ignore_channel_mentions: Option<String>,
    reply_count: Option<i64>,
}

/// The columns of a [`PostedMember`] from members `m` and users `u`, per dialect: the
/// notify props that decide mentions, with Mattermost's defaults where unset.
macro_rules! posted_member_columns {
    (postgres) => {
        "m.user_id, u.username, \
         COALESCE(u.notify_props->>'mention_keys', '') AS mention_keys, \
         CASE WHEN u.notify_props->>'first_name' = 'true' THEN u.first_name ELSE '' END AS first_name_key, \
         COALESCE(u.notify_props->>'channel', 'true') <> 'false' AS channel_mentions, \
         COALESCE(m.notify_props->>'mark_unread', 'all') = 'mention' AS muted, \
         COALESCE(m.notify_props->>'ignore_channel_mentions', 'default') AS ignore_channel_mentions"
    };
    (sqlite) => {
        "m.user_id, u.username, \
         COALESCE(json_extract(u.notify_props, '$.mention_keys'), '') AS mention_keys, \
         CASE WHEN json_extract(u.notify_props, '$.first_name') = 'true' THEN u.first_name ELSE '' END AS first_name_key, \
         COALESCE(json_extract(u.notify_props, '$.channel'), 'true') <> 'false' AS channel_mentions, \
         COALESCE(json_extract(m.notify_props, '$.mark_unread'), 'all') = 'mention' AS muted, \
         COALESCE(json_extract(m.notify_props, '$.ignore_channel_mentions'), 'default') AS ignore_channel_mentions"
    };
}

/// The insert itself: `$13` is the root id ('' for a top-level post), and a reply is
/// written only when the root is live.
macro_rules! insert_post {
    ($live_root:literal) => {
        concat!(
            "INSERT INTO posts (id, create_at, update_at, edit_at, delete_at, is_pinned, user_id, \
               channel_id, root_id, original_id, message, type, props, hashtags, pending_post_id, \
               file_ids) \
             SELECT $1, $2, $3, 0, 0, $4, $5, $6, $7, '', $8, $9, $10, $11, $12, $14 \
             WHERE $13 = '' OR EXISTS (",
            $live_root,
            ")"
        )
    };
}

/// Counts a reply on its root (the placeholder `$root`) at `$2`.
macro_rules! bump_root {
    ($root:literal) => {
        concat!(
            "UPDATE posts SET reply_count = reply_count + 1, \
               last_reply_at = CASE WHEN last_reply_at < $2 THEN $2 ELSE last_reply_at END \
             WHERE id = ",
            $root
        )
    };
}

/// Counts a new post in its channel (and a root post among its root posts, when
/// `$root` is ''). Every post counts, even one that commits after a newer one
/// (concurrent posts): only `last_post_at` must never move backwards.
macro_rules! bump_channel {
    ($channel:literal, $root:literal) => {
        concat!(
            "UPDATE channels SET total_msg_count = total_msg_count + 1, \
               total_msg_count_root = total_msg_count_root + CASE WHEN ",
            $root,
            " = '' THEN 1 ELSE 0 END, \
               last_post_at = CASE WHEN last_post_at < $2 THEN $2 ELSE last_post_at END \
             WHERE id = ",
            $channel
        )
    };
}

/// One statement, one round trip: PostgreSQL runs data-modifying CTEs atomically, and
/// the final read of the members sees the statement's snapshot.
const INSERT_POST_POSTGRES: &str = concat!(
    "WITH live_root AS (SELECT id FROM posts WHERE id = $13 AND delete_at = 0 FOR UPDATE), \
     inserted AS (",
    insert_post!("SELECT 1 FROM live_root"),
    " RETURNING channel_id), root_bumped AS (",
    bump_root!("$13"),
    " AND EXISTS (SELECT 1 FROM inserted) RETURNING reply_count), channel_bumped AS (",
    bump_channel!("(SELECT channel_id FROM inserted)", "$13"),
    " RETURNING id) SELECT ",
    posted_member_columns!(postgres),
    ", (SELECT reply_count FROM root_bumped) AS reply_count \
     FROM channel_bumped c LEFT JOIN channel_members m ON m.channel_id = c.id \
       LEFT JOIN users u ON u.id = m.user_id"
);

const INSERT_POST_SQLITE: &str =
    insert_post!("SELECT 1 FROM posts WHERE id = $13 AND delete_at = 0");

/// Attaches the files of a new post (`$1`) that its author (`$3`), or a plugin
/// (`$5`, [`PLUGIN_FILE_OWNER`]), uploaded to its channel (`$4`) and no post has taken yet; answers the
/// ids attached.
macro_rules! attach_files {
    ($ids:literal) => {
        concat!(
            "UPDATE file_infos SET post_id = $1 WHERE id ",
            $ids,
            " AND post_id = '' AND (creator_id = $3 OR creator_id = $5) \
             AND channel_id = $4 AND delete_at = 0 RETURNING id"
        )
    };
}
const ATTACH_FILES_POSTGRES: &str = attach_files!("= ANY($2)");
const ATTACH_FILES_SQLITE: &str = attach_files!("IN (SELECT value FROM json_each($2))");

/// A live post's message (with its hashtags), props and pin. It is marked edited (`edit_at`) when its
/// message changes or `$6` (its files change), as Mattermost marks it: pinning a post
/// or a plugin's change of its props is no edit.
const UPDATE_POST_POSTGRES: &str = concat!(
    "UPDATE posts SET message = $1, props = $2, is_pinned = $3, hashtags = $7, ",
    "edit_at = CASE WHEN message <> $1 OR $6 THEN GREATEST(update_at + 1, $4) ELSE edit_at END, ",
    "update_at = GREATEST(update_at + 1, $4) ",
    "WHERE id = $5 AND delete_at = 0 RETURNING update_at, edit_at"
);
const UPDATE_POST_SQLITE: &str = concat!(
    "UPDATE posts SET message = $1, props = $2, is_pinned = $3, hashtags = $7, ",
    "edit_at = CASE WHEN message <> $1 OR $6 THEN MAX(update_at + 1, $4) ELSE edit_at END, ",
    "update_at = MAX(update_at + 1, $4) ",
    "WHERE id = $5 AND delete_at = 0 RETURNING update_at, edit_at"
);

/// `wanted` in its order, keeping only the ids in `attached`.
fn in_order(wanted: &[String], attached: &[String]) -> Vec<String> {
    wanted
        .iter()
        .filter(|id| attached.contains(id))
        .cloned()
        .collect()
}

/// One member of a channel as mentions see them, and how many members it has.
macro_rules! posted_member {
    ($dialect:tt) => {
        concat!(
            "SELECT ",
            posted_member_columns!($dialect),
            ", (SELECT COUNT(*) FROM channel_members c WHERE c.channel_id = $1) AS member_count",
            " FROM channel_members m JOIN users u ON u.id = m.user_id ",
            "WHERE m.channel_id = $1 AND m.user_id = $2"
        )
    };
}

#[derive(sqlx::FromRow)]
struct PostedMemberCountRow {
    #[sqlx(flatten)]
    member: PostedMember,
    member_count: i64,
}

const POSTED_MEMBERS_SQLITE: &str = concat!(
    "SELECT ",
    posted_member_columns!(sqlite),
    " FROM channel_members m JOIN users u ON u.id = m.user_id WHERE m.channel_id = $1"
);

impl Store {
    /// Stores a post, updates the channel's `last_post_at` and message count and, for a
    /// reply, its root's `reply_count` and `last_reply_at`, atomically, and answers who
    /// is in the channel. A reply is stored only if its root is live at that moment,
    /// decided in the same statement: answers `None` (nothing written) when the root
    /// was deleted meanwhile.
    ///
    /// On PostgreSQL the root row is locked (`FOR UPDATE`) by the insert and by
    /// [`Store::delete_post`] before it deletes the thread, so the two serialise: a
    /// reply that got the lock first is deleted with its thread, and one that waited
    /// sees the root deleted and writes nothing. On SQLite the single writer serialises
    /// them.
    pub async fn insert_post(&self, post: &Post) -> StoreResult<Option<Posted>> {
        let props = Json(&post.props);
        macro_rules! bind_post {
            ($query:expr, $file_ids:expr) => {
                $query
                    .bind(&post.id)
                    .bind(post.create_at)
                    .bind(post.update_at)
                    .bind(post.is_pinned)
                    .bind(&post.user_id)
                    .bind(&post.channel_id)
                    .bind(&post.root_id)
                    .bind(&post.message)
                    .bind(&post.post_type)
                    .bind(props)
                    .bind(&post.hashtags)
                    .bind(&post.pending_post_id)
                    .bind(&post.root_id)
                    .bind(Json($file_ids))
            };
        }
        macro_rules! attach {
            ($sql:expr, $tx:expr) => {{
                let attached: Vec<String> = sqlx::query_scalar($sql)
                    .bind(&post.id)
                    .bind(IdList(&post.file_ids))
                    .bind(&post.user_id)
                    .bind(&post.channel_id)
                    .bind(PLUGIN_FILE_OWNER)
                    .fetch_all(&mut *$tx)
                    .await?;
                in_order(&post.file_ids, &attached)
            }};
        }
        let posted = match &self.pools {
            super::Pools::Postgres(pool) => {
                // Posts without files stay one statement; with files, the attachment
                // and the post commit together or not at all.
                let (rows, file_ids): (Vec<PostedRow>, _) = if post.file_ids.is_empty() {
                    let rows = bind_post!(sqlx::query_as(INSERT_POST_POSTGRES), &[] as &[String])
                        .fetch_all(pool)
                        .await?;
                    (rows, Vec::new())
                } else {
                    let mut tx = pool.begin().await?;
                    let file_ids = attach!(ATTACH_FILES_POSTGRES, tx);
                    let rows = bind_post!(sqlx::query_as(INSERT_POST_POSTGRES), &file_ids)
                        .fetch_all(&mut *tx)
                        .await?;
                    if !rows.is_empty() {
                        tx.commit().await?;
                    }
                    (rows, file_ids)
                };
                let Some(first) = rows.first() else {
                    return Ok(None);
                };
                let reply_count = first.reply_count.unwrap_or(0);
                Posted {
                    reply_count,
                    members: rows
                        .into_iter()
                        .filter_map(|row| {
                            Some(PostedMember {
                                user_id: row.user_id?,
                                username: row.username?,
                                mention_keys: row.mention_keys.unwrap_or_default(),
                                first_name_key: row.first_name_key.unwrap_or_default(),
                                channel_mentions: row.channel_mentions.unwrap_or(true),
                                muted: row.muted.unwrap_or(false),
                                ignore_channel_mentions: row
                                    .ignore_channel_mentions
                                    .unwrap_or_default(),
                            })
                        })
                        .collect(),
                    file_ids,
                }
            }
            super::Pools::Sqlite { writer, reader } => {
                let mut tx = writer.begin().await?;
                let file_ids = if post.file_ids.is_empty() {
                    Vec::new()
                } else {
                    attach!(ATTACH_FILES_SQLITE, tx)
                };
                let inserted = bind_post!(sqlx::query(INSERT_POST_SQLITE), &file_ids)
                    .execute(&mut *tx)
                    .await?;
                if inserted.rows_affected() == 0 {
                    return Ok(None);
                }
                sqlx::query(bump_channel!("$1", "$3"))
                    .bind(&post.channel_id)
                    .bind(post.create_at)
                    .bind(&post.root_id)
                    .execute(&mut *tx)
                    .await?;
                let reply_count = if post.root_id.is_empty() {
                    0
                } else {
                    sqlx::query_scalar(concat!(bump_root!("$1"), " RETURNING reply_count"))
                        .bind(&post.root_id)
                        .bind(post.create_at)
                        .fetch_one(&mut *tx)
                        .await?
                };
                tx.commit().await?;
                // Read on a reader connection after the commit, not inside the
                // transaction: SQLite's one writer is the bottleneck under load.
                let members = sqlx::query_as(POSTED_MEMBERS_SQLITE)
                    .bind(&post.channel_id)
                    .fetch_all(reader)
                    .await?;
                Posted {
                    members,
                    reply_count,
                    file_ids,
                }
            }
        };
        Ok(Some(posted))
    }

    /// A post, deleted or not (the caller decides what a deleted post means).
    pub async fn get_post(&self, id: &str) -> StoreResult<Option<Post>> {
        let row: Option<PostRow> = on_reader!(self, pool => {
            sqlx::query_as(select_posts!("WHERE p.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Post::from))
    }

    /// Replaces a live post's message, props and pin, marking it edited when its
    /// message changed. The new
    /// `update_at` is taken inside the update, past the stored one: edits of one post
    /// are serialised by its row lock, so the one committed last always has the
    /// highest `update_at`, whichever node made it and whatever the nodes' clocks say,
    /// and clients that keep the version with the highest `update_at` agree with the
    /// database. Answers `post` as this update wrote it (not as a later read might
    /// find it after another edit).
    pub async fn update_post(&self, post: &Post) -> StoreResult<Option<Post>> {
        self.update_post_and_files(post, None).await
    }

    /// [`Store::update_post`], and when `files` is given the post's files become those
    /// of them it may have, all in one transaction: files no longer named are deleted
    /// (as Mattermost deletes the attachments an edit drops), and new ones are attached
    /// under the same rules as at creation (the author's or a plugin's uploads to the
    /// channel that no post has taken). The post's `file_ids` answer what was kept.
    pub async fn update_post_and_files(
        &self,
        post: &Post,
        files: Option<&[String]>,
    ) -> StoreResult<Option<Post>> {
        let Some(wanted) = files else {
            return self.update_post_only(post).await;
        };
        let now = now_millis();
        let result: Option<((i64, i64), Vec<String>)> = on_writer!(self, pool, backend => {
            let (update_sql, drop_sql, attach_sql) = match backend {
                Backend::Postgres => (
                    UPDATE_POST_POSTGRES,
                    "UPDATE file_infos SET delete_at = $3 WHERE post_id = $1 AND delete_at = 0 \
                     AND NOT (id = ANY($2))",
                    ATTACH_FILES_POSTGRES,
                ),
                Backend::Sqlite => (
                    UPDATE_POST_SQLITE,
                    "UPDATE file_infos SET delete_at = $3 WHERE post_id = $1 AND delete_at = 0 \
                     AND id NOT IN (SELECT value FROM json_each($2))",
                    ATTACH_FILES_SQLITE,
                ),
            };
            let mut tx = pool.begin().await?;
            let written: Option<(i64, i64)> = sqlx::query_as(update_sql)
                .bind(&post.message)
                .bind(Json(&post.props))
                .bind(post.is_pinned)
                .bind(now)
                .bind(&post.id)
                .bind(true)
                .bind(&post.hashtags)
                .fetch_optional(&mut *tx)
                .await?;
            match written {
                None => None,
                Some(at) => {
                    sqlx::query(drop_sql)
                        .bind(&post.id)
                        .bind(IdList(wanted))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(attach_sql)
                        .bind(&post.id)
                        .bind(IdList(wanted))
                        .bind(&post.user_id)
                        .bind(&post.channel_id)
                        .bind(PLUGIN_FILE_OWNER)
                        .execute(&mut *tx)
                        .await?;
                    let attached: Vec<String> = sqlx::query_scalar(
                        "SELECT id FROM file_infos WHERE post_id = $1 AND delete_at = 0",
                    )
                    .bind(&post.id)
                    .fetch_all(&mut *tx)
                    .await?;
                    let kept = in_order(wanted, &attached);
                    sqlx::query("UPDATE posts SET file_ids = $1 WHERE id = $2")
                        .bind(Json(&kept))
                        .bind(&post.id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Some((at, kept))
                }
            }
        });
        Ok(result.map(|((update_at, edit_at), kept)| Post {
            update_at,
            edit_at,
            file_ids: kept,
            ..post.clone()
        }))
    }

    async fn update_post_only(&self, post: &Post) -> StoreResult<Option<Post>> {
        let written: Option<(i64, i64)> = on_writer!(self, pool, backend => {
            let sql = match backend {
                Backend::Postgres => UPDATE_POST_POSTGRES,
                Backend::Sqlite => UPDATE_POST_SQLITE,
            };
            sqlx::query_as(sql)
                .bind(&post.message)
                .bind(Json(&post.props))
                .bind(post.is_pinned)
                .bind(now_millis())
                .bind(&post.id)
                .bind(false)
                .bind(&post.hashtags)
                .fetch_optional(pool)
                .await
        })?;
        Ok(written.map(|(update_at, edit_at)| Post {
            update_at,
            edit_at,
            ..post.clone()
        }))
    }

    /// Soft-deletes a post and, when it is a thread's root, its replies. On PostgreSQL
    /// the root is locked first and the thread updated in a second statement, whose
    /// snapshot then includes every reply committed before the lock was granted (see
    /// [`Store::insert_post`]).
    pub async fn delete_post(&self, id: &str) -> StoreResult<bool> {
        let now = now_millis();
        on_writer!(self, pool, backend => {
            let (lock_root, delete_thread) = match backend {
                Backend::Postgres => (
                    "SELECT root_id FROM posts WHERE id = $1 AND delete_at = 0 FOR UPDATE",
                    "UPDATE posts SET delete_at = $1, update_at = GREATEST(update_at + 1, $1) \
                     WHERE (id = $2 OR root_id = $2) AND delete_at = 0",
                ),
                Backend::Sqlite => (
                    "SELECT root_id FROM posts WHERE id = $1 AND delete_at = 0",
                    "UPDATE posts SET delete_at = $1, update_at = MAX(update_at + 1, $1) \
                     WHERE (id = $2 OR root_id = $2) AND delete_at = 0",
                ),
            };
            let mut tx = pool.begin().await?;
            let root_id: Option<String> = sqlx::query_scalar(lock_root)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(root_id) = root_id else {
                return Ok(false);
            };
            sqlx::query(delete_thread)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE file_infos SET delete_at = $1, update_at = $1 WHERE delete_at = 0 \
                 AND post_id IN (SELECT id FROM posts WHERE id = $2 OR root_id = $2)",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if !root_id.is_empty() {
                sqlx::query(
                    "UPDATE posts SET reply_count = reply_count - 1 WHERE id = $1 AND reply_count > 0",
                )
                .bind(&root_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(true)
    }

    /// One window of a channel's posts, newest first, with the ids of the posts just
    /// outside it so that clients can page in both directions.
    pub async fn channel_posts(
        &self,
        channel_id: &str,
        window: &PostWindow,
        page: i64,
        per_page: i64,
    ) -> StoreResult<PostList> {
        let offset = page * per_page;
        let rows: Vec<PostRow> = match window {
            PostWindow::Page => on_reader!(self, pool => {
                sqlx::query_as(select_posts!(
                    "WHERE p.channel_id = $1 AND p.delete_at = 0 ",
                    "ORDER BY p.create_at DESC, p.id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(channel_id)
                .bind(per_page)
                .bind(offset)
                .fetch_all(pool)
                .await
            })?,
            PostWindow::Since(since) => return self.changes_since(channel_id, *since).await,
            PostWindow::Before(pivot) => on_reader!(self, pool => {
                sqlx::query_as(select_posts!(
                    "WHERE p.channel_id = $1 AND p.delete_at = 0 ",
                    "AND (p.create_at < $2 OR (p.create_at = $2 AND p.id < $3)) ",
                    "ORDER BY p.create_at DESC, p.id DESC LIMIT $4 OFFSET $5"
                ))
                .bind(channel_id)
                .bind(pivot.create_at)
                .bind(&pivot.id)
                .bind(per_page)
                .bind(offset)
                .fetch_all(pool)
                .await
            })?,
            PostWindow::After(pivot) => {
                let mut rows: Vec<PostRow> = on_reader!(self, pool => {
                    sqlx::query_as(select_posts!(
                        "WHERE p.channel_id = $1 AND p.delete_at = 0 ",
                        "AND (p.create_at > $2 OR (p.create_at = $2 AND p.id > $3)) ",
                        "ORDER BY p.create_at ASC, p.id ASC LIMIT $4 OFFSET $5"
                    ))
                    .bind(channel_id)
                    .bind(pivot.create_at)
                    .bind(&pivot.id)
                    .bind(per_page)
                    .bind(offset)
                    .fetch_all(pool)
                    .await
                })?;
                rows.reverse();
                rows
            }
        };
        let posts = posts(rows);
        let (next_post_id, prev_post_id) = match (posts.first(), posts.last()) {
            (Some(newest), Some(oldest)) => (
                self.neighbour_post(channel_id, newest, true).await?,
                self.neighbour_post(channel_id, oldest, false).await?,
            ),
            _ => (String::new(), String::new()),
        };
        Ok(PostList {
            has_next: !next_post_id.is_empty(),
            next_post_id,
            prev_post_id,
            ..newest_first(posts, false)
        })
    }

    /// The oldest [`SINCE_BATCH`] changes (posts created, edited or deleted) after
    /// `since`, with `has_next` when more follow: the caller asks again with `since` set
    /// to the largest `update_at` it got. A batch never ends inside one millisecond's
    /// changes (that group is left whole for the next batch, or, when it is the whole
    /// batch, returned whole), so that nothing falls between two batches.
    async fn changes_since(&self, channel_id: &str, since: i64) -> StoreResult<PostList> {
        let rows: Vec<PostRow> = on_reader!(self, pool => {
            sqlx::query_as(select_posts!(
                "WHERE p.channel_id = $1 AND p.update_at > $2 ",
                "ORDER BY p.update_at ASC, p.id ASC LIMIT $3"
            ))
            .bind(channel_id)
            .bind(since)
            .bind(SINCE_BATCH as i64 + 1)
            .fetch_all(pool)
            .await
        })?;
        let mut posts = posts(rows);
        let has_next = posts.len() > SINCE_BATCH;
        if has_next {
            let boundary = posts[SINCE_BATCH].update_at;
            posts.truncate(SINCE_BATCH);
            match posts.iter().position(|p| p.update_at == boundary) {
                Some(0) => {
                    let rows: Vec<PostRow> = on_reader!(self, pool => {
                        sqlx::query_as(select_posts!("WHERE p.channel_id = $1 AND p.update_at = $2"))
                            .bind(channel_id)
                            .bind(boundary)
                            .fetch_all(pool)
                            .await
                    })?;
                    posts = self::posts(rows);
                }
                Some(first) => posts.truncate(first),
                None => {}
            }
        }
        Ok(newest_first(posts, has_next))
    }

    /// The id of the live post just newer (or older) than `pivot` in its channel, or "".
    async fn neighbour_post(
        &self,
        channel_id: &str,
        pivot: &Post,
        newer: bool,
    ) -> StoreResult<String> {
        let sql = if newer {
            "SELECT id FROM posts WHERE channel_id = $1 AND delete_at = 0 \
               AND (create_at > $2 OR (create_at = $2 AND id > $3)) \
             ORDER BY create_at ASC, id ASC LIMIT 1"
        } else {
            "SELECT id FROM posts WHERE channel_id = $1 AND delete_at = 0 \
               AND (create_at < $2 OR (create_at = $2 AND id < $3)) \
             ORDER BY create_at DESC, id DESC LIMIT 1"
        };
        let id: Option<String> = on_reader!(self, pool => {
            sqlx::query_scalar(sql)
                .bind(channel_id)
                .bind(pivot.create_at)
                .bind(&pivot.id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(id.unwrap_or_default())
    }

    /// One page of a thread: its root (always) and up to `per_page` live replies after
    /// `cursor` (a reply's `(create_at, id)`), going forward in time (`newer`) or
    /// back; `has_next` says whether more replies lie beyond the page in that
    /// direction. `order` is newest first.
    pub async fn thread_page(
        &self,
        root_id: &str,
        per_page: i64,
        cursor: Option<(i64, String)>,
        newer: bool,
    ) -> StoreResult<PostList> {
        let sql = if newer {
            select_posts!(
                "WHERE p.root_id = $1 AND p.delete_at = 0 ",
                "AND (NOT $2 OR p.create_at > $3 OR (p.create_at = $3 AND p.id > $4)) ",
                "ORDER BY p.create_at ASC, p.id ASC LIMIT $5"
            )
        } else {
            select_posts!(
                "WHERE p.root_id = $1 AND p.delete_at = 0 ",
                "AND (NOT $2 OR p.create_at < $3 OR (p.create_at = $3 AND p.id < $4)) ",
                "ORDER BY p.create_at DESC, p.id DESC LIMIT $5"
            )
        };
        let (cursor_at, cursor_id) = cursor.clone().unwrap_or_default();
        let rows: Vec<PostRow> = on_reader!(self, pool => {
            sqlx::query_as(sql)
                .bind(root_id)
                .bind(cursor.is_some())
                .bind(cursor_at)
                .bind(&cursor_id)
                .bind(per_page + 1)
                .fetch_all(pool)
                .await
        })?;
        let mut replies = posts(rows);
        let has_next = replies.len() as i64 > per_page;
        replies.truncate(per_page as usize);
        let mut posts: Vec<Post> = self.get_post(root_id).await?.into_iter().collect();
        posts.extend(replies);
        Ok(newest_first(posts, has_next))
    }

    /// A thread: its root and every live reply, newest first.
    pub async fn thread(&self, root_id: &str) -> StoreResult<PostList> {
        let rows: Vec<PostRow> = on_reader!(self, pool => {
            sqlx::query_as(select_posts!(
                "WHERE (p.id = $1 OR p.root_id = $1) AND p.delete_at = 0 ",
                "ORDER BY p.create_at DESC, p.id DESC"
            ))
            .bind(root_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(newest_first(posts(rows), false))
    }

    /// A channel's live pinned posts, newest first.
    pub async fn pinned_posts(&self, channel_id: &str) -> StoreResult<PostList> {
        let rows: Vec<PostRow> = on_reader!(self, pool => {
            sqlx::query_as(select_posts!(
                "WHERE p.channel_id = $1 AND p.is_pinned = TRUE AND p.delete_at = 0 ",
                "ORDER BY p.create_at DESC, p.id DESC"
            ))
            .bind(channel_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(newest_first(posts(rows), false))
    }

    /// A page of the live posts a user saved (`flagged_post` preferences), newest
    /// first, from the live channels they are in: all of them, or one team's
    /// (`team_id`, which takes direct and group channels too, as they belong to no
    /// team), or one channel's (`channel_id`). Empty ids do not narrow.
    pub async fn flagged_posts(
        &self,
        user_id: &str,
        team_id: &str,
        channel_id: &str,
        page: i64,
        per_page: i64,
    ) -> StoreResult<PostList> {
        let rows: Vec<PostRow> = on_reader!(self, pool => {
            sqlx::query_as(select_posts!(
                "JOIN preferences f ON f.user_id = $1 AND f.category = 'flagged_post' AND f.name = p.id ",
                "JOIN channel_members cm ON cm.channel_id = p.channel_id AND cm.user_id = $1 ",
                "JOIN channels c ON c.id = p.channel_id AND c.delete_at = 0 ",
                "WHERE p.delete_at = 0 AND ($2 = '' OR c.team_id = $2 OR c.team_id = '') ",
                "AND ($3 = '' OR p.channel_id = $3) ",
                "ORDER BY p.create_at DESC, p.id DESC LIMIT $4 OFFSET $5"
            ))
            .bind(user_id)
            .bind(team_id)
            .bind(channel_id)
            .bind(per_page)
            .bind(page * per_page)
            .fetch_all(pool)
            .await
        })?;
        Ok(newest_first(posts(rows), false))
    }

    /// A channel's counts: its active members, its live pinned posts and, unless
    /// `with_files` is false (then -1, as Mattermost answers), the files of its live posts.
    pub async fn channel_stats(
        &self,
        channel_id: &str,
        with_files: bool,
    ) -> StoreResult<ChannelStats> {
        let (member_count, pinnedpost_count, files_count): (i64, i64, i64) = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT \
                   (SELECT COUNT(*) FROM channel_members m JOIN users u ON u.id = m.user_id \
                     WHERE m.channel_id = $1 AND u.delete_at = 0), \
                   (SELECT COUNT(*) FROM posts WHERE channel_id = $1 AND is_pinned = TRUE AND delete_at = 0), \
                   CASE WHEN $2 THEN (SELECT COUNT(*) FROM file_infos \
                     WHERE channel_id = $1 AND post_id <> '' AND delete_at = 0) ELSE -1 END",
            )
            .bind(channel_id)
            .bind(with_files)
            .fetch_one(pool)
            .await
        })?;
        Ok(ChannelStats {
            channel_id: channel_id.to_owned(),
            member_count,
            guest_count: 0,
            pinnedpost_count,
            files_count,
        })
    }

    /// A channel member as mentions see them, with the channel's member count; `None`
    /// when they are not in it.
    pub async fn posted_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<(PostedMember, i64)>> {
        let row: Option<PostedMemberCountRow> = on_reader!(self, pool, backend => {
            let sql = match backend {
                Backend::Postgres => posted_member!(postgres),
                Backend::Sqlite => posted_member!(sqlite),
            };
            sqlx::query_as(sql)
                .bind(channel_id)
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|r| (r.member, r.member_count)))
    }

    /// Up to `limit` live posts of a channel created at or after `from` (ms), oldest
    /// first.
    pub async fn posts_from(
        &self,
        channel_id: &str,
        from: i64,
        limit: i64,
    ) -> StoreResult<Vec<Post>> {
        let rows: Vec<PostRow> = on_reader!(self, pool => {
            sqlx::query_as(select_posts!(
                "WHERE p.channel_id = $1 AND p.create_at >= $2 AND p.delete_at = 0 ",
                "ORDER BY p.create_at, p.id LIMIT $3"
            ))
            .bind(channel_id)
            .bind(from)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        Ok(posts(rows))
    }

    /// Marks a channel read up to just before `from` (ms) for a member: the messages
    /// created before it count as read, the mentions given as unread. Answers the
    /// channel's totals and the member's read counts, or `None` for no such member.
    pub async fn mark_unread_from(
        &self,
        channel_id: &str,
        user_id: &str,
        from: i64,
        mentions: (i64, i64),
    ) -> StoreResult<Option<(i64, i64, i64, i64)>> {
        let now = now_millis();
        Ok(on_writer!(self, pool => {
            sqlx::query_as(
                "UPDATE channel_members SET last_viewed_at = $3 - 1, last_update_at = $4, \
                   mention_count = $5, mention_count_root = $6, \
                   msg_count = (SELECT COUNT(*) FROM posts WHERE channel_id = $1 AND create_at < $3), \
                   msg_count_root = (SELECT COUNT(*) FROM posts \
                     WHERE channel_id = $1 AND create_at < $3 AND root_id = '') \
                 WHERE channel_id = $1 AND user_id = $2 \
                 RETURNING msg_count, msg_count_root, \
                   (SELECT total_msg_count FROM channels WHERE id = $1), \
                   (SELECT total_msg_count_root FROM channels WHERE id = $1)",
            )
            .bind(channel_id)
            .bind(user_id)
            .bind(from)
            .bind(now)
            .bind(mentions.0)
            .bind(mentions.1)
            .fetch_optional(pool)
            .await
        })?)
    }
}
