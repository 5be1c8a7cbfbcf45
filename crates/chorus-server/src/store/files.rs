//! Uploaded files: their infos (written all at once per upload, attached to a post by
//! the post's own insert, soft-deleted with it), the chunks of the `database` file
//! driver, the blobs still being written (so that a sweep can remove what a crash left),
//! and the `systems` values the nodes share.

use super::{on_reader, on_writer, Backend, IdList, Store, StoreResult};
use base64::Engine;
use chorus_model::FileInfo;

/// A file's info with where its blobs are kept (never shown to clients).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredFile {
    pub info: FileInfo,
    pub path: String,
    /// Empty until the thumbnail is made (and for files that get none).
    pub thumbnail_path: String,
    pub preview_path: String,
}

/// Which files [`Store::query_files`] answers: empty lists match every uploader or
/// channel.
#[derive(Debug, Clone, Default)]
pub struct FileFilter {
    pub user_ids: Vec<String>,
    pub channel_ids: Vec<String>,
    /// Created at or after (ms).
    pub since: i64,
    pub include_deleted: bool,
    /// By size instead of by creation time.
    pub sort_by_size: bool,
    pub descending: bool,
    pub per_page: i64,
    pub offset: i64,
}

#[derive(sqlx::FromRow)]
struct FileRow {
    id: String,
    creator_id: String,
    channel_id: String,
    post_id: String,
    create_at: i64,
    update_at: i64,
    delete_at: i64,
    name: String,
    extension: String,
    size: i64,
    mime_type: String,
    width: i32,
    height: i32,
    has_preview_image: bool,
    mini_preview: Option<Vec<u8>>,
    path: String,
    thumbnail_path: String,
    preview_path: String,
}

impl From<FileRow> for StoredFile {
    fn from(row: FileRow) -> StoredFile {
        StoredFile {
            info: FileInfo {
                id: row.id,
                user_id: row.creator_id,
                post_id: row.post_id,
                channel_id: row.channel_id,
                create_at: row.create_at,
                update_at: row.update_at,
                delete_at: row.delete_at,
                name: row.name,
                extension: row.extension,
                size: row.size,
                mime_type: row.mime_type,
                width: row.width.into(),
                height: row.height.into(),
                has_preview_image: row.has_preview_image,
                mini_preview: row
                    .mini_preview
                    .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes)),
                remote_id: String::new(),
                archived: false,
            },
            path: row.path,
            thumbnail_path: row.thumbnail_path,
            preview_path: row.preview_path,
        }
    }
}

const SELECT_FILES: &str = "SELECT id, creator_id, channel_id, post_id, create_at, update_at, \
     delete_at, name, extension, size, mime_type, width, height, has_preview_image, \
     mini_preview, path, thumbnail_path, preview_path FROM file_infos ";

/// Forgets the pending blobs listed in `$1`.
fn forget_pending(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "DELETE FROM file_blobs_pending WHERE path = ANY($1)",
        Backend::Sqlite => {
            "DELETE FROM file_blobs_pending WHERE path IN (SELECT value FROM json_each($1))"
        }
    }
}

