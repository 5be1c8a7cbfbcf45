//! File storage: the blobs of uploaded files (the file itself, its thumbnail and its
//! preview) behind one interface, whichever `FileSettings.DriverName` keeps them:
//! `local`, a folder of this machine, or `database`, chunks of at most
//! [`CHUNK_SIZE`] in the database every node shares, so that a file uploaded through
//! one node downloads through any other with no shared disk or object store.
//!
//! Blobs are written and read a chunk at a time, never whole in memory. A blob being
//! written is listed as pending in the database until a file info owns it; a writer
//! dropped half way removes what it wrote, and [`FileStorage::sweep`] removes what a
//! crash left behind. The `local` driver writes into `.partial/` and renames the blob
//! into place only when it is complete, so a reader never sees half a file.
//!
//! `images` makes the thumbnails and previews.

pub mod images;

use crate::config::{Config, FileDriver};
use crate::store::{Store, StoreError};
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Largest piece of a blob written or read at once (and one row of the `database`
/// driver).
pub const CHUNK_SIZE: usize = 1024 * 1024;

/// Pending blobs older than this are taken for leftovers of a crash.
const PENDING_MAX_AGE_MS: i64 = 24 * 60 * 60 * 1000;

/// The blobs one file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    File,
    Thumbnail,
    Preview,
}

/// Where a file's blob is kept: made of its id only (never of a name a client
/// chose), in folders of at most 26² files' first two letters.
pub fn blob_path(file_id: &str, kind: BlobKind) -> String {
    let kind = match kind {
        BlobKind::File => "file",
        BlobKind::Thumbnail => "thumb",
        BlobKind::Preview => "preview",
    };
    let shard = file_id.get(..2).unwrap_or("__");
    format!("files/{shard}/{file_id}/{kind}")
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored file {0} is missing")]
    Missing(String),
}

impl From<StorageError> for crate::error::AppError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Store(err) => err.into(),
            StorageError::Missing(path) => crate::error::Code::FileReadFailed.with_message(
                format!("The file's content is missing from storage ({path})."),
            ),
            StorageError::Io(err) => {
                crate::error::AppError::Internal(format!("file storage: {err}"))
            }
        }
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

#[derive(Clone)]
enum Driver {
    Local { root: PathBuf },
    Database,
}

/// The blobs of this deployment.
#[derive(Clone)]
pub struct FileStorage {
    driver: Driver,
    store: Store,
}

impl FileStorage {
    /// The driver `config` names, over `store` (which lists pending blobs for both).
    pub fn new(config: &Config, store: Store) -> FileStorage {
        let driver = match config.file_driver() {
            // The folder is made on the first upload, not at start: a node that never
            // stores a file leaves no trace on disk.
            FileDriver::Local => Driver::Local {
                root: PathBuf::from(&config.file_settings.directory),
            },
            FileDriver::Database => Driver::Database,
        };
        FileStorage { driver, store }
    }

