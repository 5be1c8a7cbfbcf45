//! Extractors that turn every malformed request into Mattermost-shaped errors: JSON
//! bodies (any content type, since clients differ), query strings, path parameters,
//! and paging.
//!
//! Text with a NUL character (U+0000) is refused here, once for every handler:
//! PostgreSQL cannot store it in a TEXT column, so it would otherwise be a 500 on
//! PostgreSQL and silently stored on SQLite.

use crate::error::{AppError, Code};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A JSON request body. The content type is not checked: the official clients label
/// their bodies inconsistently, and the JSON itself is what matters.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Code::BodyTooLarge
                        .with_message("The request body is larger than this server accepts.")
                } else {
                    Code::InvalidBody.with_message("The request body could not be read.")
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Code::InvalidBody
                .with_message("The request body is empty; a JSON body is required."));
        }
        if json_encodes_nul(&bytes) {
            return Err(Code::InvalidBody.with_message(
                "The request body contains a NUL character (\\u0000), which cannot be stored.",
            ));
        }
        serde_json::from_slice(&bytes).map(Body).map_err(|err| {
            Code::InvalidBody.with_message(format!(
                "The request body is not valid JSON for this request: {err}."
            ))
        })
    }
}

/// True when a JSON text carries U+0000, which JSON can only spell `\u0000`. Escapes
/// are walked whole, so the text `\\u0000` (an escaped backslash) is not one.
fn json_encodes_nul(json: &[u8]) -> bool {
    let mut at = 0;
    while at < json.len() {
        if json[at] == b'\\' {
            if json[at + 1..].starts_with(b"u0000") {
                return true;
            }
            at += 2;
        } else {
            at += 1;
        }
    }
    false
}

/// True when a URL part percent-encodes a NUL character.
fn url_encodes_nul(part: &str) -> bool {
    part.contains("%00")
}

/// Query parameters; unknown ones are ignored, malformed known ones refused.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        if parts.uri.query().is_some_and(url_encodes_nul) {
            return Err(Code::InvalidUrlParam
                .with_message("Invalid query parameter: it contains a NUL character."));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|rejection| {
                Code::InvalidUrlParam.with_message(format!(
                    "Invalid query parameter: {}.",
                    rejection.body_text()
                ))
            })
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        if url_encodes_nul(parts.uri.path()) {
            return Err(Code::InvalidUrlParam
                .with_message("Invalid URL parameter: it contains a NUL character."));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|rejection| {
                Code::InvalidUrlParam
                    .with_message(format!("Invalid URL parameter: {}.", rejection.body_text()))
            })
    }
}

pub use crate::app::validate::{DEFAULT_PER_PAGE, MAX_PER_PAGE};

/// `page` and `per_page`, clamped as Mattermost clamps them.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            page: 0,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl Paging {
    pub fn validated(&self) -> Result<(i64, i64), AppError> {
        if self.page < 0 {
            return Err(AppError::invalid_url_param("page"));
        }
        if self.per_page < 0 {
            return Err(AppError::invalid_url_param("per_page"));
        }
        let per_page = self.per_page.clamp(1, MAX_PER_PAGE);
        // `page * per_page` becomes an SQL OFFSET: it must not overflow.
        if self.page.checked_mul(per_page).is_none() {
            return Err(AppError::invalid_url_param("page"));
        }
        Ok((self.page, per_page))
    }
}

/// Paging of a list that a team or a channel may narrow (`team_id`, `channel_id`,
/// empty when not given). Flat, not a flattened [`Paging`]: query strings are text,
/// which flattening does not parse into numbers.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct ScopedPaging {
    pub team_id: String,
    pub channel_id: String,
    pub page: i64,
    pub per_page: i64,
}

impl Default for ScopedPaging {
    fn default() -> Self {
        let paging = Paging::default();
        ScopedPaging {
            team_id: String::new(),
            channel_id: String::new(),
            page: paging.page,
            per_page: paging.per_page,
        }
    }
}

impl ScopedPaging {
    pub fn paging(&self) -> Paging {
        Paging {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// Whether a request's body is a multipart form (bundle and file uploads).
/// Room for the multipart framing (boundaries, part headers, small fields) around an
/// upload's content.
pub const FORM_OVERHEAD: u64 = 64 * 1024;

/// The body limit of a multipart route whose content may be `max_content` bytes.
pub fn multipart_body_limit(max_content: u64) -> usize {
    usize::try_from(max_content.saturating_add(FORM_OVERHEAD)).unwrap_or(usize::MAX)
}

/// How long a refused upload's remaining body is read (and thrown away) so that the
/// client, still sending, gets the error instead of a reset connection.
pub const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// The `Content-Length` a request declares, if any.
pub fn declared_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Reads and throws away what is left of a refused request's body, for a while.
pub async fn drain(body: axum::body::Body) {
    drain_stream(body.into_data_stream()).await;
}

pub async fn drain_stream(mut chunks: axum::body::BodyDataStream) {
    use futures_util::StreamExt;
    let _ = tokio::time::timeout(DRAIN_FOR, async {
        while let Some(Ok(_)) = chunks.next().await {}
    })
    .await;
}

pub fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// The site a link points at: `ServiceSettings.SiteURL`, or where this request came
/// (`X-Forwarded-Proto` https or http, and `Host`).
pub fn site_of(config: &crate::config::Config, headers: &axum::http::HeaderMap) -> String {
    let configured = config.service_settings.site_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("X-Forwarded-Proto")
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| p == "https")
        .unwrap_or_else(|| "http".into());
    let host = header("Host").unwrap_or("localhost");
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not() {
        assert!(json_encodes_nul(br#"{"message":"a\u0000b"}"#));
        assert!(json_encodes_nul(br#"["\\\u0000"]"#));
        assert!(!json_encodes_nul(br#"{"message":"code: \\u0000"}"#));
        assert!(!json_encodes_nul(br#"{"message":"\u0001 and \n"}"#));
        assert!(!json_encodes_nul(br#"{"trailing":"\"#));
    }

    #[test]
    fn paging_offsets_never_overflow() {
        let paging = |page, per_page| Paging { page, per_page }.validated();
        assert_eq!(paging(2, 500).unwrap(), (2, MAX_PER_PAGE));
        assert_eq!(paging(0, 0).unwrap(), (0, 1));
        assert!(paging(i64::MAX, 2).is_err());
        assert!(paging(-1, 2).is_err());
    }
}
