//! Sessions: password logins (throttled, with account lockout), logouts (on every
//! node), and turning a token into a signed-in user for every front door (REST, the
//! websocket's authentication challenge, plugin HTTP routes), whether it is a login
//! session's or a personal access token (`access_tokens`). An expired session is
//! deleted and refused.

use super::users::hashing_failed;
use super::Actor;
use crate::cluster::ClusterMessage;
use crate::error::{AppError, AppResult, Code};
use crate::plugins::HookContext;
use crate::store::Session;
use crate::AppState;
use chorus_model::{new_id, now_millis, User};
use std::net::IpAddr;

/// A signed-in user: their session and account.
#[derive(Debug, Clone)]
pub struct Auth {
    pub session: Session,
    pub user: User,
}

impl Auth {
    pub fn is_admin(&self) -> bool {
        self.user.is_system_admin()
    }

    pub fn user_id(&self) -> &str {
        &self.user.id
    }

    pub fn actor(&self) -> Actor<'_> {
        Actor::User(self)
    }
}

/// The answer to a missing, unknown or malformed token.
pub fn session_error() -> AppError {
    Code::SessionExpired.into()
}

/// Looks up a token's session, or else the personal access token it is; an expired
/// session is deleted and refused.
pub async fn session_for_token(state: &AppState, token: &str) -> AppResult<Auth> {
    if token.is_empty() || token.len() > 64 {
        return Err(session_error());
    }
    let Some((session, user)) = state.store.get_session(token).await? else {
        return super::access_tokens::auth_for_access_token(state, token)
            .await?
            .ok_or_else(session_error);
    };
    if session.is_expired() {
        state.store.delete_session(token).await?;
        return Err(
            Code::SessionExpired.with_message("Your session has expired. Please log in again.")
        );
    }
    Ok(Auth { session, user })
}

fn invalid_credentials() -> AppError {
    Code::InvalidCredentials.into()
}

fn account_locked() -> AppError {
    Code::TooManyLoginAttempts.with_message("Your account is locked because of too many failed password attempts. Please reset your password.")
}

/// What someone logging in gives.
#[derive(Debug)]
pub struct Login {
    pub login_id: String,
    pub password: String,
    pub device_id: String,
}

impl AppState {
    /// Checks a password login (throttled per `address`, locked after
    /// `MaximumLoginAttempts` failures) and opens a session.
    pub async fn login(&self, address: IpAddr, login: Login) -> AppResult<(User, Session)> {
        if login.login_id.trim().is_empty() {
            return Err(AppError::invalid_param("login_id"));
        }
        if login.password.is_empty() {
            return Err(AppError::invalid_param("password"));
        }
        self.throttle_logins(address)?;
        let settings = &self.config.service_settings;
        let max_attempts = i64::from(settings.maximum_login_attempts);
        let now = now_millis();
        // Failures before this moment no longer lock (0: they lock until a password reset).
        let locked_since = if settings.login_lockout_minutes == 0 {
            0
        } else {
            now - settings.login_lockout_minutes as i64 * 60_000
        };
        let login_id = login.login_id.trim();
        let record = self.store.get_user_for_login(login_id).await?;
        if let Some(record) = &record {
            if max_attempts > 0
                && record.failed_attempts >= max_attempts
                && record.last_failed_at >= locked_since
            {
                tracing::warn!(%address, user_id = %record.user.id, "login refused: account locked");
                self.metrics.login_locked.inc();
                return Err(account_locked());
            }
        }
        // Unknown, deactivated and bot accounts cost one hash like the others, so the
        // answer and its timing say nothing about which accounts exist.
        let usable = record
            .as_ref()
            .filter(|r| r.user.delete_at == 0 && !r.user.is_bot);
        let matches = self
            .passwords
            .verify(login.password, usable.map(|r| r.password_hash.clone()))
            .await
            .map_err(|e| hashing_failed(self, e))?;
        let Some(record) = usable.filter(|_| matches) else {
            if let Some(record) = usable {
                self.store
                    .record_failed_login(&record.user.id, now, locked_since)
                    .await?;
            }
            self.metrics.login_failed.inc();
            tracing::warn!(%address, login_id, "login failed");
            return Err(invalid_credentials());
        };
        if !self
            .store
            .clear_failed_logins_unless_locked(&record.user.id, max_attempts, locked_since)
            .await?
        {
            self.metrics.login_locked.inc();
            return Err(account_locked());
        }
        let user = record.user.clone();
        if let Err(rejection) = self
            .plugins
            .user_will_log_in(&HookContext::for_user(&user.id, ""), &user)
            .await
        {
            tracing::info!(%address, user_id = %user.id, reason = %rejection.0, "login rejected by a plugin");
            return Err(Code::LoginRejectedByPlugin
                .with_message(format!("Login rejected by plugin: {}", rejection.0)));
        }
        let session = Session {
            id: new_id(),
            token: new_id(),
            user_id: user.id.clone(),
            create_at: now,
            expires_at: now + self.session_lifetime_ms(),
            csrf_token: new_id(),
            device_id: login.device_id,
            from_access_token: false,
        };
        self.store.create_session(&session).await?;
        self.plugins
            .user_has_logged_in(&HookContext::for_user(&user.id, &session.id), &user);
        Ok((user, session))
    }

    /// How long a web session lasts (`ServiceSettings.SessionLengthWebInHours`).
    pub fn session_lifetime_ms(&self) -> i64 {
        self.config.service_settings.session_length_web_in_hours * 3_600_000
    }

    /// Ends a session here and on every node, closing its websockets. Logging out
    /// with a personal access token ends nothing: the token stays valid until it is
    /// revoked, as in Mattermost.
    pub async fn logout(&self, auth: &Auth) -> AppResult<()> {
        if auth.session.from_access_token {
            return Ok(());
        }
        self.store.delete_session(&auth.session.token).await?;
        self.close_sockets_of_session(&auth.session.id);
        Ok(())
    }

    /// Closes the websockets opened under a session (or access token), here and on
    /// every node.
    pub(super) fn close_sockets_of_session(&self, session_id: &str) {
        self.hub.close_session_id(session_id);
        self.tell_cluster(ClusterMessage::SessionRevoked {
            session_id: session_id.to_string(),
        });
    }

    /// Ends every login session of a user and closes every websocket they have open,
    /// token-authenticated ones included, on every node.
    pub(super) async fn end_all_sessions_of(&self, user_id: &str) -> AppResult<()> {
        let mut ended = self.store.delete_sessions_of_user(user_id).await?;
        ended.extend(self.store.active_access_token_ids(user_id).await?);
        for session_id in ended {
            self.close_sockets_of_session(&session_id);
        }
        Ok(())
    }
}
