//! Files: uploads into a channel (streamed to storage a chunk at a time, each file
//! capped at `FileSettings.MaxFileSize` as it arrives, images with too many pixels
//! refused from their header before the rest is stored), who may read a file (its
//! uploader, and members of its channel), thumbnails and previews (made in the
//! background after an upload, or when first asked for), public links, and the files
//! of posts (`metadata.files`).
//!
//! An upload is all or nothing: its files' infos are written together by
//! [`Upload::commit`], and an upload dropped before that (an error, a client that went
//! away mid-body) removes every blob it wrote.

use super::permissions::{load_member_channel, require_admin};
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::files::images::{self, PROBE_BYTES};
use crate::files::{blob_path, BlobKind, BlobWriter, FileStorage};
use crate::lifecycle::Stage;
use crate::plugins::HookContext;
use crate::store::{FileFilter, Store, StoredFile};
use crate::AppState;
use base64::Engine;
use chorus_model::{new_id, now_millis, FileInfo, Post, PLUGIN_FILE_OWNER};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Longest file name kept (Mattermost's column).
pub const FILE_NAME_MAX: usize = 256;

/// Most files one `GetFileInfos` page holds.
pub const FILE_PAGE_MAX: i64 = 200;

/// The `systems` row holding the cluster's generated public-link salt.
const PUBLIC_LINK_SALT: &str = "PublicLinkSalt";

/// The name a file is shown under: the last part of what the client sent (no
/// folders, whichever separator), without control characters.
fn clean_file_name(raw: &str) -> AppResult<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = last.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim().to_string();
    if name.is_empty() || name == "." || name == ".." {
        return Err(Code::FileNameInvalid.with_message(format!(
            "{raw:?} is not a file name: send the name of the file, without folders."
        )));
    }
    if name.chars().count() > FILE_NAME_MAX {
        return Err(Code::FileNameInvalid.with_message(format!(
            "File names may be at most {FILE_NAME_MAX} characters."
        )));
    }
    Ok(name)
}

/// The extension (lower case, no dot) and MIME type of a name, as Mattermost derives
/// them: from the extension only, never from the content.
fn type_of(name: &str) -> (String, String) {
    let extension = match name.rsplit_once('.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => String::new(),
    };
    let mime = mime_guess::from_ext(&extension)
        .first()
        .map(|m| m.essence_str().to_string())
        .unwrap_or_default();
    (extension, mime)
}

/// Whether a stored file still waits for its thumbnail and preview.
fn wants_previews(file: &StoredFile) -> bool {
    file.thumbnail_path.is_empty()
        && file.info.width > 0
        && file.info.height > 0
        && images::is_previewable(&file.info.mime_type)
}

/// Which files `GetFileInfos` asks for, and which page.
#[derive(Debug, Clone, Default)]
pub struct FileQuery {
    pub page: i64,
    pub per_page: i64,
    pub filter: FileFilter,
}

/// What a reader of a file may do with it.
pub struct FileContent {
    pub info: FileInfo,
    pub chunks: futures_util::stream::BoxStream<'static, crate::files::StorageResult<bytes::Bytes>>,
    /// Which bytes `chunks` holds.
    pub part: Part,
}

/// The bytes a download asks for: HTTP's single `Range: bytes=…` forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=start-` or `bytes=start-end` (inclusive).
    From { start: u64, end: Option<u64> },
    /// `bytes=-n`: the last `n` bytes.
    Last(u64),
}

impl ByteRange {
    /// A `Range` header of one range; `None` for anything else (several ranges, other
    /// units, garbage), which is answered with the whole file, as HTTP allows.
    pub fn parse(header: &str) -> Option<ByteRange> {
        let spec = header.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (start, end) = spec.split_once('-')?;
        let number = |text: &str| text.trim().parse::<u64>().ok();
        match (start.trim().is_empty(), end.trim().is_empty()) {
            (true, false) => Some(ByteRange::Last(number(end)?)),
            (false, true) => Some(ByteRange::From {
                start: number(start)?,
                end: None,
            }),
            (false, false) => {
                let (start, end) = (number(start)?, number(end)?);
                (start <= end).then_some(ByteRange::From {
                    start,
                    end: Some(end),
                })
            }
            (true, true) => None,
        }
    }

