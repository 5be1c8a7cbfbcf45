//! `/users` over REST: sign-up, login and logout (with the session cookies), password
//! and role changes, personal access tokens, reading user profiles, and finding users
//! (the rules are in `app::users`, `app::sessions`, `app::access_tokens` and
//! `app::directory`).

use super::auth::{
    csrf_ok, token_from_parts, Auth, MaybeAuth, TokenSource, AUTH_COOKIE, CSRF_COOKIE, USER_COOKIE,
};
use super::extract::{Body, Paging, Path, Query};
use super::SharedState;
use crate::app::directory::{UserAutocompleteQuery, UserSearch};
use crate::app::permissions::resolve_user_id;
use crate::app::sessions::{session_for_token, Login};
use crate::app::users::UserPatch;
use crate::error::{AppError, AppResult, Code};
use crate::security::client_address::client_address;
use crate::store::UserFilter;
use crate::AppState;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chorus_model::{
    CreateUserRequest, LoginRequest, StatusOk, User, UserAccessToken, UserAutocomplete,
};
use serde::Deserialize;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/users", post(create_user).get(list_users))
        .route("/users/login", post(login))
        .route("/users/logout", post(logout))
        .route("/users/ids", post(users_by_ids))
        .route("/users/autocomplete", get(autocomplete_users))
        .route("/users/search", post(search_users))
        .route("/users/username/{username}", get(user_by_username))
        .route("/users/{user_id}/password", put(update_password))
        .route("/users/{user_id}/roles", put(update_roles))
        .route(
            "/users/{user_id}/tokens",
            post(create_access_token).get(access_tokens_of_user),
        )
        .route("/users/tokens", get(all_access_tokens))
        .route("/users/tokens/revoke", post(revoke_access_token))
        .route("/users/tokens/disable", post(disable_access_token))
        .route("/users/tokens/enable", post(enable_access_token))
        .route("/users/tokens/{token_id}", get(access_token))
        .route("/users/{user_id}", get(get_user).put(update_user))
        .route("/users/{user_id}/patch", put(patch_user))
}

/// The address a request came from, through `TrustedProxyIPHeader` when set.
fn address_of(state: &AppState, parts: &Parts) -> std::net::IpAddr {
    client_address(
        parts,
        &state.config.service_settings.trusted_proxy_ip_header,
    )
}

