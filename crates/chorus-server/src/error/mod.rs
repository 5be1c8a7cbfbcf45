//! The server's error type: every failure the domain layer or a front door can return,
//! built from one [`Code`] of the table in `codes`, and turned into Mattermost's error
//! JSON with the code's HTTP status (or, for plugins, its gRPC status). Store errors are
//! logged with their detail and reach the client only as a generic message, so database
//! text never leaks.

use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chorus_model::ApiError;

mod codes;
pub use codes::Code;

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
    /// A failure the client caused or must know about: its code (Mattermost id and
    /// statuses), and a message a person understands.
    #[error("{message}")]
    Api {
        code: Code,
        message: String,
        detail: String,
        /// Seconds the client should wait before trying again (`Retry-After`).
        retry_after: Option<u64>,
    },
    #[error("database error: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl Code {
    /// This code with a message saying more than the table's default.
    pub fn with_message(self, message: impl Into<String>) -> AppError {
        AppError::Api {
            code: self,
            message: message.into(),
            detail: String::new(),
            retry_after: None,
        }
    }
}

impl From<Code> for AppError {
    fn from(code: Code) -> AppError {
        code.with_message(code.message())
    }
}

impl AppError {
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

    /// A request body field that is missing or wrong.
    pub fn invalid_param(name: &str) -> Self {
        Code::InvalidParam.with_message(format!("Invalid or missing {name} in request body."))
    }

    /// A path or query parameter that is missing or wrong.
    pub fn invalid_url_param(name: &str) -> Self {
        Code::InvalidUrlParam.with_message(format!(
            "Invalid or missing {name} parameter in request URL."
        ))
    }

    /// A permission refused, saying which.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Code::Forbidden.with_message(message)
    }

    /// The code this error reports.
    pub fn code(&self) -> Code {
        match self {
            AppError::Api { code, .. } => *code,
            AppError::Store(err) if err.is_outage() => Code::StoreUnavailable,
            AppError::Store(_) => Code::StoreFailed,
            AppError::Internal(_) => Code::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    /// What a person is told: the call site's message, or the code's own for failures
    /// whose detail must not leak.
    pub fn message(&self) -> String {
        match self {
            AppError::Api { message, .. } => message.clone(),
            _ => self.code().message().to_string(),
        }
    }

    pub fn to_api_error(&self) -> ApiError {
        let code = self.code();
        let detail = match self {
            AppError::Api { detail, .. } => detail.clone(),
            _ => String::new(),
        };
        ApiError {
            id: code.id().to_string(),
            message: self.message(),
            detailed_error: detail,
            request_id: current_request_id(),
            status_code: code.status().as_u16(),
        }
    }

    /// The same failure as a plugin API caller sees it.
    pub fn to_grpc_status(&self) -> tonic::Status {
        tonic::Status::new(self.code().grpc(), self.message())
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
