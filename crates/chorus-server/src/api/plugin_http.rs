//! HTTP for plugins: `/plugins/{id}/…` streamed to the plugin's `ServeHTTP` hook, and
//! the plugin web bundles under `/static/plugins/{id}/…`.
//!
//! Identity is the server's to assert: any client-sent `Mattermost-User-Id` or
//! `Mattermost-Plugin-ID` header is dropped, and `Mattermost-User-Id` is set only for a
//! valid session (a cookie-authenticated write must also pass the CSRF check). The
//! session token itself (the `Authorization` header, the `MMAUTHTOKEN` cookie, the
//! `access_token` query parameter) never reaches the plugin.

use super::auth::{csrf_ok, token_from_parts, TokenSource, AUTH_COOKIE};
use crate::app::sessions::session_for_token;
use crate::error::{AppError, Code};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chorus_model::PluginState;
use chorus_plugin_protocol::hooks::Hook;
use chorus_plugin_protocol::v1;
use futures_util::StreamExt;
use std::path::{Component, Path};
use std::sync::Arc;
use std::time::Duration;

pub const USER_ID_HEADER: &str = "Mattermost-User-Id";
pub const PLUGIN_ID_HEADER: &str = "Mattermost-Plugin-ID";
/// Request bodies sent to a plugin are cut off past this size.
const MAX_PLUGIN_REQUEST_BODY: usize = 50 * 1024 * 1024;
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "proxy-connection",
];

fn plugin_not_found(plugin_id: &str) -> AppError {
    Code::PluginNotFound.with_message(format!("No plugin with id {plugin_id:?} is installed."))
}

/// `/plugins/{id}` and `/plugins/{id}/{*rest}`.
pub async fn serve_plugin_http(State(state): State<Arc<AppState>>, request: Request) -> Response {
    match proxy(&state, request).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn proxy(state: &Arc<AppState>, request: Request) -> Result<Response, AppError> {
    let (mut parts, body) = request.into_parts();
    let full_path = parts.uri.path().to_string();
    let after_prefix = full_path.strip_prefix("/plugins/").unwrap_or_default();
    let (plugin_id, rest) = match after_prefix.find('/') {
        Some(at) => (&after_prefix[..at], &after_prefix[at..]),
        None => (after_prefix, "/"),
    };
    let slot = state
        .plugins
        .slot(plugin_id)
        .ok_or_else(|| plugin_not_found(plugin_id))?;
    let Some(running) = slot.running() else {
        return Err(Code::PluginNotRunning.with_message(format!(
            "The plugin {plugin_id:?} is installed but not running."
        )));
    };
    if !running.implements(Hook::ServeHttp) {
        return Err(Code::PluginNoHttp
            .with_message(format!("The plugin {plugin_id:?} does not serve HTTP.")));
    }
    let user_id = authenticated_user(state, &parts).await;
    let headers = forwarded_headers(&mut parts.headers, user_id.as_deref());
    let head = v1::HttpRequestHead {
        method: parts.method.to_string(),
        path: rest.to_string(),
        query: query_without_token(parts.uri.query().unwrap_or_default()),
        headers,
        user_id: user_id.unwrap_or_default(),
    };
    let first = v1::HttpRequestPart {
        head: Some(head),
        body: Vec::new(),
    };
    let body_parts = body.into_data_stream().scan(0usize, |sent, chunk| {
        let next = match chunk {
            Ok(bytes) if *sent + bytes.len() <= MAX_PLUGIN_REQUEST_BODY => {
                *sent += bytes.len();
                Some(v1::HttpRequestPart {
                    head: None,
                    body: bytes.to_vec(),
                })
            }
            _ => None,
        };
        futures_util::future::ready(next)
    });
    let outgoing = futures_util::stream::once(futures_util::future::ready(first)).chain(body_parts);
    let deadline = Duration::from_secs(state.plugins.settings().http_timeout_seconds.max(1));
    let mut hooks = running.hooks.clone();
    let plugin_failed = |reason: String| {
        tracing::warn!(plugin_id, %reason, "plugin ServeHTTP failed");
        Code::PluginHttpFailed.with_message(format!(
            "The plugin {plugin_id:?} failed to answer: {reason}"
        ))
    };
    let timed_out = || {
        Code::PluginHttpTimeout.with_message(format!(
            "The plugin {plugin_id:?} did not answer within {} s.",
            deadline.as_secs()
        ))
    };
    let mut incoming = tokio::time::timeout(deadline, hooks.serve_http(outgoing))
        .await
        .map_err(|_| timed_out())?
        .map_err(|status| plugin_failed(status.message().to_string()))?
        .into_inner();
    let first = tokio::time::timeout(deadline, incoming.message())
        .await
        .map_err(|_| timed_out())?
        .map_err(|status| plugin_failed(status.message().to_string()))?
        .ok_or_else(|| plugin_failed("it ended the response without a status".into()))?;
    let head = first
        .head
        .ok_or_else(|| plugin_failed("its first response part had no status".into()))?;
    // 1xx would be taken as an interim answer or a protocol switch (101 hands the
    // client's connection over); a plugin answers with a final status only.
    let status = StatusCode::from_u16(head.status as u16)
        .ok()
        .filter(|status| !status.is_informational())
        .ok_or_else(|| plugin_failed(format!("it answered with status {}", head.status)))?;
    let mut response_headers = HeaderMap::new();
    for h in head.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::try_from(h.name.as_str()),
            HeaderValue::try_from(h.value.as_str()),
        ) else {
            continue;
        };
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response_headers.append(name, value);
        }
    }
    let initial = futures_util::stream::once(futures_util::future::ready(Ok::<_, std::io::Error>(
        Bytes::from(first.body),
    )));
    let rest = futures_util::stream::unfold(incoming, |mut incoming| async move {
        match incoming.message().await {
            Ok(Some(part)) => Some((Ok(Bytes::from(part.body)), incoming)),
            Ok(None) => None,
            Err(status) => Some((
                Err(std::io::Error::other(status.message().to_string())),
                incoming,
            )),
        }
    });
    let mut response = Response::new(Body::from_stream(initial.chain(rest)));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    Ok(response)
}