    /// The first and last byte (inclusive) of a file of `size` bytes, or `None` when
    /// the range lies wholly past its end.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        match self {
            ByteRange::From { start, .. } if start >= size => None,
            ByteRange::From { start, end } => Some((start, end.unwrap_or(u64::MAX).min(size - 1))),
            ByteRange::Last(0) => None,
            ByteRange::Last(n) => Some((size.saturating_sub(n), size.checked_sub(1)?)),
        }
    }
}

/// What part of a file a download carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Whole,
    /// First and last byte, inclusive.
    Bytes(u64, u64),
    /// The range asked for lies past the end: nothing is sent (416).
    Unsatisfiable,
}

/// The part of the node that makes thumbnails and previews, a few images at a time.
#[derive(Clone)]
pub struct Previewer {
    storage: FileStorage,
    store: Store,
    decoders: Arc<Semaphore>,
    max_pixels: u64,
    max_bytes: u64,
}

impl Previewer {
    pub fn new(config: &crate::Config, storage: FileStorage, store: Store) -> Previewer {
        let settings = &config.file_settings;
        let decoders = usize::try_from(settings.max_image_decoder_concurrency)
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        Previewer {
            storage,
            store,
            decoders: Arc::new(Semaphore::new(decoders)),
            max_pixels: settings.max_image_resolution,
            max_bytes: settings.max_file_size,
        }
    }

    /// Runs a blocking image job (decoding, resizing) on the blocking pool, under the
    /// same few permits as previews, so uploads cannot take every core.
    pub async fn run_image_job<T: Send + 'static>(
        &self,
        job: impl FnOnce(u64) -> T + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self
            .decoders
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let max_pixels = self.max_pixels;
        tokio::task::spawn_blocking(move || job(max_pixels))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Makes and stores a file's previews, answering the file as it is now. An image
    /// that fails to decode is marked as having none, so that nobody tries again.
    async fn make(&self, mut file: StoredFile) -> AppResult<StoredFile> {
        let _permit = self
            .decoders
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        // Another request may have made them while this one waited.
        if let Some(current) = self.store.get_file(&file.info.id).await? {
            if !wants_previews(&current) {
                return Ok(current);
            }
        }
        let data = self.storage.read_all(&file.path, self.max_bytes).await?;
        let max_pixels = self.max_pixels;
        let made = tokio::task::spawn_blocking(move || images::make_previews(&data, max_pixels))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let previews = match made {
            Ok(previews) => previews,
            Err(err) => {
                tracing::info!(file_id = %file.info.id, error = %err, "image cannot be decoded; it gets no previews");
                self.store.clear_file_image(&file.info.id).await?;
                file.info.width = 0;
                file.info.height = 0;
                file.info.has_preview_image = false;
                return Ok(file);
            }
        };
        let thumbnail = blob_path(&file.info.id, BlobKind::Thumbnail);
        let preview = blob_path(&file.info.id, BlobKind::Preview);
        self.storage
            .write_all(&thumbnail, &previews.thumbnail)
            .await?;
        self.storage.write_all(&preview, &previews.preview).await?;
        self.store
            .set_file_previews(&file.info.id, &thumbnail, &preview, &previews.mini_preview)
            .await?;
        self.store
            .remove_pending_blobs(&[thumbnail.clone(), preview.clone()])
            .await?;
        file.thumbnail_path = thumbnail;
        file.preview_path = preview;
        file.info.mini_preview =
            Some(base64::engine::general_purpose::STANDARD.encode(&previews.mini_preview));
        Ok(file)
    }
}

/// One upload into a channel, file after file.
pub struct Upload<'a> {
    state: &'a AppState,
    /// Who `FileWillBeUploaded` is told uploads.
    context: HookContext,
    creator_id: String,
    channel_id: String,
    files: Vec<StoredFile>,
    committed: bool,
}

/// One file of an upload, arriving.
pub struct IncomingFile {
    info: FileInfo,
    writer: BlobWriter,
    /// The first bytes of an image, kept until its dimensions are judged.
    head: Option<Vec<u8>>,
    /// `FileSettings.MaxFileSize` and `MaxImageResolution`.
    limit: u64,
    max_pixels: u64,
}

