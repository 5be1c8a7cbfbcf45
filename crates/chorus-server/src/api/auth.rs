//! Authentication at the HTTP door: finding the session token of a request (the
//! `Authorization` header with a `Bearer` or `Token` scheme in any case, the
//! `access_token` query parameter, or the `MMAUTHTOKEN` cookie), handing it to
//! `app::sessions`, and CSRF protection for cookie-authenticated writes.
//!
//! CSRF: a browser attaches cookies to cross-site requests but cannot add custom
//! headers to them without a CORS preflight this server never grants. A cookie-
//! authenticated write therefore needs `X-CSRF-Token` equal to the session's token (the
//! `MMCSRF` cookie), or `X-Requested-With: XMLHttpRequest`, which the official client
//! always sends (Mattermost's non-strict mode accepts the same two).

use super::SharedState;
use crate::app::sessions::session_error;
use crate::app::sessions::session_for_token;
pub use crate::app::Auth;
use crate::error::{AppError, Code};
use crate::store::Session;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

pub const AUTH_COOKIE: &str = "MMAUTHTOKEN";
pub const USER_COOKIE: &str = "MMUSERID";
pub const CSRF_COOKIE: &str = "MMCSRF";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Header,
    Query,
    Cookie,
}

/// The first session token the request carries, and where it came from.
pub fn token_from_parts(parts: &Parts) -> Option<(String, TokenSource)> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
            let token = token.trim();
            if !token.is_empty() {
                return Some((token.to_string(), TokenSource::Header));
            }
        }
        return None;
    }
    if let Some(query) = parts.uri.query() {
        for pair in query.split('&') {
            if let Some(token) = pair.strip_prefix("access_token=") {
                if !token.is_empty() {
                    return Some((token.to_string(), TokenSource::Query));
                }
            }
        }
    }
    cookie(&parts.headers, AUTH_COOKIE).map(|token| (token, TokenSource::Cookie))
}

/// The value of cookie `name`. Cookie parsing is a split on `;` and `=`: too small a
/// job for a dependency.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

pub fn csrf_ok(parts: &Parts, session: &Session) -> bool {
    if session.csrf_token.is_empty() {
        // An access token has no CSRF token; a cookie carrying one is no login.
        return false;
    }
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    header("X-CSRF-Token") == session.csrf_token || header("X-Requested-With") == "XMLHttpRequest"
}

impl FromRequestParts<SharedState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, AppError> {
        let (token, source) = token_from_parts(parts).ok_or_else(session_error)?;
        let auth = session_for_token(state, &token).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if source == TokenSource::Cookie && !safe && !csrf_ok(parts, &auth.session) {
            return Err(Code::CsrfCheckFailed.into());
        }
        Ok(auth)
    }
}

/// Authentication where it is optional (sign-up): a request without a token is
/// anonymous, but a request with a bad one is still refused.
pub struct MaybeAuth(pub Option<Auth>);

impl FromRequestParts<SharedState> for MaybeAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, AppError> {
        if token_from_parts(parts).is_none() {
            return Ok(MaybeAuth(None));
        }
        Auth::from_request_parts(parts, state)
            .await
            .map(|a| MaybeAuth(Some(a)))
    }
}
