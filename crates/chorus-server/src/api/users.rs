//! `/users`: sign-up, login and logout, and reading user profiles.

use super::auth::{Auth, MaybeAuth, AUTH_COOKIE, CSRF_COOKIE, USER_COOKIE};
use super::extract::{require_id, Body, Path, Query};
use super::permissions::resolve_user_id;
use super::{validate, SharedState};
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::plugins::HookContext;
use crate::security::client_address::client_address;
use crate::security::passwords::HashError;
use crate::store::{Session, UserFilter};
use crate::AppState;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chorus_model::{new_id, now_millis, CreateUserRequest, LoginRequest, StatusOk, User};
use serde::Deserialize;

/// Most ids `POST /users/ids` looks up at once.
const MAX_IDS_PER_REQUEST: usize = 1000;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/users", post(create_user).get(list_users))
        .route("/users/login", post(login))
        .route("/users/logout", post(logout))
        .route("/users/ids", post(users_by_ids))
        .route("/users/username/{username}", get(user_by_username))
        .route("/users/{user_id}/password", put(update_password))
        .route("/users/{user_id}", get(get_user))
}

/// A password hashing failure as the client sees it: a busy server asks it to retry.
fn hashing_failed(state: &AppState, err: HashError) -> AppError {
    match err {
        HashError::Busy(_) => {
            state.metrics.password_hash_busy.inc();
            AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "app.user.password_hashing_busy.app_error",
                "Too many logins are being checked right now; try again in a moment.",
            )
            .with_retry_after(1)
        }
        HashError::Failed(reason) => AppError::Internal(reason),
    }
}

/// Counts a login or sign-up attempt against the client's address.
fn throttle(state: &AppState, parts: &Parts) -> AppResult<std::net::IpAddr> {
    let address = client_address(
        parts,
        &state.config.service_settings.trusted_proxy_ip_header,
    );
    state.login_throttle.check(address).map_err(|wait| {
        tracing::warn!(%address, "login attempts throttled");
        state.metrics.login_throttled.inc();
        AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "api.context.rate_limit_exceeded.app_error",
            format!(
                "Too many login attempts from this address; try again in {} s.",
                wait.as_secs().max(1)
            ),
        )
        .with_retry_after(wait.as_secs_f64().ceil() as u64)
    })?;
    Ok(address)
}

async fn create_user(
    State(state): State<SharedState>,
    MaybeAuth(auth): MaybeAuth,
    parts: Parts,
    Body(request): Body<CreateUserRequest>,
) -> AppResult<impl IntoResponse> {
    let is_admin = auth.as_ref().is_some_and(|a| a.is_admin());
    if !is_admin {
        throttle(&state, &parts)?;
    }
    if !is_admin && state.store.any_user_exists().await? {
        let settings = &state.config.team_settings;
        if !settings.enable_user_creation {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "api.user.create_user.signup_email_disabled.app_error",
                "User sign-up is disabled on this server (TeamSettings.EnableUserCreation).",
            ));
        }
        if !settings.enable_open_server {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "api.user.create_user.no_open_server",
                "This server does not allow open sign-ups (TeamSettings.EnableOpenServer); ask an admin to create your account.",
            ));
        }
    }
    let username = request.username.trim().to_lowercase();
    let email = request.email.trim().to_lowercase();
    validate::username(&username)?;
    validate::email(&email)?;
    validate::password(&request.password)?;
    for (field, value) in [
        ("nickname", &request.nickname),
        ("first_name", &request.first_name),
        ("last_name", &request.last_name),
        ("position", &request.position),
    ] {
        validate::max_len("model.user.is_valid.app_error", field, value, 64)?;
    }
    if state.store.get_user_by_username(&username).await?.is_some() {
        return Err(username_taken());
    }
    if state.store.get_user_for_login(&email).await?.is_some() {
        return Err(email_taken());
    }
    let now = now_millis();
    let user = User {
        id: new_id(),
        create_at: now,
        update_at: now,
        username,
        email,
        nickname: request.nickname,
        first_name: request.first_name,
        last_name: request.last_name,
        position: request.position,
        locale: if request.locale.is_empty() {
            "en".into()
        } else {
            request.locale
        },
        ..User::default()
    };
    let hash = state
        .passwords
        .hash(request.password)
        .await
        .map_err(|e| hashing_failed(&state, e))?;
    let created = match state.store.create_user(&user, &hash).await {
        Ok(created) => created,
        // Lost a race with a concurrent sign-up: say which of the two was taken.
        Err(err) if is_unique_violation(&err) => {
            return Err(
                if state
                    .store
                    .get_user_by_username(&user.username)
                    .await?
                    .is_some()
                {
                    username_taken()
                } else {
                    email_taken()
                },
            );
        }
        Err(err) => return Err(err.into()),
    };
    let actor = auth
        .as_ref()
        .map_or(created.id.as_str(), |a| a.user.id.as_str());
    state
        .plugins
        .user_has_been_created(&HookContext::for_user(actor, ""), &created);
    Ok((StatusCode::CREATED, Json(created)))
}