impl IncomingFile {
    /// Takes the next piece of the file: refused once the file passes
    /// `FileSettings.MaxFileSize`, or once an image's header declares more pixels than
    /// `MaxImageResolution`.
    pub async fn write(&mut self, data: &[u8]) -> AppResult<()> {
        if self.writer.written() + data.len() as u64 > self.limit {
            return Err(self.too_large());
        }
        if let Some(head) = self.head.as_mut() {
            let wanted = PROBE_BYTES.saturating_sub(head.len()).min(data.len());
            head.extend_from_slice(&data[..wanted]);
            if head.len() >= PROBE_BYTES {
                self.judge_image()?;
            }
        }
        self.writer.write(data).await?;
        Ok(())
    }

    fn too_large(&self) -> AppError {
        Code::FileTooLarge.with_message(format!(
            "Unable to upload file {}: it is larger than the {} bytes this server accepts \
             (FileSettings.MaxFileSize).",
            self.info.name, self.limit
        ))
    }

    /// Reads an image's dimensions from its head, once.
    fn judge_image(&mut self) -> AppResult<()> {
        let Some(head) = self.head.take() else {
            return Ok(());
        };
        let Some(probe) = images::probe(&head) else {
            return Ok(());
        };
        let pixels = u64::from(probe.width) * u64::from(probe.height);
        let max = self.max_pixels;
        if pixels > max {
            return Err(Code::FileImageTooLarge.with_message(format!(
                "Unable to upload image file {}: it is {}×{} pixels, more than the {max} \
                 this server accepts (FileSettings.MaxImageResolution).",
                self.info.name, probe.width, probe.height
            )));
        }
        self.info.width = probe.width.into();
        self.info.height = probe.height.into();
        // As in Mattermost, GIFs (animated or not) are shown as themselves, though they
        // get thumbnails too.
        self.info.has_preview_image = self.info.mime_type != "image/gif";
        Ok(())
    }
}