async fn create_user(
    State(state): State<SharedState>,
    MaybeAuth(auth): MaybeAuth,
    parts: Parts,
    Body(request): Body<CreateUserRequest>,
) -> AppResult<impl IntoResponse> {
    let address = address_of(&state, &parts);
    let created = state.sign_up(auth.as_ref(), address, request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn login(
    State(state): State<SharedState>,
    parts: Parts,
    Body(request): Body<LoginRequest>,
) -> AppResult<impl IntoResponse> {
    let address = address_of(&state, &parts);
    let login = Login {
        login_id: request.login_id,
        password: request.password,
        device_id: request.device_id.unwrap_or_default(),
    };
    let (user, session) = state.login(address, login).await?;
    let max_age = state.session_lifetime_ms() / 1000;
    let secure = if served_over_https(&state, &parts) {
        "; Secure"
    } else {
        ""
    };
    let mut headers = HeaderMap::new();
    headers.insert("Token", header_value(&session.token)?);
    for cookie in [
        format!(
            "{AUTH_COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            session.token
        ),
        format!(
            "{USER_COOKIE}={}; Path=/; Max-Age={max_age}; SameSite=Lax{secure}",
            user.id
        ),
        format!(
            "{CSRF_COOKIE}={}; Path=/; Max-Age={max_age}; SameSite=Lax{secure}",
            session.csrf_token
        ),
    ] {
        headers.append(axum::http::header::SET_COOKIE, header_value(&cookie)?);
    }
    Ok((headers, Json(user)))
}

/// Whether the browser reached us over TLS: a load balancer terminating it says so in
/// `X-Forwarded-Proto` (as Mattermost reads it), or the configured site URL is https.
fn served_over_https(state: &AppState, parts: &Parts) -> bool {
    let forwarded = parts
        .headers
        .get("X-Forwarded-Proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    forwarded
        || state
            .config
            .service_settings
            .site_url
            .to_ascii_lowercase()
            .starts_with("https://")
}

fn header_value(value: &str) -> AppResult<HeaderValue> {
    HeaderValue::from_str(value).map_err(|e| AppError::Internal(e.to_string()))
}

/// `POST /users/logout` answers 200 whether or not the request carries a live session
/// (integrations call it blindly), clearing the cookies either way.
async fn logout(State(state): State<SharedState>, parts: Parts) -> AppResult<impl IntoResponse> {
    if let Some((token, source)) = token_from_parts(&parts) {
        if let Ok(auth) = session_for_token(&state, &token).await {
            // Another site's form cannot end a cookie session.
            if source != TokenSource::Cookie || csrf_ok(&parts, &auth.session) {
                state.logout(&auth).await?;
            }
        }
    }
    let mut headers = HeaderMap::new();
    for name in [AUTH_COOKIE, USER_COOKIE, CSRF_COOKIE] {
        headers.append(
            axum::http::header::SET_COOKIE,
            header_value(&format!("{name}=; Path=/; Max-Age=0"))?,
        );
    }
    Ok((headers, Json(StatusOk::default())))
}

#[derive(Debug, Deserialize)]
struct UpdatePasswordRequest {
    #[serde(default)]
    current_password: String,
    new_password: String,
}

/// `PUT /users/{id}/password`.
async fn update_password(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(request): Body<UpdatePasswordRequest>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .update_password(
            &auth,
            &user_id,
            request.current_password,
            request.new_password,
        )
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn get_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<User>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state.get_user(auth.actor(), &user_id).await.map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct PatchUser {
    username: Option<String>,
    email: Option<String>,
    nickname: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    position: Option<String>,
    locale: Option<String>,
    notify_props: Option<serde_json::Map<String, serde_json::Value>>,
    password: Option<String>,
}

impl From<PatchUser> for UserPatch {
    fn from(request: PatchUser) -> UserPatch {
        UserPatch {
            username: request.username,
            email: request.email,
            nickname: request.nickname,
            first_name: request.first_name,
            last_name: request.last_name,
            position: request.position,
            locale: request.locale,
            notify_props: request.notify_props,
            password: request.password,
        }
    }
}

/// `PUT /users/{id}/patch`: only the fields given change.
async fn patch_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(request): Body<PatchUser>,
) -> AppResult<Json<User>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .patch_user(auth.actor(), &user_id, request.into())
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct UpdateUser {
    id: String,
    #[serde(flatten)]
    fields: PatchUser,
}

/// `PUT /users/{id}`: the whole profile; the body's `id` must be the URL's. The
/// fields it leaves out keep their values, as Mattermost keeps what its store
/// protects.
async fn update_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(request): Body<UpdateUser>,
) -> AppResult<Json<User>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    if request.id != user_id {
        return Err(Code::InvalidParam
            .with_message("Invalid or missing user_id: the body's id must be the URL's."));
    }
    state
        .patch_user(auth.actor(), &user_id, request.fields.into())
        .await
        .map(Json)
}

async fn user_by_username(
    State(state): State<SharedState>,
    auth: Auth,
    Path(username): Path<String>,
) -> AppResult<Json<User>> {
    state
        .user_by_username(auth.actor(), &username)
        .await
        .map(Json)
}

async fn users_by_ids(
    State(state): State<SharedState>,
    auth: Auth,
    Body(ids): Body<Vec<String>>,
) -> AppResult<Json<Vec<User>>> {
    state.users_by_ids(auth.actor(), &ids).await.map(Json)
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct ListUsersQuery {
    page: i64,
    per_page: i64,
    in_team: String,
    in_channel: String,
    not_in_channel: String,
}

impl Default for ListUsersQuery {
    fn default() -> Self {
        ListUsersQuery {
            page: 0,
            per_page: super::extract::DEFAULT_PER_PAGE,
            in_team: String::new(),
            in_channel: String::new(),
            not_in_channel: String::new(),
        }
    }
}

async fn list_users(
    State(state): State<SharedState>,
    auth: Auth,
    Query(query): Query<ListUsersQuery>,
) -> AppResult<Json<Vec<User>>> {
    let (page, per_page) = Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .validated()?;
    let non_empty = |s: String| if s.is_empty() { None } else { Some(s) };
    let filter = UserFilter {
        in_team: non_empty(query.in_team),
        in_channel: non_empty(query.in_channel),
        not_in_channel: non_empty(query.not_in_channel),
        ..UserFilter::default()
    };
    state
        .list_users(auth.actor(), &filter, page, per_page)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct AutocompleteQuery {
    in_team: String,
    in_channel: String,
    name: String,
    limit: i64,
}

/// `GET /users/autocomplete?in_team&in_channel&name&limit`: a limit above the most is
/// lowered to it, as in Mattermost.
async fn autocomplete_users(
    State(state): State<SharedState>,
    auth: Auth,
    Query(query): Query<AutocompleteQuery>,
) -> AppResult<Json<UserAutocomplete>> {
    let query = UserAutocompleteQuery {
        team_id: query.in_team,
        channel_id: query.in_channel,
        name: query.name,
        limit: query.limit,
    };
    state
        .autocomplete_users(auth.actor(), query)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct SearchUsersBody {
    term: String,
    team_id: String,
    not_in_team_id: String,
    in_channel_id: String,
    not_in_channel_id: String,
    allow_inactive: bool,
    limit: i64,
}

async fn search_users(
    State(state): State<SharedState>,
    auth: Auth,
    Body(body): Body<SearchUsersBody>,
) -> AppResult<Json<Vec<User>>> {
    let search = UserSearch {
        term: body.term,
        team_id: body.team_id,
        not_in_team_id: body.not_in_team_id,
        in_channel_id: body.in_channel_id,
        not_in_channel_id: body.not_in_channel_id,
        allow_inactive: body.allow_inactive,
        limit: body.limit,
    };
    state.search_users(auth.actor(), search).await.map(Json)
}

#[derive(Debug, Deserialize)]
struct UpdateRolesRequest {
    #[serde(default)]
    roles: String,
}

/// `PUT /users/{id}/roles`.
async fn update_roles(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(request): Body<UpdateRolesRequest>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .update_user_roles(auth.actor(), &user_id, &request.roles)
        .await?;
    Ok(Json(StatusOk::default()))
}

#[derive(Debug, Deserialize)]
struct CreateTokenRequest {
    #[serde(default)]
    description: String,
}

/// `POST /users/{id}/tokens`: 200 (not 201) with the token, as Mattermost answers.
async fn create_access_token(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(request): Body<CreateTokenRequest>,
) -> AppResult<Json<UserAccessToken>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    state
        .create_access_token(auth.actor(), &user_id, &request.description)
        .await
        .map(Json)
}

async fn access_tokens_of_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Query(paging): Query<Paging>,
) -> AppResult<Json<Vec<UserAccessToken>>> {
    let user_id = resolve_user_id(&user_id, auth.actor());
    let (page, per_page) = paging.validated()?;
    state
        .access_tokens_of_user(auth.actor(), &user_id, page, per_page)
        .await
        .map(Json)
}

async fn all_access_tokens(
    State(state): State<SharedState>,
    auth: Auth,
    Query(paging): Query<Paging>,
) -> AppResult<Json<Vec<UserAccessToken>>> {
    let (page, per_page) = paging.validated()?;
    state
        .all_access_tokens(auth.actor(), page, per_page)
        .await
        .map(Json)
}

async fn access_token(
    State(state): State<SharedState>,
    auth: Auth,
    Path(token_id): Path<String>,
) -> AppResult<Json<UserAccessToken>> {
    state.access_token(auth.actor(), &token_id).await.map(Json)
}

#[derive(Debug, Deserialize)]
struct TokenIdRequest {
    #[serde(default)]
    token_id: String,
}

async fn revoke_access_token(
    State(state): State<SharedState>,
    auth: Auth,
    Body(request): Body<TokenIdRequest>,
) -> AppResult<Json<StatusOk>> {
    state
        .revoke_access_token(auth.actor(), &request.token_id)
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn disable_access_token(
    State(state): State<SharedState>,
    auth: Auth,
    Body(request): Body<TokenIdRequest>,
) -> AppResult<Json<StatusOk>> {
    state
        .set_access_token_active(auth.actor(), &request.token_id, false)
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn enable_access_token(
    State(state): State<SharedState>,
    auth: Auth,
    Body(request): Body<TokenIdRequest>,
) -> AppResult<Json<StatusOk>> {
    state
        .set_access_token_active(auth.actor(), &request.token_id, true)
        .await?;
    Ok(Json(StatusOk::default()))
}