fn username_taken() -> AppError {
    AppError::bad_request(
        "app.user.save.username_exists.app_error",
        "An account with that username already exists.",
    )
}

fn email_taken() -> AppError {
    AppError::bad_request(
        "app.user.save.email_exists.app_error",
        "An account with that email already exists.",
    )
}

fn invalid_credentials() -> AppError {
    AppError::unauthorized(
        "api.user.login.invalid_credentials_email_username",
        "Enter a valid email or username and/or password.",
    )
}

fn account_locked() -> AppError {
    AppError::unauthorized(
        "api.user.check_user_login_attempts.too_many.app_error",
        "Your account is locked because of too many failed password attempts. Please reset your password.",
    )
}

async fn login(
    State(state): State<SharedState>,
    parts: Parts,
    Body(request): Body<LoginRequest>,
) -> AppResult<impl IntoResponse> {
    if request.login_id.trim().is_empty() {
        return Err(AppError::invalid_param("login_id"));
    }
    if request.password.is_empty() {
        return Err(AppError::invalid_param("password"));
    }
    let address = throttle(&state, &parts)?;
    let settings = &state.config.service_settings;
    let max_attempts = i64::from(settings.maximum_login_attempts);
    let now = now_millis();
    // Failures before this moment no longer lock (0: they lock until a password reset).
    let locked_since = if settings.login_lockout_minutes == 0 {
        0
    } else {
        now - settings.login_lockout_minutes as i64 * 60_000
    };
    let record = state
        .store
        .get_user_for_login(request.login_id.trim())
        .await?;
    if let Some(record) = &record {
        if max_attempts > 0
            && record.failed_attempts >= max_attempts
            && record.last_failed_at >= locked_since
        {
            tracing::warn!(%address, user_id = %record.user.id, "login refused: account locked");
            state.metrics.login_locked.inc();
            return Err(account_locked());
        }
    }
    // Unknown, deactivated and bot accounts cost one hash like the others, so the answer
    // and its timing say nothing about which accounts exist.
    let usable = record
        .as_ref()
        .filter(|r| r.user.delete_at == 0 && !r.user.is_bot);
    let matches = state
        .passwords
        .verify(request.password, usable.map(|r| r.password_hash.clone()))
        .await
        .map_err(|e| hashing_failed(&state, e))?;
    let Some(record) = usable.filter(|_| matches) else {
        if let Some(record) = usable {
            state
                .store
                .record_failed_login(&record.user.id, now, locked_since)
                .await?;
        }
        state.metrics.login_failed.inc();
        tracing::warn!(%address, login_id = %request.login_id.trim(), "login failed");
        return Err(invalid_credentials());
    };
    if !state
        .store
        .clear_failed_logins_unless_locked(&record.user.id, max_attempts, locked_since)
        .await?
    {
        state.metrics.login_locked.inc();
        return Err(account_locked());
    }
    let user = record.user.clone();
    let lifetime_ms = state.config.service_settings.session_length_web_in_hours * 3_600_000;
    let session = Session {
        id: new_id(),
        token: new_id(),
        user_id: user.id.clone(),
        create_at: now,
        expires_at: now + lifetime_ms,
        csrf_token: new_id(),
        device_id: request.device_id.unwrap_or_default(),
    };
    state.store.create_session(&session).await?;
    state
        .plugins
        .user_has_logged_in(&HookContext::for_user(&user.id, &session.id), &user);
    let max_age = lifetime_ms / 1000;
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

async fn logout(State(state): State<SharedState>, auth: Auth) -> AppResult<impl IntoResponse> {
    state.store.delete_session(&auth.session.token).await?;
    state.hub.close_session_id(&auth.session.id);
    state.tell_cluster(crate::cluster::bus::ClusterMessage::SessionRevoked {
        session_id: auth.session.id.clone(),
    });
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

/// `PUT /users/{id}/password`: a user changes their own password (giving the current
/// one), or a system admin sets anyone's. Setting a password also unlocks an account
/// locked by failed logins, as in Mattermost.
async fn update_password(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
    Body(request): Body<UpdatePasswordRequest>,
) -> AppResult<Json<StatusOk>> {
    let user_id = resolve_user_id(&user_id, &auth);
    let user = require_user(&state, &user_id).await?;
    let own = user.id == auth.user.id;
    if !own && !auth.is_admin() {
        return Err(AppError::forbidden(
            "You do not have the appropriate permissions to change this user's password.",
        ));
    }
    if user.is_bot {
        return Err(AppError::bad_request(
            "api.user.update_password.bot.app_error",
            "Bot accounts have no password.",
        ));
    }
    validate::password(&request.new_password)?;
    if own && !auth.is_admin() {
        let current = state.store.password_hash(&user.id).await?;
        let matches = state
            .passwords
            .verify(request.current_password, current)
            .await
            .map_err(|e| hashing_failed(&state, e))?;
        if !matches {
            return Err(AppError::bad_request(
                "api.user.update_password.incorrect.app_error",
                "The \"Current Password\" you entered is incorrect. Please check that Caps Lock is off and try again.",
            ));
        }
    }
    let hash = state
        .passwords
        .hash(request.new_password)
        .await
        .map_err(|e| hashing_failed(&state, e))?;
    state
        .store
        .set_password_hash(&user.id, &hash, now_millis())
        .await?;
    Ok(Json(StatusOk::default()))
}

async fn get_user(
    State(state): State<SharedState>,
    auth: Auth,
    Path(user_id): Path<String>,
) -> AppResult<Json<User>> {
    let user_id = resolve_user_id(&user_id, &auth);
    require_id(&user_id, "user_id")?;
    let user = state
        .store
        .get_user(&user_id)
        .await?
        .ok_or_else(|| AppError::not_found("app.user.missing_account.const", "user"))?;
    Ok(Json(sanitize(user, &auth)))
}

async fn user_by_username(
    State(state): State<SharedState>,
    auth: Auth,
    Path(username): Path<String>,
) -> AppResult<Json<User>> {
    let user = state
        .store
        .get_user_by_username(&username)
        .await?
        .ok_or_else(|| AppError::not_found("app.user.missing_account.const", "user"))?;
    Ok(Json(sanitize(user, &auth)))
}

async fn users_by_ids(
    State(state): State<SharedState>,
    auth: Auth,
    Body(ids): Body<Vec<String>>,
) -> AppResult<Json<Vec<User>>> {
    if ids.len() > MAX_IDS_PER_REQUEST {
        return Err(AppError::bad_request(
            "api.context.invalid_body_param.app_error",
            format!("At most {MAX_IDS_PER_REQUEST} user ids can be looked up at once."),
        ));
    }
    for id in &ids {
        require_id(id, "user_ids")?;
    }
    let users = state.store.get_users_by_ids(&ids).await?;
    Ok(Json(
        users.into_iter().map(|u| sanitize(u, &auth)).collect(),
    ))
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
    let (page, per_page) = super::extract::Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .validated()?;
    let non_empty = |s: String| if s.is_empty() { None } else { Some(s) };
    let filter = UserFilter {
        in_team: non_empty(query.in_team),
        in_channel: non_empty(query.in_channel),
        not_in_channel: non_empty(query.not_in_channel),
    };
    if let Some(team_id) = &filter.in_team {
        require_id(team_id, "in_team")?;
        super::permissions::require_team_member(&state, &auth, team_id).await?;
    }
    for channel_id in [&filter.in_channel, &filter.not_in_channel]
        .into_iter()
        .flatten()
    {
        let channel = super::permissions::load_channel(&state, channel_id).await?;
        super::permissions::require_channel_visible(&state, &auth, &channel).await?;
    }
    let users = state.store.list_users(&filter, page, per_page).await?;
    Ok(Json(
        users.into_iter().map(|u| sanitize(u, &auth)).collect(),
    ))
}

/// Hides other people's email addresses from non-admins, as Mattermost's default
/// privacy settings do.
fn sanitize(mut user: User, viewer: &Auth) -> User {
    if user.id != viewer.user.id && !viewer.is_admin() {
        user.email.clear();
    }
    user
}

/// Checks that a user exists, for handlers that act on another user.
pub async fn require_user(state: &AppState, user_id: &str) -> AppResult<User> {
    require_id(user_id, "user_id")?;
    state
        .store
        .get_user(user_id)
        .await?
        .filter(|u| u.delete_at == 0)
        .ok_or_else(|| AppError::not_found("app.user.missing_account.const", "user"))
}

/// The bot user `username`, created on first use (plugins' `EnsureBotUser`). Bots
/// cannot log in: their password hash matches no password.
pub async fn ensure_bot_user(
    state: &AppState,
    username: &str,
    display_name: &str,
    description: &str,
) -> AppResult<User> {
    let username = username.trim().to_lowercase();
    validate::username(&username)?;
    if let Some(existing) = state.store.get_user_by_username(&username).await? {
        if existing.is_bot {
            return Ok(existing);
        }
        return Err(AppError::conflict(
            "app.bot.create_bot.username_taken.app_error",
            format!("@{username} is a person's account, not a bot."),
        ));
    }
    let now = now_millis();
    let bot = User {
        id: new_id(),
        create_at: now,
        update_at: now,
        email: format!("{username}@bots.chorus.invalid"),
        username,
        nickname: display_name.chars().take(64).collect(),
        position: description.chars().take(64).collect(),
        locale: "en".into(),
        is_bot: true,
        ..User::default()
    };
    match state
        .store
        .create_user(&bot, "!bot-accounts-cannot-log-in")
        .await
    {
        Ok(created) => Ok(created),
        // Another node or plugin copy created it first.
        Err(err) if is_unique_violation(&err) => state
            .store
            .get_user_by_username(&bot.username)
            .await?
            .filter(|u| u.is_bot)
            .ok_or_else(|| AppError::Store(err)),
        Err(err) => Err(err.into()),
    }
}
