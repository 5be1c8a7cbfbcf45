//! Interactive messages over REST: clicks on message buttons and menus
//! (`/posts/{id}/actions/{action_id}`), dialogs (`/actions/dialogs/open|submit`) and
//! ephemeral posts sent by admins (`/posts/ephemeral`); the rules are in
//! `app::interactive`.

use super::extract::{Body, Path};
use super::SharedState;
use crate::app::Auth;
use crate::error::{AppResult, Code};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use chorus_model::{
    DoPostActionRequest, OpenDialogRequest, Post, PostActionResponse, StatusOk,
    SubmitDialogRequest, SubmitDialogResponse,
};
use serde::Deserialize;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/posts/{post_id}/actions/{action_id}", post(do_post_action))
        .route("/posts/ephemeral", post(create_ephemeral_post))
        .route("/actions/dialogs/open", post(open_dialog))
        .route("/actions/dialogs/submit", post(submit_dialog))
}

/// A JSON body that Mattermost's decoders accept empty (or `null`); `param` names it
/// in errors.
fn lenient_json<T: serde::de::DeserializeOwned + Default>(
    bytes: &[u8],
    param: &str,
) -> AppResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice::<Option<T>>(bytes)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            Code::InvalidParam.with_message(format!("Invalid {param} in request body: {e}."))
        })
}

async fn do_post_action(
    State(state): State<SharedState>,
    auth: Auth,
    Path((post_id, action_id)): Path<(String, String)>,
    body: Bytes,
) -> AppResult<Json<PostActionResponse>> {
    let request: DoPostActionRequest = lenient_json(&body, "action request")?;
    state
        .do_post_action(&auth, &post_id, &action_id, request)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct EphemeralPost {
    user_id: String,
    post: Option<Post>,
}

async fn create_ephemeral_post(
    State(state): State<SharedState>,
    auth: Auth,
    Body(request): Body<EphemeralPost>,
) -> AppResult<impl IntoResponse> {
    let post = state
        .create_ephemeral_post(auth.actor(), &request.user_id, request.post)
        .await?;
    Ok((StatusCode::CREATED, Json(post)))
}

/// No session: the trigger id is the integration's credential.
async fn open_dialog(State(state): State<SharedState>, body: Bytes) -> AppResult<Json<StatusOk>> {
    let request: OpenDialogRequest = serde_json::from_slice(&body).map_err(|e| {
        Code::InvalidParam.with_message(format!("Invalid dialog in request body: {e}."))
    })?;
    state.open_dialog(request).await?;
    Ok(Json(StatusOk::default()))
}

async fn submit_dialog(
    State(state): State<SharedState>,
    auth: Auth,
    Body(request): Body<SubmitDialogRequest>,
) -> AppResult<Json<SubmitDialogResponse>> {
    state.submit_dialog(&auth, request).await.map(Json)
}