impl AppState {
    /// Starts an upload into `channel_id`: users need file attachments on and to be
    /// able to post there; plugins upload anywhere.
    pub async fn begin_upload(&self, actor: Actor<'_>, channel_id: &str) -> AppResult<Upload<'_>> {
        if matches!(actor, Actor::User(_)) && !self.config.file_settings.enable_file_attachments {
            return Err(Code::FilesDisabled.into());
        }
        let channel = load_member_channel(self, actor, channel_id).await?;
        Ok(Upload {
            state: self,
            context: actor.hook_context(),
            creator_id: actor.user_id().unwrap_or(PLUGIN_FILE_OWNER).to_string(),
            channel_id: channel.id,
            files: Vec::new(),
            committed: false,
        })
    }

    /// The public-link salt: configured, or the one the cluster generated.
    async fn public_link_salt(&self) -> AppResult<String> {
        let configured = &self.config.file_settings.public_link_salt;
        if !configured.is_empty() {
            return Ok(configured.clone());
        }
        let salt = self
            .public_link_salt
            .get_or_try_init(|| async {
                let proposed = format!("{}{}", new_id(), new_id());
                self.store
                    .system_value_or_insert(PUBLIC_LINK_SALT, &proposed)
                    .await
            })
            .await?;
        Ok(salt.clone())
    }

    async fn public_link_hash(&self, file_id: &str) -> AppResult<String> {
        let salt = self.public_link_salt().await?;
        let digest = Sha256::new()
            .chain_update(salt.as_bytes())
            .chain_update(file_id.as_bytes())
            .finalize();
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
    }

    /// A live (not deleted) file, whoever asks.
    async fn live_file(&self, file_id: &str) -> AppResult<StoredFile> {
        require_id(file_id, "file_id")?;
        self.store
            .get_file(file_id)
            .await?
            .ok_or_else(|| AppError::from(Code::FileNotFound))
    }

    /// A live file the actor may read: its uploader's, or in a channel the actor can
    /// read.
    async fn readable_file(&self, actor: Actor<'_>, file_id: &str) -> AppResult<StoredFile> {
        let file = self.live_file(file_id).await?;
        if actor.user_id() != Some(file.info.user_id.as_str()) {
            load_member_channel(self, actor, &file.info.channel_id).await?;
        }
        Ok(file)
    }

    /// `GET /files/{id}/info` and the plugin API's `GetFileInfo`.
    pub async fn file_info(&self, actor: Actor<'_>, file_id: &str) -> AppResult<FileInfo> {
        Ok(self.readable_file(actor, file_id).await?.info)
    }

    /// `GET /files/{id}`: the file, streamed from storage.
    pub async fn file_content(
        &self,
        actor: Actor<'_>,
        file_id: &str,
        range: Option<ByteRange>,
    ) -> AppResult<FileContent> {
        let file = self.readable_file(actor, file_id).await?;
        self.content_of(file, BlobKind::File, range).await
    }

    /// `GET /files/{id}/thumbnail` and `/preview`, made now if the background job has
    /// not yet (or died with its node).
    pub async fn file_image(
        &self,
        actor: Actor<'_>,
        file_id: &str,
        kind: BlobKind,
    ) -> AppResult<FileContent> {
        let mut file = self.readable_file(actor, file_id).await?;
        if wants_previews(&file) {
            file = self.previewer.make(file).await?;
        }
        if file.thumbnail_path.is_empty() {
            return Err(match kind {
                BlobKind::Preview => Code::FileNoPreview.into(),
                _ => Code::FileNoThumbnail.into(),
            });
        }
        self.content_of(file, kind, None).await
    }

    async fn content_of(
        &self,
        file: StoredFile,
        kind: BlobKind,
        range: Option<ByteRange>,
    ) -> AppResult<FileContent> {
        let path = match kind {
            BlobKind::File => &file.path,
            BlobKind::Thumbnail => &file.thumbnail_path,
            BlobKind::Preview => &file.preview_path,
        };
        let size = u64::try_from(file.info.size).unwrap_or(0);
        let part = match range.map(|r| r.resolve(size)) {
            None => Part::Whole,
            Some(Some((first, last))) => Part::Bytes(first, last),
            Some(None) => Part::Unsatisfiable,
        };
        let chunks = match part {
            Part::Whole => self.files.read(path).await?,
            Part::Bytes(first, last) => {
                self.files.read_range(path, first, last - first + 1).await?
            }
            Part::Unsatisfiable => futures_util::StreamExt::boxed(futures_util::stream::empty()),
        };
        Ok(FileContent {
            info: file.info,
            chunks,
            part,
        })
    }

    /// `GET /files/{id}/link`: the file's public link under `site`, once public links
    /// are on and the file is attached to a post.
    pub async fn file_link(
        &self,
        actor: Actor<'_>,
        file_id: &str,
        site: &str,
    ) -> AppResult<String> {
        require_id(file_id, "file_id")?;
        if !self.config.file_settings.enable_public_link {
            return Err(Code::PublicLinksDisabled.into());
        }
        let file = self.readable_file(actor, file_id).await?;
        if file.info.post_id.is_empty() {
            return Err(Code::PublicLinkNoPost.into());
        }
        let hash = self.public_link_hash(&file.info.id).await?;
        Ok(format!(
            "{}/files/{}/public?h={hash}",
            site.trim_end_matches('/'),
            file.info.id
        ))
    }

    /// `GET /files/{id}/public?h=…`: a file for anyone holding its link.
    pub async fn public_file(
        &self,
        file_id: &str,
        hash: &str,
        range: Option<ByteRange>,
    ) -> AppResult<FileContent> {
        if !self.config.file_settings.enable_public_link {
            return Err(Code::PublicLinksDisabled.into());
        }
        let file = self.live_file(file_id).await?;
        let expected = self.public_link_hash(&file.info.id).await?;
        if !crate::security::digest::constant_time_eq(expected.as_bytes(), hash.as_bytes()) {
            return Err(Code::PublicLinkInvalid.into());
        }
        self.content_of(file, BlobKind::File, range).await
    }

    /// The plugin API's `UploadFile`: a whole file in memory, through the same checks
    /// and hooks as an upload over REST.
    pub async fn upload_file_bytes(
        &self,
        actor: Actor<'_>,
        channel_id: &str,
        filename: &str,
        data: &[u8],
    ) -> AppResult<FileInfo> {
        let mut upload = self.begin_upload(actor, channel_id).await?;
        let mut file = upload.start_file(filename).await?;
        for chunk in data.chunks(crate::files::CHUNK_SIZE) {
            file.write(chunk).await?;
        }
        upload.finish_file(file).await?;
        let mut infos = upload.commit().await?;
        infos
            .pop()
            .ok_or_else(|| AppError::Internal("an upload of one file stored none".into()))
    }

    /// The plugin API's `GetFile`: a readable file's content, whole.
    pub async fn file_bytes(&self, actor: Actor<'_>, file_id: &str) -> AppResult<Vec<u8>> {
        let file = self.readable_file(actor, file_id).await?;
        let limit = u64::try_from(file.info.size).unwrap_or(0);
        Ok(self.files.read_all(&file.path, limit).await?)
    }

    /// The plugin API's `GetFileInfos`: a page of every file (admins and plugins).
    pub async fn file_infos(&self, actor: Actor<'_>, query: FileQuery) -> AppResult<Vec<FileInfo>> {
        require_admin(actor)?;
        let per_page = match query.per_page {
            0 => 60,
            n if (1..=FILE_PAGE_MAX).contains(&n) => n,
            _ => {
                return Err(Code::FileQueryInvalid
                    .with_message(format!("per_page must be 1-{FILE_PAGE_MAX}.")))
            }
        };
        if query.page < 0 {
            return Err(Code::FileQueryInvalid.with_message("page must not be negative."));
        }
        let files = self
            .store
            .query_files(&FileFilter {
                per_page,
                offset: query.page.saturating_mul(per_page),
                ..query.filter
            })
            .await?;
        Ok(files.into_iter().map(|f| f.info).collect())
    }

    /// The plugin API's `GetFileLink`: the public link under `ServiceSettings.SiteURL`.
    pub async fn file_link_for_plugin(&self, actor: Actor<'_>, file_id: &str) -> AppResult<String> {
        let site = self.config.service_settings.site_url.clone();
        self.file_link(actor, file_id, &site).await
    }

    /// The plugin API's `CopyFileInfos`: new files owned by `user_id` sharing the
    /// content of `file_ids` (readable by the actor), unattached, in the same order.
    pub async fn copy_file_infos(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        file_ids: &[String],
    ) -> AppResult<Vec<String>> {
        require_id(user_id, "user_id")?;
        self.require_user(user_id).await?;
        let mut copies = Vec::with_capacity(file_ids.len());
        for file_id in file_ids {
            let original = self.readable_file(actor, file_id).await?;
            let now = now_millis();
            copies.push(StoredFile {
                info: FileInfo {
                    id: new_id(),
                    user_id: user_id.to_string(),
                    post_id: String::new(),
                    create_at: now,
                    update_at: now,
                    ..original.info
                },
                ..original
            });
        }
        self.store.insert_files(&copies).await?;
        Ok(copies.into_iter().map(|f| f.info.id).collect())
    }

    /// `GET /posts/{id}/files/info`: a readable post's files; deleted ones too for
    /// admins who ask.
    pub async fn files_of_post(
        &self,
        actor: Actor<'_>,
        post_id: &str,
        include_deleted: bool,
    ) -> AppResult<Vec<FileInfo>> {
        if include_deleted && !actor.is_admin() {
            return Err(AppError::forbidden(
                "Only system admins may see the deleted files of a post.",
            ));
        }
        let post = if include_deleted {
            require_id(post_id, "post_id")?;
            let post = self
                .store
                .get_post(post_id)
                .await?
                .ok_or_else(|| AppError::from(Code::PostNotFound))?;
            load_member_channel(self, actor, &post.channel_id).await?;
            post
        } else {
            self.readable_post(actor, post_id).await?.0
        };
        let files = self
            .store
            .files_of_posts(&[post.id], include_deleted)
            .await?;
        Ok(files.into_iter().map(|f| f.info).collect())
    }

    /// Fills `metadata.files` of the posts that carry files, in one query.
    pub async fn attach_files<'p>(
        &self,
        posts: impl IntoIterator<Item = &'p mut Post>,
    ) -> AppResult<()> {
        let mut wanting: HashMap<String, &'p mut Post> = posts
            .into_iter()
            .filter(|p| !p.file_ids.is_empty())
            .map(|p| (p.id.clone(), p))
            .collect();
        if wanting.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = wanting.keys().cloned().collect();
        let mut by_post: HashMap<String, Vec<FileInfo>> = HashMap::new();
        for file in self.store.files_of_posts(&ids, false).await? {
            by_post
                .entry(file.info.post_id.clone())
                .or_default()
                .push(file.info);
        }
        for (post_id, post) in wanting.iter_mut() {
            let files = by_post.remove(post_id).unwrap_or_default();
            if files.is_empty() {
                continue;
            }
            let value =
                serde_json::to_value(files).map_err(|e| AppError::Internal(e.to_string()))?;
            post.metadata.insert("files".into(), value);
        }
        Ok(())
    }