/// The dimensions column type: images are refused long before 2³¹ pixels a side.
fn dimension(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl Store {
    /// Stores the infos of one upload together, all of them or none, and with them
    /// the blobs they own stop being pending.
    pub async fn insert_files(&self, files: &[StoredFile]) -> StoreResult<()> {
        let owned: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
        on_writer!(self, pool, backend => {
            let mut tx = pool.begin().await?;
            for file in files {
                let info = &file.info;
                sqlx::query(
                    "INSERT INTO file_infos (id, creator_id, channel_id, post_id, create_at, \
                       update_at, delete_at, name, extension, size, mime_type, width, height, \
                       has_preview_image, mini_preview, path, thumbnail_path, preview_path) \
                     VALUES ($1, $2, $3, '', $4, $5, 0, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14, $15)",
                )
                .bind(&info.id)
                .bind(&info.user_id)
                .bind(&info.channel_id)
                .bind(info.create_at)
                .bind(info.update_at)
                .bind(&info.name)
                .bind(&info.extension)
                .bind(info.size)
                .bind(&info.mime_type)
                .bind(dimension(info.width))
                .bind(dimension(info.height))
                .bind(info.has_preview_image)
                .bind(&file.path)
                .bind(&file.thumbnail_path)
                .bind(&file.preview_path)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(forget_pending(backend))
                .bind(IdList(&owned))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// A live (not deleted) file.
    pub async fn get_file(&self, id: &str) -> StoreResult<Option<StoredFile>> {
        let row: Option<FileRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("{SELECT_FILES} WHERE id = $1 AND delete_at = 0"))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(StoredFile::from))
    }

    /// The files attached to these posts, oldest first; deleted ones only when asked.
    pub async fn files_of_posts(
        &self,
        post_ids: &[String],
        include_deleted: bool,
    ) -> StoreResult<Vec<StoredFile>> {
        if post_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<FileRow> = on_reader!(self, pool, backend => {
            let filter = match backend {
                Backend::Postgres => "WHERE post_id = ANY($1)",
                Backend::Sqlite => "WHERE post_id IN (SELECT value FROM json_each($1))",
            };
            let deleted = if include_deleted { "" } else { "AND delete_at = 0" };
            sqlx::query_as(&format!("{SELECT_FILES} {filter} {deleted} ORDER BY create_at, id"))
                .bind(IdList(post_ids))
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(StoredFile::from).collect())
    }

    /// A page of files matching `filter`.
    pub async fn query_files(&self, filter: &FileFilter) -> StoreResult<Vec<StoredFile>> {
        let rows: Vec<FileRow> = on_reader!(self, pool, backend => {
            let (users, channels) = match backend {
                Backend::Postgres => (
                    "(cardinality($2::text[]) = 0 OR creator_id = ANY($2))",
                    "(cardinality($3::text[]) = 0 OR channel_id = ANY($3))",
                ),
                Backend::Sqlite => (
                    "(json_array_length($2) = 0 OR creator_id IN (SELECT value FROM json_each($2)))",
                    "(json_array_length($3) = 0 OR channel_id IN (SELECT value FROM json_each($3)))",
                ),
            };
            let deleted = if filter.include_deleted { "" } else { "AND delete_at = 0" };
            let column = if filter.sort_by_size { "size" } else { "create_at" };
            let direction = if filter.descending { "DESC" } else { "ASC" };
            sqlx::query_as(&format!(
                "{SELECT_FILES} WHERE create_at >= $1 AND {users} AND {channels} {deleted} \
                 ORDER BY {column} {direction}, id {direction} LIMIT $4 OFFSET $5"
            ))
            .bind(filter.since)
            .bind(IdList(&filter.user_ids))
            .bind(IdList(&filter.channel_ids))
            .bind(filter.per_page)
            .bind(filter.offset)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(StoredFile::from).collect())
    }

    /// Records a file's thumbnail, preview and mini preview once they are made (the
    /// caller then forgets them as pending blobs).
    pub async fn set_file_previews(
        &self,
        id: &str,
        thumbnail_path: &str,
        preview_path: &str,
        mini_preview: &[u8],
    ) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "UPDATE file_infos SET thumbnail_path = $1, preview_path = $2, mini_preview = $3 \
                 WHERE id = $4",
            )
            .bind(thumbnail_path)
            .bind(preview_path)
            .bind(mini_preview)
            .bind(id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Marks a file as no image Chorus can show (its content failed to decode).
    pub async fn clear_file_image(&self, id: &str) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "UPDATE file_infos SET width = 0, height = 0, has_preview_image = FALSE WHERE id = $1",
            )
            .bind(id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// One chunk of a blob of the `database` file driver, replacing a chunk of the
    /// same place (previews made twice, by two nodes, are the same bytes).
    pub async fn put_file_chunk(&self, path: &str, seq: i32, data: &[u8]) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO file_chunks (path, seq, data) VALUES ($1, $2, $3) \
                 ON CONFLICT (path, seq) DO UPDATE SET data = excluded.data",
            )
            .bind(path)
            .bind(seq)
            .bind(data)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Chunk `seq` of a blob, or `None` past its end.
    pub async fn file_chunk(&self, path: &str, seq: i32) -> StoreResult<Option<Vec<u8>>> {
        let data = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT data FROM file_chunks WHERE path = $1 AND seq = $2")
                .bind(path)
                .bind(seq)
                .fetch_optional(pool)
                .await
        })?;
        Ok(data)
    }

    /// Removes a blob of the `database` driver, and any chunks past `keep` chunks.
    pub async fn delete_file_chunks(&self, path: &str, keep: i32) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query("DELETE FROM file_chunks WHERE path = $1 AND seq >= $2")
                .bind(path)
                .bind(keep)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// Notes that a blob is being written and no file owns it yet.
    pub async fn add_pending_blob(&self, path: &str) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO file_blobs_pending (path, create_at) VALUES ($1, $2) \
                 ON CONFLICT (path) DO UPDATE SET create_at = excluded.create_at",
            )
            .bind(path)
            .bind(chorus_model::now_millis())
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Forgets pending blobs: they were removed, or a file owns them now.
    pub async fn remove_pending_blobs(&self, paths: &[String]) -> StoreResult<()> {
        on_writer!(self, pool, backend => {
            sqlx::query(forget_pending(backend))
                .bind(IdList(paths))
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// Blobs pending since before `cutoff`: uploads that a crash cut off before their
    /// cleanup ran.
    pub async fn stale_pending_blobs(&self, cutoff: i64) -> StoreResult<Vec<String>> {
        let paths = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT path FROM file_blobs_pending WHERE create_at < $1 LIMIT 1000")
                .bind(cutoff)
                .fetch_all(pool)
                .await
        })?;
        Ok(paths)
    }

    /// The shared value `name`, set to `proposed` by whichever node asks first.
    pub async fn system_value_or_insert(&self, name: &str, proposed: &str) -> StoreResult<String> {
        let value = on_writer!(self, pool => {
            sqlx::query("INSERT INTO systems (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(proposed)
                .execute(pool)
                .await?;
            sqlx::query_scalar("SELECT value FROM systems WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await
        })?;
        Ok(value)
    }
}
