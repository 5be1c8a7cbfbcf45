//! `/users/{id}/image` over REST: a user's profile picture (PNG), the generated one,
//! and setting (multipart `image`) or resetting it (the rules are in
//! `app::profile_images`).

use super::extract::{
    declared_length, drain, is_multipart, multipart_body_limit, Path, FORM_OVERHEAD,
};
use super::SharedState;
use crate::app::permissions::resolve_user_id;
use crate::app::profile_images::ProfileImage;
use crate::app::Auth;
use crate::error::{AppError, AppResult, Code};
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chorus_model::StatusOk;

pub fn router(image_limit: u64) -> Router<SharedState> {
    let body_limit = multipart_body_limit(image_limit);
    Router::new()
        .route(
            "/users/{user_id}/image",
            get(image)
                .post(set_image)
                .delete(reset_image)
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/users/{user_id}/image/default", get(default_image))
}

/// The picture, cached a day by the browser as Mattermost's is (clients add the
/// user's `last_picture_update` to the URL when it changes), with its version as
/// `ETag`.
fn png_response(image: ProfileImage, request_headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", image.version);
    let matches = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        image.png.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400, private"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

async fn image(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    let image = state.profile_image(&user_id).await?;
    Ok(png_response(image, &headers))
}

async fn default_image(
    State(state): State<SharedState>,
    _auth: Auth,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let image = state.default_profile_image(&user_id).await?;
    Ok(png_response(image, &headers))
}

fn form_error(err: MultipartError) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Code::ProfileImageTooLarge.into()
    } else {
        Code::ProfileImageParse.with_message(format!(
            "The multipart form could not be read (cut off, or malformed): {}",
            err.body_text()
        ))
    }
}

/// `POST /users/{id}/image`: a multipart form whose part `image` is the picture.
async fn set_image(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    request: Request,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    let limit = state.profile_image_limit();
    if declared_length(request.headers()).is_some_and(|n| n > limit + FORM_OVERHEAD) {
        drain(request.into_body()).await;
        return Err(Code::ProfileImageTooLarge
            .with_message(format!("A profile image may be at most {limit} bytes.")));
    }
    if !is_multipart(request.headers()) {
        return Err(Code::ProfileImageParse
            .with_message("Send the picture as a multipart form with a part named \"image\"."));
    }
    let mut form = Multipart::from_request(request, &state)
        .await
        .map_err(|rejection| Code::ProfileImageParse.with_message(rejection.body_text()))?;
    let mut picture = None;
    while let Some(field) = form.next_field().await.map_err(form_error)? {
        if field.name() == Some("image") && picture.is_none() {
            picture = Some(field.bytes().await.map_err(form_error)?.to_vec());
        } else {
            field.bytes().await.map_err(form_error)?;
        }
    }
    let picture = picture.ok_or_else(|| AppError::from(Code::ProfileImageMissing))?;
    state
        .set_profile_image(auth.actor(), &user_id, picture)
        .await?;
    Ok(Json(StatusOk::default()))
}

/// `DELETE /users/{id}/image`: back to the generated picture.
async fn reset_image(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state.reset_profile_image(auth.actor(), &user_id).await?;
    Ok(Json(StatusOk::default()))
}