    /// The driver's name, as `FileSettings.DriverName` spells it.
    pub fn driver_name(&self) -> &'static str {
        match self.driver {
            Driver::Local { .. } => "local",
            Driver::Database => "database",
        }
    }

    /// Starts writing the blob at `path`, replacing any blob there once finished.
    pub async fn writer(&self, path: &str) -> StorageResult<BlobWriter> {
        self.store.add_pending_blob(path).await?;
        let sink = match &self.driver {
            Driver::Local { root } => {
                let folder = root.join(".partial");
                tokio::fs::create_dir_all(&folder).await?;
                let partial = folder.join(format!(
                    "{}-{}",
                    chorus_model::new_id(),
                    path.replace('/', "_")
                ));
                let file = tokio::fs::File::create(&partial).await?;
                Sink::Local {
                    file,
                    partial,
                    target: root.join(path),
                }
            }
            Driver::Database => Sink::Database { seq: 0 },
        };
        Ok(BlobWriter {
            path: path.to_string(),
            store: self.store.clone(),
            sink: Some(sink),
            buffer: Vec::new(),
            written: 0,
        })
    }

    /// Writes a whole blob that is already in memory (thumbnails, previews, plugin
    /// uploads), and forgets it as pending: the caller records it in its file info.
    pub async fn write_all(&self, path: &str, data: &[u8]) -> StorageResult<()> {
        let mut writer = self.writer(path).await?;
        writer.write(data).await?;
        writer.finish().await?;
        Ok(())
    }

    /// The blob at `path`, a chunk at a time.
    pub async fn read(
        &self,
        path: &str,
    ) -> StorageResult<BoxStream<'static, StorageResult<Bytes>>> {
        match &self.driver {
            Driver::Local { root } => {
                let file = match tokio::fs::File::open(root.join(path)).await {
                    Ok(file) => file,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        return Err(StorageError::Missing(path.to_string()))
                    }
                    Err(err) => return Err(err.into()),
                };
                let chunks = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024);
                Ok(chunks
                    .map(|chunk| chunk.map_err(StorageError::from))
                    .boxed())
            }
            Driver::Database => {
                let first = self.store.file_chunk(path, 0).await?;
                let Some(first) = first else {
                    return Err(StorageError::Missing(path.to_string()));
                };
                let store = self.store.clone();
                let path = path.to_string();
                let rest = stream::try_unfold(1, move |seq| {
                    let store = store.clone();
                    let path = path.clone();
                    async move {
                        let chunk = store.file_chunk(&path, seq).await?;
                        Ok(chunk.map(|data| (Bytes::from(data), seq + 1)))
                    }
                });
                Ok(stream::once(async move { Ok(Bytes::from(first)) })
                    .chain(rest)
                    .boxed())
            }
        }
    }

    /// `len` bytes of the blob at `path` from byte `start`, a chunk at a time: the
    /// local file is read from there, the database from the chunk holding `start`.
    pub async fn read_range(
        &self,
        path: &str,
        start: u64,
        len: u64,
    ) -> StorageResult<BoxStream<'static, StorageResult<Bytes>>> {
        let (chunks, skip) = match &self.driver {
            Driver::Local { root } => {
                use tokio::io::{AsyncReadExt, AsyncSeekExt};
                let mut file = match tokio::fs::File::open(root.join(path)).await {
                    Ok(file) => file,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        return Err(StorageError::Missing(path.to_string()))
                    }
                    Err(err) => return Err(err.into()),
                };
                file.seek(std::io::SeekFrom::Start(start)).await?;
                let chunks = tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 * 1024)
                    .map(|chunk| chunk.map_err(StorageError::from))
                    .boxed();
                (chunks, 0)
            }
            Driver::Database => {
                let chunk_size = CHUNK_SIZE as u64;
                let first_seq = i32::try_from(start / chunk_size).unwrap_or(i32::MAX);
                let store = self.store.clone();
                let path = path.to_string();
                let chunks = stream::try_unfold(first_seq, move |seq| {
                    let store = store.clone();
                    let path = path.clone();
                    async move {
                        let chunk = store.file_chunk(&path, seq).await?;
                        Ok(chunk.map(|data| (Bytes::from(data), seq + 1)))
                    }
                })
                .boxed();
                (chunks, start % chunk_size)
            }
        };
        Ok(byte_window(chunks, skip, len))
    }

    /// The blob at `path` in memory, refused past `limit` bytes (images to decode,
    /// the plugin API's `GetFile`).
    pub async fn read_all(&self, path: &str, limit: u64) -> StorageResult<Vec<u8>> {
        let mut chunks = self.read(path).await?;
        let mut data = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if (data.len() + chunk.len()) as u64 > limit {
                return Err(StorageError::Io(std::io::Error::other(format!(
                    "{path} is larger than {limit} bytes"
                ))));
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data)
    }

    /// Removes a blob (missing is fine) and forgets it as pending.
    pub async fn remove(&self, path: &str) -> StorageResult<()> {
        remove_blob(&self.driver, &self.store, path).await
    }

    /// Removes the blobs of uploads that a crash cut off (pending for a day).
    pub async fn sweep(&self) -> StorageResult<usize> {
        let cutoff = chorus_model::now_millis() - PENDING_MAX_AGE_MS;
        let stale = self.store.stale_pending_blobs(cutoff).await?;
        for path in &stale {
            self.remove(path).await?;
        }
        if let Driver::Local { root } = &self.driver {
            sweep_partial_folder(&root.join(".partial")).await;
        }
        Ok(stale.len())
    }
}

async fn remove_blob(driver: &Driver, store: &Store, path: &str) -> StorageResult<()> {
    match driver {
        Driver::Local { root } => match tokio::fs::remove_file(root.join(path)).await {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err.into()),
        },
        Driver::Database => store.delete_file_chunks(path, 0).await?,
    }
    store.remove_pending_blobs(&[path.to_string()]).await?;
    Ok(())
}

