//! Files over REST: `POST /files` read as it streams in (multipart, or the raw body
//! with `channel_id` and `filename` in the query), and the file routes that stream a
//! file, its thumbnail or preview back with Mattermost's headers. The rules (who may
//! upload and read, size and pixel limits, all-or-nothing uploads) are in
//! `app::files`.

use super::auth::Auth;
use super::extract::{
    declared_length, drain, drain_stream, is_multipart, multipart_body_limit, site_of, Path, Query,
    DRAIN_FOR, FORM_OVERHEAD,
};
use super::SharedState;
use crate::app::files::{ByteRange, FileContent, Part, Upload};
use crate::error::{AppError, AppResult, Code};
use crate::files::BlobKind;
use axum::body::Body;
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::{FileInfo, FileUploadResponse};
use futures_util::StreamExt;
use serde::Deserialize;

/// Longest form field that is not a file (`channel_id`, `client_ids`).
const FORM_FIELD_MAX: usize = 10 * 1024;

/// The content types a browser may show in place; anything else downloads.
const INLINE_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/bmp",
    "image/gif",
    "image/tiff",
    "image/webp",
    "video/avi",
    "video/mpeg",
    "video/mp4",
    "audio/mpeg",
    "audio/wav",
];

pub fn router(max_file_size: u64) -> Router<SharedState> {
    let body_limit = multipart_body_limit(max_file_size);
    Router::new()
        .route(
            "/files",
            post(upload).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/files/{file_id}", get(download))
        .route("/files/{file_id}/info", get(info))
        .route("/files/{file_id}/thumbnail", get(thumbnail))
        .route("/files/{file_id}/preview", get(preview))
        .route("/files/{file_id}/link", get(link))
        .route("/posts/{post_id}/files/info", get(files_of_post))
}

/// `GET /files/{file_id}/public?h=…`, outside `/api/v4` and without a session.
pub fn public_router() -> Router<SharedState> {
    Router::new().route("/files/{file_id}/public", get(public_file))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct UploadQuery {
    channel_id: Option<String>,
    filename: Option<String>,
    client_id: Option<String>,
}

/// `POST /files`: 201 with the stored files' infos. Either every file of the request
/// is stored or none is.
async fn upload(
    State(state): State<SharedState>,
    auth: Auth,
    Query(query): Query<UploadQuery>,
    request: Request,
) -> AppResult<Response> {
    let limit = state.config.file_settings.max_file_size;
    let declared = declared_length(request.headers());
    if declared.is_some_and(|length| length > limit.saturating_add(FORM_OVERHEAD)) {
        drain(request.into_body()).await;
        return Err(Code::FileTooLarge.with_message(format!(
            "The upload is larger than the {limit} bytes this server accepts (FileSettings.MaxFileSize)."
        )));
    }
    let answer = if is_multipart(request.headers()) {
        let form = Multipart::from_request(request, &state)
            .await
            .map_err(|rejection| {
                Code::FileUploadUnreadable.with_message(format!(
                    "The upload is not a multipart form: {}",
                    rejection.body_text()
                ))
            })?;
        upload_form(&state, &auth, query, form).await?
    } else {
        if declared == Some(0) {
            return Err(Code::FileUploadUnreadable
                .with_message("The upload is empty: send the file as the request body (Content-Length should not be 0)."));
        }
        upload_raw(&state, &auth, query, request.into_body()).await?
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// The raw-body form: `?channel_id=…&filename=…` and the file as the body.
async fn upload_raw(
    state: &SharedState,
    auth: &Auth,
    query: UploadQuery,
    body: Body,
) -> AppResult<FileUploadResponse> {
    let mut chunks = body.into_data_stream();
    let result = async {
        let channel_id = query
            .channel_id
            .as_deref()
            .ok_or_else(|| AppError::invalid_url_param("channel_id"))?;
        let filename = query
            .filename
            .as_deref()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| AppError::invalid_url_param("filename"))?;
        let mut upload = state.begin_upload(auth.actor(), channel_id).await?;
        let mut file = upload.start_file(filename).await?;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| {
                Code::FileUploadUnreadable
                    .with_message(format!("The upload was cut off before its end: {e}"))
            })?;
            file.write(&chunk).await?;
        }
        upload.finish_file(file).await?;
        upload.commit().await
    }
    .await;
    match result {
        Ok(file_infos) => Ok(FileUploadResponse {
            file_infos,
            client_ids: query.client_id.into_iter().collect(),
        }),
        Err(err) => {
            drain_stream(chunks).await;
            Err(err)
        }
    }
}

/// The multipart form: `channel_id` (or `?channel_id=`) before the files, then file
/// parts under any name, and `client_ids` (one per file) before the first file.
async fn upload_form(
    state: &SharedState,
    auth: &Auth,
    query: UploadQuery,
    mut form: Multipart,
) -> AppResult<FileUploadResponse> {
    let mut channel_id = query.channel_id;
    let mut client_ids: Vec<String> = Vec::new();
    let mut upload: Option<Upload<'_>> = None;
    let result: AppResult<()> = async {
        while let Some(mut field) = form.next_field().await.map_err(form_error)? {
            let name = field.name().unwrap_or_default().to_string();
            if let Some(file_name) = field.file_name().map(str::to_string) {
                let Some(channel) = channel_id.as_deref() else {
                    return Err(Code::InvalidBody.with_message(
                        "Name the channel (the channel_id field, or ?channel_id=) before the files.",
                    ));
                };
                if upload.is_none() {
                    upload = Some(state.begin_upload(auth.actor(), channel).await?);
                }
                let upload = upload.as_mut().expect("just started");
                let mut file = upload.start_file(&file_name).await?;
                while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                    file.write(&chunk).await?;
                }
                upload.finish_file(file).await?;
                continue;
            }
            match name.as_str() {
                "channel_id" => {
                    let value = small_field(field).await?;
                    match &channel_id {
                        Some(existing) if *existing != value => {
                            return Err(Code::FileChannelIdsDiffer.into())
                        }
                        Some(_) => {}
                        None => channel_id = Some(value),
                    }
                }
                "client_ids" => {
                    if upload.as_ref().is_some_and(|u| !u.is_empty()) {
                        return Err(Code::InvalidBody
                            .with_message("client_ids must come before the files."));
                    }
                    client_ids.push(small_field(field).await?);
                }
                "" => {}
                other => {
                    return Err(Code::InvalidBody.with_message(format!(
                        "The upload has an unexpected field {other:?}: send channel_id, client_ids and files."
                    )))
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(err) = result {
        // Read what is left so that the client sees this answer.
        let _ = tokio::time::timeout(DRAIN_FOR, async {
            while let Ok(Some(mut field)) = form.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
        })
        .await;
        return Err(err);
    }
    let files = upload.as_ref().map_or(0, Upload::len);
    if !client_ids.is_empty() && client_ids.len() != files {
        return Err(Code::FileClientIdsCount.with_message(format!(
            "The upload names {} client_ids for {files} files.",
            client_ids.len()
        )));
    }
    let file_infos = match upload {
        Some(upload) => upload.commit().await?,
        None => Vec::new(),
    };
    Ok(FileUploadResponse {
        file_infos,
        client_ids,
    })
}

/// A short text field, refused past [`FORM_FIELD_MAX`] bytes.
async fn small_field(mut field: axum::extract::multipart::Field<'_>) -> AppResult<String> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(form_error)? {
        if value.len() + chunk.len() > FORM_FIELD_MAX {
            return Err(Code::InvalidBody.with_message(format!(
                "The form field {:?} is longer than {FORM_FIELD_MAX} bytes.",
                field.name().unwrap_or_default()
            )));
        }
        value.extend_from_slice(&chunk);
    }
    String::from_utf8(value)
        .map(|v| v.trim().to_string())
        .map_err(|_| Code::InvalidBody.with_message("A form field is not UTF-8 text."))
}

fn form_error(err: MultipartError) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Code::FileTooLarge.with_message(
            "The upload is larger than this server accepts (FileSettings.MaxFileSize).",
        )
    } else {
        Code::FileUploadUnreadable.with_message(format!(
            "The multipart form could not be read (cut off, or malformed): {}",
            err.body_text()
        ))
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct DownloadQuery {
    download: Option<String>,
}

impl DownloadQuery {
    /// Go's `strconv.ParseBool` truths, as Mattermost reads `download`.
    fn forced(&self) -> bool {
        matches!(
            self.download.as_deref(),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        )
    }
}

/// Streams a file with Mattermost's headers: shown in place only for media types,
/// never sniffed, never framed.
fn file_response(
    content: FileContent,
    content_type: &str,
    size: Option<i64>,
    download: bool,
) -> Response {
    let content_type = match content_type {
        "" => "application/octet-stream",
        t if t.starts_with("text/html") || t.contains("javascript") || t.contains("ecmascript") => {
            "text/plain"
        }
        t => t,
    };
    let inline = !download && INLINE_TYPES.contains(&content_type);
    let escaped = percent_encoding::utf8_percent_encode(
        &content.info.name,
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let disposition = format!(
        "{};filename=\"{escaped}\"; filename*=UTF-8''{escaped}",
        if inline { "inline" } else { "attachment" }
    );
    let part = content.part;
    if part == Part::Unsatisfiable {
        let mut response = AppError::from(Code::FileRangeNotSatisfiable).into_response();
        if let Some(Ok(value)) = size.map(|size| HeaderValue::from_str(&format!("bytes */{size}")))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        return response;
    }
    let body = Body::from_stream(
        content
            .chunks
            .map(|chunk| chunk.map_err(std::io::Error::other)),
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, content_type);
    set(header::CONTENT_DISPOSITION, &disposition);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CONTENT_SECURITY_POLICY, "Frame-ancestors 'none'");
    set(header::CACHE_CONTROL, "private, max-age=86400");
    match (part, size) {
        (Part::Bytes(first, last), Some(size)) => {
            set(header::ACCEPT_RANGES, "bytes");
            set(
                header::CONTENT_RANGE,
                &format!("bytes {first}-{last}/{size}"),
            );
            set(header::CONTENT_LENGTH, &(last - first + 1).to_string());
        }
        (_, Some(size)) => {
            set(header::ACCEPT_RANGES, "bytes");
            set(header::CONTENT_LENGTH, &size.to_string());
        }
        (_, None) => {}
    }
    if matches!(part, Part::Bytes(..)) {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    response
}

/// The single byte range a download asks for: none when there is no `Range`, when it is
/// not one range of bytes, or when `If-Range` is sent (Chorus gives files no validator
/// to compare, so such a client gets the whole file, as HTTP allows).
fn requested_range(headers: &HeaderMap) -> Option<ByteRange> {
    if headers.contains_key(header::IF_RANGE) {
        return None;
    }
    ByteRange::parse(headers.get(header::RANGE)?.to_str().ok()?)
}

async fn download(
    State(state): State<SharedState>,
    auth: Auth,
    Path(file_id): Path<String>,
    Query(query): Query<DownloadQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let content = state
        .file_content(auth.actor(), &file_id, requested_range(&headers))
        .await?;
    let (mime, size) = (content.info.mime_type.clone(), content.info.size);
    Ok(file_response(content, &mime, Some(size), query.forced()))
}

async fn info(
    State(state): State<SharedState>,
    auth: Auth,
    Path(file_id): Path<String>,
) -> AppResult<Json<FileInfo>> {
    state.file_info(auth.actor(), &file_id).await.map(Json)
}

/// Thumbnails and previews are PNG for PNG images, JPEG for the rest.
async fn image_of(
    state: &SharedState,
    auth: &Auth,
    file_id: &str,
    kind: BlobKind,
    query: &DownloadQuery,
) -> AppResult<Response> {
    let content = state.file_image(auth.actor(), file_id, kind).await?;
    let mime = if content.info.mime_type == "image/png" {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok(file_response(content, mime, None, query.forced()))
}

async fn thumbnail(
    State(state): State<SharedState>,
    auth: Auth,
    Path(file_id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> AppResult<Response> {
    image_of(&state, &auth, &file_id, BlobKind::Thumbnail, &query).await
}

async fn preview(
    State(state): State<SharedState>,
    auth: Auth,
    Path(file_id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> AppResult<Response> {
    image_of(&state, &auth, &file_id, BlobKind::Preview, &query).await
}

async fn link(
    State(state): State<SharedState>,
    auth: Auth,
    Path(file_id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<serde_json::Value>> {
    let site = site_of(&state.config, &headers);
    let link = state.file_link(auth.actor(), &file_id, &site).await?;
    Ok(Json(serde_json::json!({ "link": link })))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct PublicQuery {
    h: String,
}

async fn public_file(
    State(state): State<SharedState>,
    Path(file_id): Path<String>,
    Query(query): Query<PublicQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let content = state
        .public_file(&file_id, &query.h, requested_range(&headers))
        .await?;
    let (mime, size) = (content.info.mime_type.clone(), content.info.size);
    Ok(file_response(content, &mime, Some(size), false))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct FilesOfPostQuery {
    include_deleted: bool,
}

async fn files_of_post(
    State(state): State<SharedState>,
    auth: Auth,
    Path(post_id): Path<String>,
    Query(query): Query<FilesOfPostQuery>,
) -> AppResult<Json<Vec<FileInfo>>> {
    state
        .files_of_post(auth.actor(), &post_id, query.include_deleted)
        .await
        .map(Json)
}
