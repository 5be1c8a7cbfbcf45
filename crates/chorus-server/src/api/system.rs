//! `/system`, `/config`, `/license`, `/cluster`: the health check load balancers poll,
//! the running configuration for admins (with plugin settings changeable at runtime),
//! what every client reads at start-up (client configuration and licence), and the
//! cluster's live nodes.

use super::extract::{Body, Query};
use super::SharedState;
use crate::app::Auth;
use crate::error::{AppError, AppResult, Code};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/system/ping", get(ping))
        .route("/config", get(get_config))
        .route("/config/patch", put(patch_config))
        .route("/config/client", get(client_config))
        .route("/license/client", get(client_license))
        .route("/cluster/status", get(cluster_status))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct PingQuery {
    get_server_status: bool,
}

/// `{"status":"OK"}` while the process serves HTTP. With `get_server_status=true` the
/// database is checked too, and an unreachable one answers 503 so that a load balancer
/// can take the node out of rotation.
async fn ping(
    State(state): State<SharedState>,
    Query(query): Query<PingQuery>,
) -> (StatusCode, Json<serde_json::Value>) {
    let mut body = serde_json::json!({
        "status": "OK",
        "version": crate::SERVER_VERSION,
        "node_id": state.node_id,
    });
    if !query.get_server_status {
        return (StatusCode::OK, Json(body));
    }
    let database_ok = tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping())
        .await
        .is_ok_and(|r| r.is_ok());
    body["database_status"] =
        serde_json::Value::String(if database_ok { "OK" } else { "UNHEALTHY" }.into());
    if database_ok {
        (StatusCode::OK, Json(body))
    } else {
        body["status"] = serde_json::Value::String("UNHEALTHY".into());
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}

/// `GET /config`: the running configuration, for admins, with secrets redacted.
pub async fn get_config(
    State(state): State<SharedState>,
    auth: Auth,
) -> AppResult<Json<serde_json::Value>> {
    state.running_config(auth.actor()).await.map(Json)
}

/// `PUT /config/patch`: changes plugin settings at runtime (see `app::config`).
async fn patch_config(
    State(state): State<SharedState>,
    auth: Auth,
    Body(patch): Body<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<Json<serde_json::Value>> {
    state.patch_config(auth.actor(), patch).await.map(Json)
}

/// `GET /cluster/status`: the live nodes of this deployment, for admins.
pub async fn cluster_status(
    State(state): State<SharedState>,
    auth: Auth,
) -> AppResult<Json<Vec<chorus_model::ClusterNode>>> {
    state.cluster_nodes(auth.actor()).await.map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct FormatQuery {
    format: Option<String>,
}

/// Mattermost serves these two only in their "old" format (a map of strings), and
/// tells a client that asks for none that the new one does not exist.
fn require_old_format(query: &FormatQuery, not_implemented: Code) -> AppResult<()> {
    match query.format.as_deref() {
        None | Some("") => Err(not_implemented.into()),
        Some("old") => Ok(()),
        Some(_) => Err(AppError::invalid_url_param("format")),
    }
}

/// `GET /config/client?format=old`, for anyone: nothing in it is secret.
async fn client_config(
    State(state): State<SharedState>,
    Query(query): Query<FormatQuery>,
) -> AppResult<Json<std::collections::BTreeMap<&'static str, String>>> {
    require_old_format(&query, Code::ClientConfigFormat)?;
    Ok(Json(state.client_config.values.clone()))
}

/// `GET /license/client?format=old`: Chorus has no licence, and answers as an
/// unlicensed Mattermost Team Edition does.
async fn client_license(Query(query): Query<FormatQuery>) -> AppResult<Json<serde_json::Value>> {
    require_old_format(&query, Code::ClientLicenseFormat)?;
    Ok(Json(serde_json::json!({ "IsLicensed": "false" })))
}
