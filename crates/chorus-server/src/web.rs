//! The web app and System Console (`web/app`), shipped inside the binary.
//!
//! Files are served at `/static/<path>` (and the emoji table at `/static/emoji.json`); every other browser navigation outside the
//! API and plugin routes gets `index.html`, which routes on the client. Release builds
//! embed the files; debug builds read them from disk at each request (rust-embed's
//! behaviour), so the web app can be edited without rebuilding the server.
//!
//! Assets are revalidated with an ETag (the file's SHA-256) rather than cached for a
//! fixed time: an upgraded server must never run a page against stale scripts.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use sha2::Digest;

#[derive(RustEmbed)]
#[folder = "../../web/app/"]
struct WebApp;

/// `GET /static/{*file}`.
pub async fn static_file(
    axum::extract::Path(file): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&file, &headers).unwrap_or_else(|| {
        crate::error::AppError::from(crate::error::Code::RouteNotFound).into_response()
    })
}

/// Whether `request` is a page load the web app should answer: a GET or HEAD of a
/// path that belongs to no API, plugin or asset route.
pub fn is_page_navigation(request: &Request) -> bool {
    let path = request.uri().path();
    (request.method() == Method::GET || request.method() == Method::HEAD)
        && !["/api/", "/plugins/", "/static/"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
}

/// The page's policy: scripts only from this server (the app's modules and plugin web
/// bundles under `/static`), so that injected markup can never run code; inline styles
/// stay allowed because plugin bundles set them.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

/// `index.html`, for any page navigation.
pub fn index_page(headers: &HeaderMap) -> Response {
    serve("index.html", headers).unwrap_or_else(|| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the web app is missing from this build",
        )
            .into_response()
    })
}

fn serve(path: &str, request_headers: &HeaderMap) -> Option<Response> {
    let file = WebApp::get(path)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let content_type = if mime.type_() == "text" || mime.subtype() == "javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    let mut response = respond(
        file.data.into_owned(),
        &etag,
        &content_type,
        request_headers,
    );
    if path == "index.html" {
        let headers = response.headers_mut();
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    Some(response)
}

/// An asset's answer: its body, or 304 when the client holds this `etag` already.
fn respond(body: Vec<u8>, etag: &str, content_type: &str, request_headers: &HeaderMap) -> Response {
    let not_modified = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /static/emoji.json`: every system emoji's shortcodes and its glyph,
/// `{"smile": "😄", "+1": "👍", …}`, from the same emoji data the server checks
/// reactions and statuses against, so the web app shows exactly what the server
/// accepts. Built once.
pub async fn emoji_table(headers: HeaderMap) -> Response {
    static TABLE: std::sync::OnceLock<(Vec<u8>, String)> = std::sync::OnceLock::new();
    let (body, etag) = TABLE.get_or_init(|| {
        let table: serde_json::Map<String, serde_json::Value> = emojis::iter()
            .flat_map(|emoji| {
                emoji
                    .shortcodes()
                    .map(move |code| (code.to_string(), emoji.as_str().into()))
            })
            .collect();
        let body = serde_json::Value::Object(table).to_string().into_bytes();
        let digest = sha2::Sha256::digest(&body);
        (body, format!("\"{}\"", hex(&digest[..12])))
    });
    respond(body.clone(), etag, "application/json", &headers)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