/// The query string without `access_token` parameters: the session token is the
/// server's, never the plugin's (as the header and the cookie are not passed on).
fn query_without_token(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            !pair.is_empty() && name != "access_token"
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The user of a valid session, if the request carries one that may act here.
async fn authenticated_user(
    state: &AppState,
    parts: &axum::http::request::Parts,
) -> Option<String> {
    let (token, source) = token_from_parts(parts)?;
    let auth = session_for_token(state, &token).await.ok()?;
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if source == TokenSource::Cookie && !safe && !csrf_ok(parts, &auth.session) {
        return None;
    }
    Some(auth.user.id)
}

/// The headers the plugin sees: identity headers removed (and set from the session),
/// credentials removed.
fn forwarded_headers(headers: &mut HeaderMap, user_id: Option<&str>) -> Vec<v1::Header> {
    headers.remove(USER_ID_HEADER);
    headers.remove(PLUGIN_ID_HEADER);
    headers.remove(header::AUTHORIZATION);
    let cookies: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !pair.starts_with(&format!("{AUTH_COOKIE}=")))
        .map(str::to_string)
        .collect();
    headers.remove(header::COOKIE);
    let mut forwarded: Vec<v1::Header> = headers
        .iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some(v1::Header {
                name: name.to_string(),
                value: value.to_str().ok()?.to_string(),
            })
        })
        .collect();
    if !cookies.is_empty() {
        forwarded.push(v1::Header {
            name: "cookie".into(),
            value: cookies.join("; "),
        });
    }
    if let Some(user_id) = user_id {
        forwarded.push(v1::Header {
            name: USER_ID_HEADER.into(),
            value: user_id.to_string(),
        });
    }
    forwarded
}

/// `/static/plugins/{id}/{*file}`: files beside the web bundle of a running plugin.
pub async fn serve_webapp_file(
    State(state): State<Arc<AppState>>,
    axum::extract::Path((plugin_id, file)): axum::extract::Path<(String, String)>,
) -> Response {
    let not_found = || {
        Code::PluginWebappFile
            .with_message("No such plugin web file.")
            .into_response()
    };
    let Some(slot) = state.plugins.slot(&plugin_id) else {
        return not_found();
    };
    let Some(webapp) = slot.manifest.webapp.as_ref() else {
        return not_found();
    };
    if slot.status().0 != PluginState::Running {
        return not_found();
    }
    let relative = Path::new(&file);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return not_found();
    }
    let bundle_dir = Path::new(&webapp.bundle_path)
        .parent()
        .unwrap_or(Path::new(""));
    let path = slot.path.join(bundle_dir).join(relative);
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let content_type = match path.extension().and_then(|e| e.to_str()) {
                Some("js" | "mjs") => "application/javascript",
                Some("css") => "text/css",
                Some("json") => "application/json",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("html") => "text/html; charset=utf-8",
                _ => "application/octet-stream",
            };
            (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) => not_found(),
    }
}

/// Where a plugin's web bundle is served.
pub fn webapp_bundle_url(plugin_id: &str, bundle_path: &str) -> String {
    let file = Path::new(bundle_path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("/static/plugins/{plugin_id}/{file}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn access_tokens_are_cut_from_the_query() {
        assert_eq!(super::query_without_token("access_token=abc"), "");
        assert_eq!(
            super::query_without_token("a=1&access_token=abc&b=2&access_token"),
            "a=1&b=2"
        );
        assert_eq!(
            super::query_without_token("x_access_token=1"),
            "x_access_token=1"
        );
    }
}