/// Partial files that no writer finished or removed (the process died under them).
async fn sweep_partial_folder(folder: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(folder).await else {
        return;
    };
    let max_age = std::time::Duration::from_millis(PENDING_MAX_AGE_MS as u64);
    while let Ok(Some(entry)) = entries.next_entry().await {
        let old = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if old {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

enum Sink {
    Local {
        file: tokio::fs::File,
        partial: PathBuf,
        target: PathBuf,
    },
    Database {
        seq: i32,
    },
}

/// One blob being written. Dropped before [`BlobWriter::finish`], it removes what it
/// wrote.
pub struct BlobWriter {
    path: String,
    store: Store,
    /// `None` once finished.
    sink: Option<Sink>,
    buffer: Vec<u8>,
    written: u64,
}

impl BlobWriter {
    /// Bytes accepted so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub async fn write(&mut self, mut data: &[u8]) -> StorageResult<()> {
        self.written += data.len() as u64;
        while !data.is_empty() {
            let room = CHUNK_SIZE - self.buffer.len();
            let (now, later) = data.split_at(room.min(data.len()));
            self.buffer.extend_from_slice(now);
            data = later;
            if self.buffer.len() == CHUNK_SIZE {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> StorageResult<()> {
        let chunk = std::mem::take(&mut self.buffer);
        match self.sink.as_mut() {
            Some(Sink::Local { file, .. }) => file.write_all(&chunk).await?,
            Some(Sink::Database { seq }) => {
                self.store.put_file_chunk(&self.path, *seq, &chunk).await?;
                *seq += 1;
            }
            None => {}
        }
        // Reuse the allocation for the next chunk.
        self.buffer = chunk;
        self.buffer.clear();
        Ok(())
    }

    /// Writes what is left and puts the blob in place (still pending until a file
    /// info owns it); answers its size.
    pub async fn finish(mut self) -> StorageResult<u64> {
        let first_chunk_only = matches!(self.sink, Some(Sink::Database { seq: 0 }));
        if !self.buffer.is_empty() || first_chunk_only {
            // An empty blob still gets its (empty) first chunk, so that it exists.
            self.flush().await?;
        }
        match self.sink.as_mut() {
            Some(Sink::Local {
                file,
                partial,
                target,
            }) => {
                file.flush().await?;
                file.sync_data().await?;
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                tokio::fs::rename(&*partial, &*target).await?;
            }
            Some(Sink::Database { seq }) => {
                // A blob written again over a longer one keeps none of its tail.
                self.store.delete_file_chunks(&self.path, *seq).await?;
            }
            None => {}
        }
        self.sink = None;
        Ok(self.written)
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        let Some(sink) = self.sink.take() else {
            return;
        };
        let store = self.store.clone();
        let path = self.path.clone();
        let driver = match sink {
            Sink::Local { partial, .. } => {
                let _ = std::fs::remove_file(partial);
                None
            }
            Sink::Database { .. } => Some(Driver::Database),
        };
        // The drop may come from a cancelled request: the cleanup cannot await here.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let result = match driver {
                    Some(driver) => remove_blob(&driver, &store, &path).await,
                    None => store
                        .remove_pending_blobs(std::slice::from_ref(&path))
                        .await
                        .map_err(StorageError::from),
                };
                if let Err(err) = result {
                    tracing::warn!(%path, error = %err, "could not remove an unfinished upload; the sweep will");
                }
            });
        }
    }
}

/// The `len` bytes of a chunk stream that follow its first `skip` bytes.
fn byte_window(
    chunks: BoxStream<'static, StorageResult<Bytes>>,
    skip: u64,
    len: u64,
) -> BoxStream<'static, StorageResult<Bytes>> {
    chunks
        .scan((skip, len), |(skip, left), chunk| {
            let next = match chunk {
                Err(err) => Some(Err(err)),
                Ok(_) if *left == 0 => None,
                Ok(bytes) => {
                    let dropped = (*skip).min(bytes.len() as u64);
                    *skip -= dropped;
                    let mut bytes = bytes.slice(dropped as usize..);
                    if bytes.len() as u64 > *left {
                        bytes.truncate(*left as usize);
                    }
                    *left -= bytes.len() as u64;
                    Some(Ok(bytes))
                }
            };
            futures_util::future::ready(next)
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_byte_window_skips_and_stops_across_chunks() {
        let chunks = || stream::iter(["abcd", "efgh", "ij"].map(|c| Ok(Bytes::from(c)))).boxed();
        let collect = |s: BoxStream<'static, StorageResult<Bytes>>| async move {
            let parts: Vec<Bytes> = s.map(|c| c.unwrap()).collect().await;
            String::from_utf8(parts.concat()).unwrap()
        };
        assert_eq!(collect(byte_window(chunks(), 2, 5)).await, "cdefg");
        assert_eq!(collect(byte_window(chunks(), 0, 100)).await, "abcdefghij");
        assert_eq!(collect(byte_window(chunks(), 9, 1)).await, "j");
        assert_eq!(collect(byte_window(chunks(), 4, 0)).await, "");
    }

    use super::*;

    #[test]
    fn blob_paths_are_made_of_the_id_only() {
        assert_eq!(
            blob_path("abcdefghijklmnopqrstuvwxyz", BlobKind::Thumbnail),
            "files/ab/abcdefghijklmnopqrstuvwxyz/thumb"
        );
    }
}