    /// Makes the previews of freshly uploaded images in the background.
    fn schedule_previews(&self, files: &[StoredFile]) {
        for file in files.iter().filter(|f| wants_previews(f)) {
            let previewer = self.previewer.clone();
            let file = file.clone();
            self.lifecycle.spawn(Stage::Services, async move {
                let id = file.info.id.clone();
                if let Err(err) = previewer.make(file).await {
                    tracing::warn!(file_id = %id, error = %err, "could not make the file's previews; they will be made when asked for");
                }
            });
        }
    }
}

impl<'a> Upload<'a> {
    /// Starts the next file, named as the client named it.
    pub async fn start_file(&mut self, raw_name: &str) -> AppResult<IncomingFile> {
        let name = clean_file_name(raw_name)?;
        let (extension, mime_type) = type_of(&name);
        let id = new_id();
        let now = now_millis();
        let writer = self
            .state
            .files
            .writer(&blob_path(&id, BlobKind::File))
            .await?;
        let head = images::is_previewable(&mime_type).then(Vec::new);
        Ok(IncomingFile {
            info: FileInfo {
                id,
                user_id: self.creator_id.clone(),
                channel_id: self.channel_id.clone(),
                create_at: now,
                update_at: now,
                name,
                extension,
                mime_type,
                ..FileInfo::default()
            },
            writer,
            head,
            limit: self.state.config.file_settings.max_file_size,
            max_pixels: self.state.config.file_settings.max_image_resolution,
        })
    }

