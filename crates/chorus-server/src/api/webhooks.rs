//! Incoming and outgoing webhooks over REST (`/hooks/incoming`, `/hooks/outgoing`; the
//! rules in `app::webhooks` and `app::outgoing_webhooks`), and
//! `POST /hooks/{id}` outside `/api/v4`, where integrations send Slack-shaped messages
//! as JSON or as a form's `payload` field, and `POST /hooks/commands/{id}`, where a
//! custom command's integration answers later (its `response_url`).

use super::auth::Auth;
use super::extract::{Body, Path, Query, ScopedPaging};
use super::SharedState;
use crate::app::custom_commands::command_response_from_body;
use crate::app::outgoing_webhooks::OutgoingHookFields;
use crate::app::webhooks::HookFields;
use crate::error::{AppError, AppResult, Code};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::{IncomingWebhook, IncomingWebhookRequest, OutgoingWebhook, StatusOk};
use serde::Deserialize;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/hooks/incoming", post(create).get(list))
        .route(
            "/hooks/incoming/{hook_id}",
            get(read).put(update).delete(remove),
        )
        .route("/hooks/outgoing", post(create_outgoing).get(list_outgoing))
        .route(
            "/hooks/outgoing/{hook_id}",
            get(read_outgoing)
                .put(update_outgoing)
                .delete(remove_outgoing),
        )
        .route(
            "/hooks/outgoing/{hook_id}/regen_token",
            post(regen_outgoing_token),
        )
}

/// `POST /hooks/{hook_id}`, without a session: the hook's id is its secret.
pub fn execute_router(max_body: usize) -> Router<SharedState> {
    Router::new()
        .route(
            "/hooks/{hook_id}",
            post(execute).layer(axum::extract::DefaultBodyLimit::max(max_body)),
        )
        .route(
            "/hooks/commands/{hook_id}",
            post(command_answer).layer(axum::extract::DefaultBodyLimit::max(max_body)),
        )
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct HookBody {
    channel_id: String,
    display_name: String,
    description: String,
    username: String,
    icon_url: String,
    channel_locked: bool,
}

impl From<HookBody> for HookFields {
    fn from(body: HookBody) -> HookFields {
        HookFields {
            channel_id: body.channel_id,
            display_name: body.display_name,
            description: body.description,
            username: body.username,
            icon_url: body.icon_url,
            channel_locked: body.channel_locked,
        }
    }
}

async fn create(
    State(state): State<SharedState>,
    auth: Auth,
    Body(body): Body<HookBody>,
) -> AppResult<impl IntoResponse> {
    let hook = state
        .create_incoming_webhook(auth.actor(), body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(hook)))
}

async fn list(
    State(state): State<SharedState>,
    auth: Auth,
    Query(query): Query<ScopedPaging>,
) -> AppResult<Json<Vec<IncomingWebhook>>> {
    let (page, per_page) = query.paging().validated()?;
    state
        .incoming_webhooks(auth.actor(), &query.team_id, page, per_page)
        .await
        .map(Json)
}

async fn read(
    State(state): State<SharedState>,
    auth: Auth,
    Path(hook_id): Path<String>,
) -> AppResult<Json<IncomingWebhook>> {
    state
        .incoming_webhook(auth.actor(), &hook_id)
        .await
        .map(Json)
}

/// 201, as Mattermost answers an update of a hook.
async fn update(
    State(state): State<SharedState>,
    auth: Auth,
    Path(hook_id): Path<String>,
    Body(body): Body<HookBody>,
) -> AppResult<impl IntoResponse> {
    let hook = state
        .update_incoming_webhook(auth.actor(), &hook_id, body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(hook)))
}

async fn remove(
    State(state): State<SharedState>,
    auth: Auth,
    Path(hook_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    state
        .delete_incoming_webhook(auth.actor(), &hook_id)
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn create_outgoing(
    State(state): State<SharedState>,
    auth: Auth,
    Body(fields): Body<OutgoingHookFields>,
) -> AppResult<impl IntoResponse> {
    let hook = state.create_outgoing_webhook(auth.actor(), fields).await?;
    Ok((StatusCode::CREATED, Json(hook)))
}

async fn list_outgoing(
    State(state): State<SharedState>,
    auth: Auth,
    Query(query): Query<ScopedPaging>,
) -> AppResult<Json<Vec<OutgoingWebhook>>> {
    let (page, per_page) = query.paging().validated()?;
    state
        .outgoing_webhooks(
            auth.actor(),
            &query.team_id,
            &query.channel_id,
            page,
            per_page,
        )
        .await
        .map(Json)
}

async fn read_outgoing(
    State(state): State<SharedState>,
    auth: Auth,
    Path(hook_id): Path<String>,
) -> AppResult<Json<OutgoingWebhook>> {
    state
        .outgoing_webhook(auth.actor(), &hook_id)
        .await
        .map(Json)
}

async fn update_outgoing(
    State(state): State<SharedState>,
    auth: Auth,
    Path(hook_id): Path<String>,
    Body(fields): Body<OutgoingHookFields>,
) -> AppResult<Json<OutgoingWebhook>> {
    if !fields.id.is_empty() && fields.id != hook_id {
        return Err(AppError::invalid_param("hook_id"));
    }
    state
        .update_outgoing_webhook(auth.actor(), &hook_id, fields)
        .await
        .map(Json)
}

async fn remove_outgoing(
    State(state): State<SharedState>,
    auth: Auth,
    Path(hook_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    state
        .delete_outgoing_webhook(auth.actor(), &hook_id)
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn regen_outgoing_token(
    State(state): State<SharedState>,
    auth: Auth,
    Path(hook_id): Path<String>,
) -> AppResult<Json<OutgoingWebhook>> {
    state
        .regenerate_outgoing_webhook_token(auth.actor(), &hook_id)
        .await
        .map(Json)
}

/// The message of a webhook request: a form's `payload` field, or the JSON body.
fn parse_request(content_type: &str, body: &[u8]) -> AppResult<IncomingWebhookRequest> {
    let json = if content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        form_urlencoded::parse(body)
            .find(|(name, _)| name == "payload")
            .map(|(_, value)| value.into_owned().into_bytes())
            .ok_or_else(|| {
                Code::IncomingWebhookParse.with_message("The form has no payload field.")
            })?
    } else {
        body.to_vec()
    };
    serde_json::from_slice(&json).map_err(|e| {
        Code::IncomingWebhookParse.with_message(format!("The message is not valid JSON: {e}"))
    })
}

/// 200 with the text `ok`, as Mattermost (and Slack) answer.
/// A custom command's delayed answer to its `response_url`: no session, the id is the
/// secret, as in Mattermost.
async fn command_answer(
    State(state): State<SharedState>,
    Path(hook_id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<impl IntoResponse> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let response = command_response_from_body(content_type, body.to_vec())
        .map_err(|why| Code::CommandWebhookParse.with_message(format!("The answer is {why}.")))?;
    state.execute_command_webhook(&hook_id, response).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain")], "ok"))
}

async fn execute(
    State(state): State<SharedState>,
    Path(hook_id): Path<String>,
    request: Request,
) -> AppResult<impl IntoResponse> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let limit = state.config.service_settings.maximum_payload_size_bytes;
    let body = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| AppError::from(Code::BodyTooLarge))?;
    let message = parse_request(&content_type, &body)?;
    state.execute_incoming_webhook(&hook_id, message).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain")], "ok"))
}
