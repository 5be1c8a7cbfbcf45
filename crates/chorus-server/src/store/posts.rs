//! Posts: create (bumping the channel's counters in the same transaction), edit,
//! soft-delete (a root takes its replies with it), and the paged and threaded reads.

use super::{get_bool, get_i64, get_str, Backend, Store, StoreResult};
use chorus_model::{now_millis, Post, PostList};
use sqlx::any::AnyRow;

/// `reply_count` and `last_reply_at` are the thread's, kept on its root, and reported on
/// the root and on every reply as Mattermost does: selected from [`POSTS_WITH_ROOT`].
const POST_COLUMNS: &str = "p.id, p.create_at, p.update_at, p.edit_at, p.delete_at, p.is_pinned, \
     p.user_id, p.channel_id, p.root_id, p.original_id, p.message, p.type, p.props, p.hashtags, \
     p.pending_post_id, COALESCE(rt.reply_count, p.reply_count) AS reply_count, \
     COALESCE(rt.last_reply_at, p.last_reply_at) AS last_reply_at";

/// Every row as a post.
fn posts_from_rows(rows: &[AnyRow]) -> StoreResult<Vec<Post>> {
    rows.iter().map(post_from_row).collect()
}

/// A post list with `order` newest first, as every read of posts answers it.
fn newest_first(mut posts: Vec<Post>, has_next: bool) -> PostList {
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

/// Posts `p` with their thread's root `rt` (none for a root), for [`POST_COLUMNS`].
const POSTS_WITH_ROOT: &str = "posts p LEFT JOIN posts rt ON rt.id = p.root_id AND p.root_id <> ''";

fn post_from_row(row: &AnyRow) -> StoreResult<Post> {
    let props_text = get_str(row, "props")?;
    Ok(Post {
        id: get_str(row, "id")?,
        create_at: get_i64(row, "create_at")?,
        update_at: get_i64(row, "update_at")?,
        edit_at: get_i64(row, "edit_at")?,
        delete_at: get_i64(row, "delete_at")?,
        is_pinned: get_bool(row, "is_pinned")?,
        user_id: get_str(row, "user_id")?,
        channel_id: get_str(row, "channel_id")?,
        root_id: get_str(row, "root_id")?,
        original_id: get_str(row, "original_id")?,
        message: get_str(row, "message")?,
        post_type: get_str(row, "type")?,
        props: serde_json::from_str(&props_text).unwrap_or_default(),
        hashtags: get_str(row, "hashtags")?,
        pending_post_id: get_str(row, "pending_post_id")?,
        reply_count: get_i64(row, "reply_count")?,
        last_reply_at: get_i64(row, "last_reply_at")?,
        metadata: Default::default(),
    })
}

/// Counts a new post in its channel. Every post counts, even one that commits after a
/// newer one (concurrent posts): only `last_post_at` must never move backwards.
fn channel_bump(created_at: &str, channel_id: &str) -> String {
    format!(
        "UPDATE channels SET total_msg_count = total_msg_count + 1, \
           last_post_at = CASE WHEN last_post_at < {created_at} THEN {created_at} ELSE last_post_at END \
         WHERE id = {channel_id}"
    )
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

impl Store {
    /// Stores a post, updates the channel's `last_post_at` and message count and, for a
    /// reply, its root's `reply_count` and `last_reply_at`, atomically. A reply is
    /// stored only if its root is live at that moment, decided in the same statement:
    /// answers `false` (nothing written) when the root was deleted meanwhile.
    ///
    /// On PostgreSQL the root row is locked (`FOR UPDATE`) by the insert and by
    /// [`Store::delete_post`] before it deletes the thread, so the two serialise: a
    /// reply that got the lock first is deleted with its thread, and one that waited
    /// sees the root deleted and writes nothing. On SQLite the single writer serialises
    /// them.
    pub async fn insert_post(&self, post: &Post) -> StoreResult<bool> {
        let props = serde_json::Value::Object(post.props.clone()).to_string();
        // `$13` is the root id ('' for a top-level post); `$14` stands for the query
        // that finds it live.
        const INSERT: &str =
            "INSERT INTO posts (id, create_at, update_at, edit_at, delete_at, is_pinned, user_id, \
               channel_id, root_id, original_id, message, type, props, hashtags, pending_post_id) \
             SELECT $1, $2, $3, 0, 0, $4, $5, $6, $7, '', $8, $9, $10, $11, $12 \
             WHERE $13 = '' OR EXISTS ($14)";
        const BUMP_ROOT: &str = "UPDATE posts SET reply_count = reply_count + 1, \
             last_reply_at = CASE WHEN last_reply_at < $2 THEN $2 ELSE last_reply_at END \
             WHERE id = $13";
        let bind_post = |sql| {
            sqlx::query(sql)
                .bind(&post.id)
                .bind(post.create_at)
                .bind(post.update_at)
                .bind(post.is_pinned)
                .bind(&post.user_id)
                .bind(&post.channel_id)
                .bind(&post.root_id)
                .bind(&post.message)
                .bind(&post.post_type)
                .bind(props.clone())
                .bind(&post.hashtags)
                .bind(&post.pending_post_id)
                .bind(&post.root_id)
        };
        match self.backend {
            // One statement, one round trip: PostgreSQL runs data-modifying CTEs
            // atomically.
            Backend::Postgres => {
                let insert = INSERT.replace("$14", "SELECT 1 FROM live_root");
                let sql = format!(
                    "WITH live_root AS (SELECT id FROM posts WHERE id = $13 AND delete_at = 0 FOR UPDATE), \
                     inserted AS ({insert} RETURNING channel_id), \
                     root_bumped AS ({BUMP_ROOT} AND EXISTS (SELECT 1 FROM inserted)) {} RETURNING 1",
                    channel_bump("$2", "(SELECT channel_id FROM inserted)")
                );
                let bumped = bind_post(&sql).fetch_optional(&self.pool).await?;
                Ok(bumped.is_some())
            }
            Backend::Sqlite => {
                let insert = INSERT.replace(
                    "$14",
                    "SELECT 1 FROM posts WHERE id = $13 AND delete_at = 0",
                );
                let mut tx = self.pool.begin().await?;
                let inserted = bind_post(&insert).execute(&mut *tx).await?;
                if inserted.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(&channel_bump("$1", "$2"))
                    .bind(post.create_at)
                    .bind(&post.channel_id)
                    .execute(&mut *tx)
                    .await?;
                if !post.root_id.is_empty() {
                    sqlx::query(&BUMP_ROOT.replace("$13", "$1"))
                        .bind(&post.root_id)
                        .bind(post.create_at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }
        }
    }

    /// A post, deleted or not (the caller decides what a deleted post means).
    pub async fn get_post(&self, id: &str) -> StoreResult<Option<Post>> {
        let sql = format!("SELECT {POST_COLUMNS} FROM {POSTS_WITH_ROOT} WHERE p.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(post_from_row).transpose()
    }

    /// Replaces a live post's message and props, marking it edited. The new
    /// `update_at` is taken inside the update, past the stored one: edits of one post
    /// are serialised by its row lock, so the one committed last always has the
    /// highest `update_at`, whichever node made it and whatever the nodes' clocks say,
    /// and clients that keep the version with the highest `update_at` agree with the
    /// database. Answers `post` as this update wrote it (not as a later read might
    /// find it after another edit).
    pub async fn update_post(&self, post: &Post) -> StoreResult<Option<Post>> {
        let props = serde_json::Value::Object(post.props.clone()).to_string();
        let sql = format!(
            "UPDATE posts SET message = $1, props = $2, is_pinned = $3, \
               edit_at = {next}, update_at = {next} \
             WHERE id = $5 AND delete_at = 0 RETURNING update_at",
            next = self.next_update_at("$4")
        );
        let written: Option<i64> = sqlx::query_scalar(&sql)
            .bind(&post.message)
            .bind(props)
            .bind(post.is_pinned)
            .bind(now_millis())
            .bind(&post.id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(written.map(|at| Post {
            update_at: at,
            edit_at: at,
            ..post.clone()
        }))
    }

    /// SQL for a row's next `update_at`: `now` (a placeholder), or one past the stored
    /// value when that is not older.
    fn next_update_at(&self, now: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("GREATEST(update_at + 1, {now})"),
            Backend::Sqlite => format!("MAX(update_at + 1, {now})"),
        }
    }

    /// Soft-deletes a post and, when it is a thread's root, its replies. On PostgreSQL
    /// the root is locked first and the thread updated in a second statement, whose
    /// snapshot then includes every reply committed before the lock was granted (see
    /// [`Store::insert_post`]).
    pub async fn delete_post(&self, id: &str) -> StoreResult<bool> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let root_id: Option<String> = sqlx::query_scalar(&format!(
            "SELECT root_id FROM posts WHERE id = $1 AND delete_at = 0{lock}"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(root_id) = root_id else {
            return Ok(false);
        };
        sqlx::query(&format!(
            "UPDATE posts SET delete_at = $1, update_at = {} \
             WHERE (id = $2 OR root_id = $2) AND delete_at = 0",
            self.next_update_at("$1")
        ))
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
        let rows = match window {
            PostWindow::Page => {
                let sql = format!(
                    "SELECT {POST_COLUMNS} FROM {POSTS_WITH_ROOT} WHERE p.channel_id = $1 AND p.delete_at = 0 \
                     ORDER BY p.create_at DESC, p.id DESC LIMIT $2 OFFSET $3"
                );
                sqlx::query(&sql)
                    .bind(channel_id)
                    .bind(per_page)
                    .bind(offset)
                    .fetch_all(&self.reader)
                    .await?
            }
            PostWindow::Since(since) => return self.changes_since(channel_id, *since).await,
            PostWindow::Before(pivot) => {
                let sql = format!(
                    "SELECT {POST_COLUMNS} FROM {POSTS_WITH_ROOT} WHERE p.channel_id = $1 AND p.delete_at = 0 \
                       AND (p.create_at < $2 OR (p.create_at = $2 AND p.id < $3)) \
                     ORDER BY p.create_at DESC, p.id DESC LIMIT $4 OFFSET $5"
                );
                sqlx::query(&sql)
                    .bind(channel_id)
                    .bind(pivot.create_at)
                    .bind(&pivot.id)
                    .bind(per_page)
                    .bind(offset)
                    .fetch_all(&self.reader)
                    .await?
            }
            PostWindow::After(pivot) => {
                let sql = format!(
                    "SELECT {POST_COLUMNS} FROM {POSTS_WITH_ROOT} WHERE p.channel_id = $1 AND p.delete_at = 0 \
                       AND (p.create_at > $2 OR (p.create_at = $2 AND p.id > $3)) \
                     ORDER BY p.create_at ASC, p.id ASC LIMIT $4 OFFSET $5"
                );
                let mut rows = sqlx::query(&sql)
                    .bind(channel_id)
                    .bind(pivot.create_at)
                    .bind(&pivot.id)
                    .bind(per_page)
                    .bind(offset)
                    .fetch_all(&self.reader)
                    .await?;
                rows.reverse();
                rows
            }
        };
        let posts = posts_from_rows(&rows)?;
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
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM {POSTS_WITH_ROOT} WHERE p.channel_id = $1 AND p.update_at > $2 \
             ORDER BY p.update_at ASC, p.id ASC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(channel_id)
            .bind(since)
            .bind(SINCE_BATCH as i64 + 1)
            .fetch_all(&self.reader)
            .await?;
        let mut posts = posts_from_rows(&rows)?;
        let has_next = posts.len() > SINCE_BATCH;
        if has_next {
            let boundary = posts[SINCE_BATCH].update_at;
            posts.truncate(SINCE_BATCH);
            match posts.iter().position(|p| p.update_at == boundary) {
                Some(0) => {
                    let sql = format!(
                        "SELECT {POST_COLUMNS} FROM {POSTS_WITH_ROOT} WHERE p.channel_id = $1 AND p.update_at = $2"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(channel_id)
                        .bind(boundary)
                        .fetch_all(&self.reader)
                        .await?;
                    posts = posts_from_rows(&rows)?;
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
        let id: Option<String> = sqlx::query_scalar(sql)
            .bind(channel_id)
            .bind(pivot.create_at)
            .bind(&pivot.id)
            .fetch_optional(&self.reader)
            .await?;
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
        let (compare, order) = if newer { (">", "ASC") } else { ("<", "DESC") };
        let (cursor_at, cursor_id, use_cursor) = match &cursor {
            Some((at, id)) => (*at, id.clone(), true),
            None => (0, String::new(), false),
        };
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM {POSTS_WITH_ROOT} WHERE p.root_id = $1 AND p.delete_at = 0 \
               AND (NOT $2 OR p.create_at {compare} $3 OR (p.create_at = $3 AND p.id {compare} $4)) \
             ORDER BY p.create_at {order}, p.id {order} LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(root_id)
            .bind(use_cursor)
            .bind(cursor_at)
            .bind(cursor_id)
            .bind(per_page + 1)
            .fetch_all(&self.reader)
            .await?;
        let mut replies = posts_from_rows(&rows)?;
        let has_next = replies.len() as i64 > per_page;
        replies.truncate(per_page as usize);
        let mut posts: Vec<Post> = self.get_post(root_id).await?.into_iter().collect();
        posts.extend(replies);
        Ok(newest_first(posts, has_next))
    }

    /// A thread: its root and every live reply, newest first.
    pub async fn thread(&self, root_id: &str) -> StoreResult<PostList> {
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM {POSTS_WITH_ROOT} WHERE (p.id = $1 OR p.root_id = $1) AND p.delete_at = 0 \
             ORDER BY p.create_at DESC, p.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(root_id)
            .fetch_all(&self.reader)
            .await?;
        Ok(newest_first(posts_from_rows(&rows)?, false))
    }
}