    /// Ends a file whose bytes have all arrived, once the plugins let it through
    /// (`FileWillBeUploaded` may rename it or refuse the upload).
    pub async fn finish_file(&mut self, mut file: IncomingFile) -> AppResult<()> {
        file.judge_image()?;
        file.info.size = i64::try_from(file.writer.written()).unwrap_or(i64::MAX);
        let renamed = self
            .state
            .plugins
            .file_will_be_uploaded(&self.context, &file.info)
            .await
            .map_err(|rejection| {
                Code::FileRejectedByPlugin.with_message(format!(
                    "File {} rejected by plugin: {}",
                    file.info.name, rejection.0
                ))
            })?;
        if let Some(name) = renamed {
            let name = clean_file_name(&name)?;
            let (extension, mime_type) = type_of(&name);
            if !images::is_previewable(&mime_type) {
                file.info.width = 0;
                file.info.height = 0;
                file.info.has_preview_image = false;
            }
            file.info.name = name;
            file.info.extension = extension;
            file.info.mime_type = mime_type;
        }
        let path = file.writer.path().to_string();
        let size = file.writer.finish().await?;
        file.info.size = i64::try_from(size).unwrap_or(i64::MAX);
        self.files.push(StoredFile {
            info: file.info,
            path,
            ..StoredFile::default()
        });
        Ok(())
    }

    /// How many files have arrived.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Stores the infos of every file together and starts making their previews.
    pub async fn commit(mut self) -> AppResult<Vec<FileInfo>> {
        self.state.store.insert_files(&self.files).await?;
        self.committed = true;
        self.state.schedule_previews(&self.files);
        Ok(std::mem::take(&mut self.files)
            .into_iter()
            .map(|f| f.info)
            .collect())
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        if self.committed || self.files.is_empty() {
            return;
        }
        let storage = self.state.files.clone();
        let paths: Vec<String> = self.files.iter().map(|f| f.path.clone()).collect();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for path in paths {
                    if let Err(err) = storage.remove(&path).await {
                        tracing::warn!(%path, error = %err, "could not remove a file of a failed upload; the sweep will");
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_folders() {
        assert_eq!(clean_file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(
            clean_file_name("C:\\Users\\me\\report.pdf").unwrap(),
            "report.pdf"
        );
        assert_eq!(clean_file_name("a\u{0}b\n.txt").unwrap(), "ab.txt");
        assert!(clean_file_name("..").is_err());
        assert!(clean_file_name("dir/").is_err());
        assert!(clean_file_name(&"x".repeat(300)).is_err());
    }

    #[test]
    fn types_come_from_the_extension() {
        assert_eq!(type_of("Photo.JPG"), ("jpg".into(), "image/jpeg".into()));
        assert_eq!(type_of("notes"), (String::new(), String::new()));
        assert_eq!(type_of("archive.tar.gz").0, "gz");
    }
}
