//! Personal access tokens: created by users holding `system_user_access_token` (or
//! admins, or for bots), shown once, kept as a hash, and honoured like a login session
//! by every front door until disabled or revoked, which closes the websockets opened
//! with them on every node at once.
//!
//! A token's id doubles as the session id of what it authenticates, so the cluster's
//! `SessionRevoked` message and the resync check (`live_session_ids`) cover token
//! sockets without a second mechanism.

use super::permissions::require_self_or_admin;
use super::sessions::Auth;
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::security::digest::sha256_hex;
use crate::store::Session;
use crate::AppState;
use chorus_model::{new_id, now_millis, UserAccessToken, ROLE_SYSTEM_USER_ACCESS_TOKEN};

/// Mattermost's limit on a token's description, in bytes.
pub const DESCRIPTION_MAX: usize = 255;

/// What is stored of a token. A token is 130 random bits, so a plain SHA-256 is enough:
/// no salt or slow hash is needed against guessing, and it keeps the lookup one
/// indexed equality.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes(), 32)
}

/// Admins, plugins and the server manage anyone's tokens; a user needs the
/// `system_user_access_token` role, as in Mattermost's default permissions.
fn require_token_permission(actor: Actor<'_>) -> AppResult<()> {
    match actor {
        Actor::User(auth)
            if !auth.is_admin() && !auth.user.has_role(ROLE_SYSTEM_USER_ACCESS_TOKEN) =>
        {
            Err(AppError::forbidden(
                "You do not have the appropriate permissions: personal access tokens need the \
                 system_user_access_token role, which a system admin grants.",
            ))
        }
        _ => Ok(()),
    }
}

fn token_not_found() -> AppError {
    Code::AccessTokenNotFound.into()
}

/// The signed-in user an access token stands for, or `None` when the text is no
/// active token of an active user. Tokens of people (not bots) only count while
/// `EnableUserAccessTokens` is on.
pub(super) async fn auth_for_access_token(
    state: &AppState,
    token: &str,
) -> AppResult<Option<Auth>> {
    let Some((access_token, user)) = state.store.access_token_by_hash(&token_hash(token)).await?
    else {
        return Ok(None);
    };
    if !user.is_bot && !state.config.service_settings.enable_user_access_tokens {
        return Ok(None);
    }
    let session = Session {
        id: access_token.id,
        token: String::new(),
        user_id: user.id.clone(),
        create_at: 0,
        expires_at: i64::MAX,
        // No header can match: a token never authenticates a cookie-borne write.
        csrf_token: String::new(),
        device_id: String::new(),
        from_access_token: true,
    };
    Ok(Some(Auth { session, user }))
}

impl AppState {
    /// `POST /users/{id}/tokens`: the new token, with its secret shown this once.
    pub async fn create_access_token(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        description: &str,
    ) -> AppResult<UserAccessToken> {
        let user = self.require_user(user_id).await?;
        if description.is_empty() {
            return Err(AppError::invalid_param("description"));
        }
        if description.len() > DESCRIPTION_MAX {
            return Err(Code::AccessTokenDescriptionInvalid.with_message(format!(
                "description must be at most {DESCRIPTION_MAX} bytes."
            )));
        }
        require_token_permission(actor)?;
        require_self_or_admin(actor, user_id)?;
        if !user.is_bot && !self.config.service_settings.enable_user_access_tokens {
            return Err(Code::AccessTokensDisabled.into());
        }
        let token = UserAccessToken {
            id: new_id(),
            token: new_id(),
            user_id: user.id,
            description: description.to_string(),
            is_active: true,
        };
        self.store
            .create_access_token(&token, &token_hash(&token.token), now_millis())
            .await?;
        tracing::info!(user_id, token_id = %token.id, "personal access token created");
        Ok(token)
    }

    /// `GET /users/{id}/tokens`.
    pub async fn access_tokens_of_user(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        page: i64,
        per_page: i64,
    ) -> AppResult<Vec<UserAccessToken>> {
        require_id(user_id, "user_id")?;
        require_token_permission(actor)?;
        require_self_or_admin(actor, user_id)?;
        Ok(self
            .store
            .list_access_tokens(Some(user_id), page * per_page, per_page)
            .await?)
    }

    /// `GET /users/tokens`: everyone's, for admins.
    pub async fn all_access_tokens(
        &self,
        actor: Actor<'_>,
        page: i64,
        per_page: i64,
    ) -> AppResult<Vec<UserAccessToken>> {
        super::permissions::require_admin(actor)?;
        Ok(self
            .store
            .list_access_tokens(None, page * per_page, per_page)
            .await?)
    }

    /// `GET /users/tokens/{id}`; someone else's token is refused as forbidden, as in
    /// Mattermost (the id is not a secret).
    pub async fn access_token(
        &self,
        actor: Actor<'_>,
        token_id: &str,
    ) -> AppResult<UserAccessToken> {
        require_token_permission(actor)?;
        let token = self.load_access_token(token_id).await?;
        require_self_or_admin(actor, &token.user_id)?;
        Ok(token)
    }

    async fn load_access_token(&self, token_id: &str) -> AppResult<UserAccessToken> {
        if token_id.is_empty() {
            return Err(AppError::invalid_param("token_id"));
        }
        require_id(token_id, "token_id")?;
        self.store
            .get_access_token(token_id)
            .await?
            .ok_or_else(token_not_found)
    }

    /// `POST /users/tokens/revoke`: deletes the token; it stops working everywhere at once.
    pub async fn revoke_access_token(&self, actor: Actor<'_>, token_id: &str) -> AppResult<()> {
        require_token_permission(actor)?;
        let token = self.load_access_token(token_id).await?;
        require_self_or_admin(actor, &token.user_id)?;
        if !self.store.delete_access_token(&token.id).await? {
            return Err(token_not_found());
        }
        tracing::info!(token_id, user_id = %token.user_id, "personal access token revoked");
        self.close_sockets_of_session(&token.id);
        Ok(())
    }

    /// `POST /users/tokens/disable|enable`: a disabled token authenticates nothing
    /// until enabled again.
    pub async fn set_access_token_active(
        &self,
        actor: Actor<'_>,
        token_id: &str,
        active: bool,
    ) -> AppResult<()> {
        require_token_permission(actor)?;
        let token = self.load_access_token(token_id).await?;
        require_self_or_admin(actor, &token.user_id)?;
        if !self
            .store
            .set_access_token_active(&token.id, active)
            .await?
        {
            return Err(token_not_found());
        }
        if !active {
            self.close_sockets_of_session(&token.id);
        }
        Ok(())
    }
}
