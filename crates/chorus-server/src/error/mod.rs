//! The server's error type: every failure a handler can return, turned into Mattermost's
//! error JSON with the right HTTP status. Store errors are logged with their detail and
//! reach the client only as a generic message, so database text never leaks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chorus_model::ApiError;

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware so that
    /// errors built deep inside a handler can still report it.
    pub static REQUEST_ID: String;
}

/// The current request's id, or empty outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(|id| id.clone()).unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A failure the client caused or must know about: status, Mattermost-style error id
    /// and a message a person understands.
    #[error("{message}")]
    Api {
        status: StatusCode,
        id: &'static str,
        message: String,
        detail: String,
        /// Seconds the client should wait before trying again (`Retry-After`).
        retry_after: Option<u64>,
    },
    #[error("database error: {0}")]
    Store(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(status: StatusCode, id: &'static str, message: impl Into<String>) -> Self {
        AppError::Api {
            status,
            id,
            message: message.into(),
            detail: String::new(),
            retry_after: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        if let AppError::Api { detail: slot, .. } = &mut self {
            *slot = detail.into();
        }
        self
    }

    /// Asks the client to wait `seconds` before retrying (at least one).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        if let AppError::Api { retry_after, .. } = &mut self {
            *retry_after = Some(seconds.max(1));
        }
        self
    }

    pub fn bad_request(id: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, id, message)
    }

    pub fn invalid_param(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "api.context.invalid_param.app_error",
            format!("Invalid or missing {name} in request body."),
        )
    }

    pub fn invalid_url_param(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "api.context.invalid_url_param.app_error",
            format!("Invalid or missing {name} parameter in request URL."),
        )
    }

    pub fn unauthorized(id: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, id, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
            message,
        )
    }

    pub fn not_found(id: &'static str, what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            id,
            format!("Unable to find the {what}."),
        )
    }

    pub fn conflict(id: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, id, message)
    }

    pub fn not_implemented(id: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, id, message)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Api { status, .. } => *status,
            AppError::Store(sqlx::Error::PoolTimedOut)
            | AppError::Store(sqlx::Error::Io(_))
            | AppError::Store(sqlx::Error::PoolClosed) => StatusCode::SERVICE_UNAVAILABLE,
            // PostgreSQL shutting down or restarting ("57P…") and broken connections
            // ("08…") are outages, not bugs: the client should retry.
            AppError::Store(sqlx::Error::Database(err))
                if err
                    .code()
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) =>
            {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn to_api_error(&self) -> ApiError {
        let status = self.status();
        let (id, message, detail) = match self {
            AppError::Api {
                id,
                message,
                detail,
                ..
            } => (id.to_string(), message.clone(), detail.clone()),
            AppError::Store(_) if status == StatusCode::SERVICE_UNAVAILABLE => (
                "app.store.unavailable.app_error".into(),
                "The database is not reachable right now; try again shortly.".into(),
                String::new(),
            ),
            AppError::Store(_) => (
                "app.store.error.app_error".into(),
                "The server could not complete the request because of a database error.".into(),
                String::new(),
            ),
            AppError::Internal(_) => (
                "app.internal.app_error".into(),
                "The server hit an internal error.".into(),
                String::new(),
            ),
        };
        ApiError {
            id,
            message,
            detailed_error: detail,
            request_id: current_request_id(),
            status_code: status.as_u16(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, request_id = %current_request_id(), "request failed");
        }
        let retry_after = match &self {
            AppError::Api { retry_after, .. } => *retry_after,
            _ => None,
        };
        let mut response = (status, axum::Json(self.to_api_error())).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// True when a store error is a unique-constraint violation (a duplicate name, say).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
