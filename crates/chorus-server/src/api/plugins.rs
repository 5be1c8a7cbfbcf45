//! `/plugins` over REST: reading bundle uploads (multipart, size-capped) and the
//! admin operations of `app::plugins_admin`. Routing of `/plugins/{id}/…`
//! to plugins themselves lives in `api::plugin_http`.

use super::extract::{is_multipart, Path};
use super::SharedState;
use crate::app::Auth;
use crate::error::{AppResult, Code};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chorus_model::{PluginStatus, PluginsResponse, StatusOk, WebappPlugin};

pub fn router(max_bundle_bytes: usize) -> Router<SharedState> {
    Router::new()
        .route(
            "/plugins",
            post(upload)
                .layer(DefaultBodyLimit::max(
                    max_bundle_bytes.saturating_add(64 * 1024),
                ))
                .get(list),
        )
        .route("/plugins/statuses", get(statuses))
        .route("/plugins/webapp", get(webapp))
        .route("/plugins/{plugin_id}", delete(remove))
        .route("/plugins/{plugin_id}/enable", post(enable))
        .route("/plugins/{plugin_id}/disable", post(disable))
}

/// Multipart `plugin` (the bundle) and optional `force` ("true" to replace).
async fn upload(
    State(state): State<SharedState>,
    auth: Auth,
    request: axum::extract::Request,
) -> AppResult<impl IntoResponse> {
    use axum::extract::FromRequest;
    let form = if is_multipart(request.headers()) {
        Multipart::from_request(request, &state)
            .await
            .map_err(|rejection| rejection.body_text())
    } else {
        // Read the (size-capped) body before answering, as below.
        let limit = state.plugins.settings().max_bundle_size_bytes as usize;
        let _ = axum::body::to_bytes(request.into_body(), limit).await;
        Err("the request is not multipart/form-data".to_string())
    };
    let refusal = state.may_upload_plugins(auth.actor());
    let mut form = match (form, refusal) {
        (Ok(mut form), Err(refusal)) => {
            // Read the (size-capped) upload before answering: a client still sending
            // its bundle would otherwise see a reset connection instead of this error.
            while let Ok(Some(field)) = form.next_field().await {
                let _ = field.bytes().await;
            }
            return Err(refusal);
        }
        (Err(_), Err(refusal)) => return Err(refusal),
        (Err(rejection), Ok(())) => {
            return Err(Code::PluginUploadMultipart.with_message(format!(
                "Upload the bundle as a multipart form with a part named \"plugin\": {rejection}"
            )))
        }
        (Ok(form), Ok(())) => form,
    };
    let mut bundle = None;
    let mut force = false;
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Code::PluginBundleTooLarge
                .with_message("The bundle is larger than PluginSettings.MaxBundleSizeBytes.")
        } else {
            Code::PluginUploadMultipart.with_message(format!(
                "The upload is not a valid multipart form: {}",
                e.body_text()
            ))
        }
    };
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        match field.name().unwrap_or_default() {
            "plugin" => bundle = Some(field.bytes().await.map_err(malformed)?.to_vec()),
            "force" => force = field.text().await.map_err(malformed)?.trim() == "true",
            _ => {}
        }
    }
    let bundle = bundle.ok_or_else(|| {
        Code::PluginUploadFile.with_message(
            "The multipart form needs a part named \"plugin\" holding the .tar.gz bundle.",
        )
    })?;
    let manifest = state.install_plugin(auth.actor(), bundle, force).await?;
    Ok((StatusCode::CREATED, Json(manifest)))
}

async fn list(State(state): State<SharedState>, auth: Auth) -> AppResult<Json<PluginsResponse>> {
    state.list_plugins(auth.actor()).map(Json)
}

async fn statuses(
    State(state): State<SharedState>,
    auth: Auth,
) -> AppResult<Json<Vec<PluginStatus>>> {
    state.plugin_statuses(auth.actor()).await.map(Json)
}

/// Web bundles of running plugins; public, since the web app loads them before login.
async fn webapp(State(state): State<SharedState>) -> Json<Vec<WebappPlugin>> {
    Json(state.plugin_web_bundles(super::plugin_http::webapp_bundle_url))
}

async fn enable(
    State(state): State<SharedState>,
    auth: Auth,
    Path(plugin_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    state.enable_plugin(auth.actor(), &plugin_id).await?;
    Ok(Json(StatusOk::default()))
}

async fn disable(
    State(state): State<SharedState>,
    auth: Auth,
    Path(plugin_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    state.disable_plugin(auth.actor(), &plugin_id).await?;
    Ok(Json(StatusOk::default()))
}

async fn remove(
    State(state): State<SharedState>,
    auth: Auth,
    Path(plugin_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    state.remove_plugin(auth.actor(), &plugin_id).await?;
    Ok(Json(StatusOk::default()))
}
