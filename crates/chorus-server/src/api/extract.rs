//! Extractors that turn every malformed request into Mattermost-shaped errors: JSON
//! bodies (any content type, since clients differ), query strings, path parameters,
//! and paging.

use crate::error::AppError;
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
                    AppError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "api.context.request_body_too_large.app_error",
                        "The request body is larger than this server accepts.",
                    )
                } else {
                    AppError::bad_request(
                        "api.context.invalid_body_param.app_error",
                        "The request body could not be read.",
                    )
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AppError::bad_request(
                "api.context.invalid_body_param.app_error",
                "The request body is empty; a JSON body is required.",
            ));
        }
        serde_json::from_slice(&bytes).map(Body).map_err(|err| {
            AppError::bad_request(
                "api.context.invalid_body_param.app_error",
                format!("The request body is not valid JSON for this request: {err}."),
            )
        })
    }
}

/// Query parameters; unknown ones are ignored, malformed known ones refused.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|rejection| {
                AppError::bad_request(
                    "api.context.invalid_url_param.app_error",
                    format!("Invalid query parameter: {}.", rejection.body_text()),
                )
            })
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|rejection| {
                AppError::bad_request(
                    "api.context.invalid_url_param.app_error",
                    format!("Invalid URL parameter: {}.", rejection.body_text()),
                )
            })
    }
}

pub const DEFAULT_PER_PAGE: i64 = 60;
pub const MAX_PER_PAGE: i64 = 200;

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
        Ok((self.page, self.per_page.clamp(1, MAX_PER_PAGE)))
    }
}

/// Checks a path or body id is shaped like an id, naming the parameter when not.
pub fn require_id(value: &str, name: &str) -> Result<(), AppError> {
    if chorus_model::is_valid_id(value) {
        Ok(())
    } else {
        Err(AppError::invalid_url_param(name))
    }
}
