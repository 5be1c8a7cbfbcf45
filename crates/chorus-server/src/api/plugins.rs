//! `/plugins`: installing, enabling, disabling and removing plugins (system admins),
//! for the whole cluster whichever node is asked; their statuses, one per plugin per
//! node; and the list of web bundles (anyone). Routing of `/plugins/{id}/…`
//! to plugins themselves lives in `plugins::http`.

use super::auth::Auth;
use super::extract::Path;
use super::permissions::require_admin;
use super::SharedState;
use crate::error::{AppError, AppResult};
use crate::plugins::bundle::BundleError;
use crate::plugins::PluginError;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chorus_model::{plugin_state, PluginStatus, PluginsResponse, StatusOk, WebappPlugin};

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

impl From<PluginError> for AppError {
    fn from(err: PluginError) -> AppError {
        let message = err.to_string();
        match err {
            PluginError::Disabled => {
                AppError::not_implemented("app.plugin.disabled.app_error", message)
            }
            PluginError::UploadsDisabled => {
                AppError::not_implemented("app.plugin.upload_disabled.app_error", message)
            }
            PluginError::UploadsRefusedInCluster => {
                AppError::not_implemented("app.plugin.cluster.upload_disabled.app_error", message)
            }
            PluginError::NotFound(_) => AppError::new(
                StatusCode::NOT_FOUND,
                "app.plugin.not_installed.app_error",
                message,
            ),
            PluginError::Bundle(BundleError::AlreadyInstalled(_)) => {
                AppError::bad_request("app.plugin.install_id.app_error", message)
            }
            PluginError::Bundle(BundleError::Io(_)) => {
                tracing::error!(error = %message, "plugin install failed on the file system");
                AppError::Internal(message)
            }
            PluginError::Bundle(BundleError::TooLarge(_)) => AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "app.plugin.bundle_too_large.app_error",
                message,
            ),
            PluginError::Bundle(_) => {
                AppError::bad_request("app.plugin.extract.app_error", message)
            }
            PluginError::Store(err) => AppError::Store(err),
            PluginError::Internal(message) => AppError::Internal(message),
        }
    }
}

fn require_plugins(state: &SharedState) -> AppResult<()> {
    if state.plugins.enabled() {
        Ok(())
    } else {
        Err(PluginError::Disabled.into())
    }
}

fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .iter()
        .find(|(name, _)| *name == axum::http::header::CONTENT_TYPE)
        .and_then(|(_, v)| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
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
    let refusal = require_admin(&auth)
        .and_then(|_| require_plugins(&state))
        .and_then(|_| {
            let settings = state.plugins.settings();
            if !settings.enable_uploads {
                Err(PluginError::UploadsDisabled.into())
            } else if state.bus.is_some() && !settings.allow_uploads_in_cluster {
                Err(PluginError::UploadsRefusedInCluster.into())
            } else {
                Ok(())
            }
        });
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
            return Err(AppError::bad_request(
                "api.plugin.upload.multipart.app_error",
                format!(
                "Upload the bundle as a multipart form with a part named \"plugin\": {rejection}"
            ),
            ))
        }
        (Ok(form), Ok(())) => form,
    };
    let mut bundle = None;
    let mut force = false;
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "app.plugin.bundle_too_large.app_error",
                "The bundle is larger than PluginSettings.MaxBundleSizeBytes.",
            )
        } else {
            AppError::bad_request(
                "api.plugin.upload.multipart.app_error",
                format!(
                    "The upload is not a valid multipart form: {}",
                    e.body_text()
                ),
            )
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
        AppError::bad_request(
            "api.plugin.upload.file.app_error",
            "The multipart form needs a part named \"plugin\" holding the .tar.gz bundle.",
        )
    })?;
    let manifest = state.plugins.install(&state.store, bundle, force).await?;
    Ok((StatusCode::CREATED, Json(manifest)))
}

async fn list(State(state): State<SharedState>, auth: Auth) -> AppResult<Json<PluginsResponse>> {
    require_admin(&auth)?;
    require_plugins(&state)?;
    let mut response = PluginsResponse::default();
    for slot in state.plugins.slots() {
        if slot.status().0 == plugin_state::RUNNING {
            response.active.push(slot.manifest.clone());
        } else {
            response.inactive.push(slot.manifest.clone());
        }
    }
    Ok(Json(response))
}

async fn statuses(
    State(state): State<SharedState>,
    auth: Auth,
) -> AppResult<Json<Vec<PluginStatus>>> {
    require_admin(&auth)?;
    require_plugins(&state)?;
    let mut statuses = state.plugins.statuses();
    if state.bus.is_some() {
        let settings = &state.config.cluster_settings;
        let since = chorus_model::now_millis() - (settings.node_timeout_seconds as i64) * 1000;
        statuses.extend(
            state
                .store
                .other_nodes_plugin_statuses(&settings.cluster_name, since, &state.node_id)
                .await?,
        );
    }
    Ok(Json(statuses))
}

/// Web bundles of running plugins; public, since the web app loads them before login.
async fn webapp(State(state): State<SharedState>) -> AppResult<Json<Vec<WebappPlugin>>> {
    if !state.plugins.enabled() {
        return Ok(Json(Vec::new()));
    }
    let list = state
        .plugins
        .running_web_parts()
        .into_iter()
        .filter_map(|slot| {
            let webapp = slot.manifest.webapp.as_ref()?;
            Some(WebappPlugin {
                id: slot.manifest.id.clone(),
                version: slot.manifest.version.clone(),
                webapp: chorus_model::ManifestWebapp {
                    bundle_path: crate::plugins::http::webapp_bundle_url(
                        &slot.manifest.id,
                        &webapp.bundle_path,
                    ),
                },
            })
        })
        .collect();
    Ok(Json(list))
}

async fn enable(
    State(state): State<SharedState>,
    auth: Auth,
    Path(plugin_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    require_admin(&auth)?;
    state.plugins.enable(&state.store, &plugin_id).await?;
    Ok(Json(StatusOk::default()))
}

async fn disable(
    State(state): State<SharedState>,
    auth: Auth,
    Path(plugin_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    require_admin(&auth)?;
    state.plugins.disable(&state.store, &plugin_id).await?;
    Ok(Json(StatusOk::default()))
}

async fn remove(
    State(state): State<SharedState>,
    auth: Auth,
    Path(plugin_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    require_admin(&auth)?;
    state.plugins.remove(&state.store, &plugin_id).await?;
    Ok(Json(StatusOk::default()))
}
