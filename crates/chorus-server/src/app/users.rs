//! Users: sign-up, passwords, profile changes, and profiles as others see them (with
//! other people's emails hidden).

use super::permissions::{load_channel, require_channel_visible, require_team_member};
use super::validate::{self, require_id};
use super::{Actor, Auth};
use crate::error::{AppError, AppResult, Code};
use crate::plugins::HookContext;
use crate::security::passwords::HashError;
use crate::store::UserFilter;
use crate::AppState;
use chorus_model::{
    new_id, now_millis, CreateUserRequest, User, ROLE_SYSTEM_ADMIN, ROLE_SYSTEM_USER,
    ROLE_SYSTEM_USER_ACCESS_TOKEN,
};
use std::net::IpAddr;

impl AppState {
    /// A user, deactivated or not, or Mattermost's 404: for what may concern either
    /// (their picture, their leaving a team, an author a plugin names).
    pub async fn any_user(&self, user_id: &str) -> AppResult<User> {
        require_id(user_id, "user_id")?;
        self.store
            .get_user(user_id)
            .await?
            .ok_or_else(|| AppError::from(Code::UserNotFound))
    }

    /// Checks that a user exists, for handlers that act on another user.
    pub async fn require_user(&self, user_id: &str) -> AppResult<User> {
        require_id(user_id, "user_id")?;
        self.store
            .get_user(user_id)
            .await?
            .filter(|u| u.delete_at == 0)
            .ok_or_else(|| AppError::from(Code::UserNotFound))
    }
}

/// Longest position a user may give (Mattermost's `UserPositionMaxRunes`).
const POSITION_MAX: usize = 128;
/// Longest locale code (`zh-TW`, `pt-BR`, with room for a script subtag).
const LOCALE_MAX: usize = 16;

/// What a profile change sets; `None` keeps the old value. `password` is the user's
/// current one, needed when they change their own email.
#[derive(Debug, Default)]
pub struct UserPatch {
    pub username: Option<String>,
    pub email: Option<String>,
    pub nickname: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub position: Option<String>,
    pub locale: Option<String>,
    /// Replaces the user's notification settings whole, as Mattermost's patch does.
    pub notify_props: Option<serde_json::Map<String, serde_json::Value>>,
    pub password: Option<String>,
}

/// Most a user's notification settings may take, as JSON.
const NOTIFY_PROPS_MAX_BYTES: usize = 16 * 1024;

/// A user's notification settings as they are kept: string values only, mention keys
/// lowercased without blank entries (Mattermost's `PreUpdate`), the defaults filled in.
fn checked_user_notify_props(
    mut props: serde_json::Map<String, serde_json::Value>,
) -> AppResult<serde_json::Map<String, serde_json::Value>> {
    if let Some((key, _)) = props.iter().find(|(_, v)| !v.is_string()) {
        return Err(Code::InvalidBody.with_message(format!("notify_props.{key} must be a string.")));
    }
    if serde_json::to_vec(&props).map_or(0, |json| json.len()) > NOTIFY_PROPS_MAX_BYTES {
        return Err(Code::UserInvalid.with_message(format!(
            "notify_props may take at most {NOTIFY_PROPS_MAX_BYTES} bytes."
        )));
    }
    if let Some(keys) = props.get("mention_keys").and_then(|v| v.as_str()) {
        let cleaned: Vec<String> = keys
            .split(',')
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
        props.insert("mention_keys".into(), cleaned.join(",").into());
    }
    Ok(chorus_model::with_defaults(
        props,
        chorus_model::USER_NOTIFY_DEFAULTS,
    ))
}

/// The system roles a user may hold.
pub const SYSTEM_ROLES: &[&str] = &[
    ROLE_SYSTEM_USER,
    ROLE_SYSTEM_ADMIN,
    ROLE_SYSTEM_USER_ACCESS_TOKEN,
];

impl AppState {
    /// `PUT /users/{id}/roles`: admins set a user's system roles, for example
    /// `system_user system_user_access_token` to let them create access tokens. The
    /// change applies to the user's next request on every node (sessions read roles
    /// from the user).
    pub async fn update_user_roles(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        roles: &str,
    ) -> AppResult<()> {
        require_id(user_id, "user_id")?;
        let names: Vec<&str> = roles.split_whitespace().collect();
        let well_formed = names.iter().all(|r| super::roles::valid_role_name(r));
        if !well_formed || names == [ROLE_SYSTEM_ADMIN] {
            return Err(AppError::invalid_param("roles"));
        }
        super::permissions::require_admin(actor)?;
        let user = self.require_user(user_id).await?;
        if let Some(unknown) = names.iter().find(|r| !SYSTEM_ROLES.contains(r)) {
            return Err(Code::RoleNotFound.with_message(format!(
                "There is no role {unknown:?}; system roles are {}.",
                SYSTEM_ROLES.join(", ")
            )));
        }
        if user.is_bot && names.contains(&ROLE_SYSTEM_ADMIN) {
            return Err(AppError::invalid_param("roles"));
        }
        let mut normalized: Vec<&str> = Vec::new();
        for name in names {
            if !normalized.contains(&name) {
                normalized.push(name);
            }
        }
        if !self
            .store
            .update_user_roles(user_id, &normalized.join(" "), now_millis())
            .await?
        {
            return Err(Code::LastAdmin.into());
        }
        tracing::info!(user_id, roles = %normalized.join(" "), "user roles changed");
        Ok(())
    }
}

/// Most ids [`AppState::users_by_ids`] looks up at once.
pub const MAX_IDS_PER_REQUEST: usize = 1000;

/// What someone signing up gives.
pub type SignUp = CreateUserRequest;

/// A password hashing failure as the client sees it: a busy server asks it to retry.
pub(super) fn hashing_failed(state: &AppState, err: HashError) -> AppError {
    match err {
        HashError::Busy(_) => {
            state.metrics.password_hash_busy.inc();
            Code::PasswordHashingBusy
                .with_message("Too many logins are being checked right now; try again in a moment.")
                .with_retry_after(1)
        }
        HashError::Failed(reason) => AppError::Internal(reason),
    }
}

fn username_taken() -> AppError {
    Code::UsernameTaken.with_message("An account with that username already exists.")
}

fn email_taken() -> AppError {
    Code::EmailTaken.with_message("An account with that email already exists.")
}

/// Hides other people's email addresses from non-admins, as Mattermost's default
/// privacy settings do.
pub(super) fn sanitize(user: User, viewer: Actor<'_>) -> User {
    if viewer.user_id() != Some(user.id.as_str()) && !viewer.is_admin() {
        public_view(user)
    } else {
        user
    }
}

/// A user as anyone may see them: without their email address or notification settings.
pub(super) fn public_view(mut user: User) -> User {
    user.email.clear();
    // Mention keys and the like are the user's own business (Mattermost's
    // `ClearNonProfileFields`).
    user.notify_props.clear();
    user
}

impl AppState {
    /// Counts a login or sign-up attempt against the client's address.
    pub(super) fn throttle_logins(&self, address: IpAddr) -> AppResult<()> {
        self.login_throttle.check(address).map_err(|wait| {
            tracing::warn!(%address, "login attempts throttled");
            self.metrics.login_throttled.inc();
            Code::RateLimited
                .with_message(format!(
                    "Too many login attempts from this address; try again in {} s.",
                    wait.as_secs().max(1)
                ))
                .with_retry_after(wait.as_secs_f64().ceil() as u64)
        })
    }

    /// A new account: anyone may sign up where the settings allow it (the first user
    /// always may), admins always. Sign-ups by others count against `address`.
    pub async fn sign_up(
        &self,
        by: Option<&Auth>,
        address: IpAddr,
        request: SignUp,
    ) -> AppResult<User> {
        let is_admin = by.is_some_and(|a| a.is_admin());
        if !is_admin {
            self.throttle_logins(address)?;
        }
        if !is_admin && self.store.any_user_exists().await? {
            let settings = &self.config.team_settings;
            if !settings.enable_user_creation {
                return Err(Code::SignupDisabled.into());
            }
            if !settings.enable_open_server {
                return Err(Code::NoOpenServer.into());
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
        ] {
            validate::max_len(Code::UserInvalid, field, value, 64)?;
        }
        validate::max_len(
            Code::UserInvalid,
            "position",
            &request.position,
            POSITION_MAX,
        )?;
        if self.store.get_user_by_username(&username).await?.is_some() {
            return Err(username_taken());
        }
        if self.store.get_user_for_login(&email).await?.is_some() {
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
        let hash = self
            .passwords
            .hash(request.password)
            .await
            .map_err(|e| hashing_failed(self, e))?;
        let created = match self.store.create_user(&user, &hash).await {
            Ok(created) => created,
            // Lost a race with a concurrent sign-up: say which of the two was taken.
            Err(err) if err.is_unique_violation() => {
                return Err(
                    if self
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
        let actor = by.map_or(created.id.as_str(), |a| a.user.id.as_str());
        self.plugins
            .user_has_been_created(&HookContext::for_user(actor, ""), &created);
        Ok(created)
    }

    /// Sets a password: one's own giving the current one, or anyone's as a system
    /// admin. Setting a password also unlocks an account locked by failed logins, as
    /// in Mattermost.
    pub async fn update_password(
        &self,
        auth: &Auth,
        user_id: &str,
        current_password: String,
        new_password: String,
    ) -> AppResult<()> {
        let user = self.require_user(user_id).await?;
        let own = user.id == auth.user.id;
        if !own && !auth.is_admin() {
            return Err(AppError::forbidden(
                "You do not have the appropriate permissions to change this user's password.",
            ));
        }
        if user.is_bot {
            return Err(Code::BotPassword.into());
        }
        validate::password(&new_password)?;
        if own && !auth.is_admin() {
            let current = self.store.password_hash(&user.id).await?;
            let matches = self
                .passwords
                .verify(current_password, current)
                .await
                .map_err(|e| hashing_failed(self, e))?;
            if !matches {
                return Err(Code::PasswordIncorrect.with_message("The \"Current Password\" you entered is incorrect. Please check that Caps Lock is off and try again."));
            }
        }
        let hash = self
            .passwords
            .hash(new_password)
            .await
            .map_err(|e| hashing_failed(self, e))?;
        self.store
            .set_password_hash(&user.id, &hash, now_millis())
            .await?;
        Ok(())
    }

    /// Changes a user's profile: users their own, admins and plugins anyone's. A user
    /// changing their own email gives their password, as in Mattermost; notify props
    /// are replaced whole. Roles,
    /// passwords, props and activation have their own operations and never change
    /// here. Everyone is told with `user_updated`.
    pub async fn patch_user(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        patch: UserPatch,
    ) -> AppResult<User> {
        let mut user = self.require_user(user_id).await?;
        if actor.user_id() != Some(user.id.as_str()) && !actor.is_admin() {
            return Err(AppError::forbidden(
                "You do not have the appropriate permissions: you can only change your own profile.",
            ));
        }
        let old_email = user.email.clone();
        if let Some(username) = patch.username {
            user.username = username.trim().to_lowercase();
            validate::username(&user.username)?;
        }
        if let Some(email) = patch.email {
            user.email = email.trim().to_lowercase();
            validate::email(&user.email)?;
        }
        for (field, value, limit, patched) in [
            ("nickname", &mut user.nickname, 64, patch.nickname),
            ("first_name", &mut user.first_name, 64, patch.first_name),
            ("last_name", &mut user.last_name, 64, patch.last_name),
            ("position", &mut user.position, POSITION_MAX, patch.position),
        ] {
            if let Some(patched) = patched {
                validate::max_len(Code::UserInvalid, field, &patched, limit)?;
                *value = patched;
            }
        }
        if let Some(props) = patch.notify_props {
            user.notify_props = checked_user_notify_props(props)?;
        }
        if let Some(locale) = patch.locale {
            if locale.is_empty() || locale.len() > LOCALE_MAX {
                return Err(Code::UserInvalid.with_message(format!(
                    "{locale:?} is not a locale: give one such as \"en\" or \"pt-BR\"."
                )));
            }
            user.locale = locale;
        }
        if user.email != old_email && actor.user_id() == Some(user.id.as_str()) {
            self.check_own_password(&user, patch.password).await?;
        }
        if let Some(other) = self.store.get_user_by_username(&user.username).await? {
            if other.id != user.id {
                return Err(username_taken());
            }
        }
        if user.email != old_email && self.store.get_user_for_login(&user.email).await?.is_some() {
            return Err(email_taken());
        }
        user.update_at = now_millis();
        match self.store.update_user_profile(&user).await {
            Ok(true) => {}
            Ok(false) => return Err(Code::UserNotFound.into()),
            // Lost a race with another change: say which of the two was taken.
            Err(err) if err.is_unique_violation() => {
                let username_owner = self.store.get_user_by_username(&user.username).await?;
                return Err(if username_owner.is_some_and(|o| o.id != user.id) {
                    username_taken()
                } else {
                    email_taken()
                });
            }
            Err(err) => return Err(err.into()),
        }
        self.publish_user_updated(&user.id).await?;
        Ok(user)
    }

    /// A user's own password, to confirm a change that could take over the account.
    async fn check_own_password(&self, user: &User, password: Option<String>) -> AppResult<()> {
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(AppError::invalid_param("password")
                .with_detail("Changing your email needs your current password in \"password\"."));
        };
        let current = self.store.password_hash(&user.id).await?;
        let matches = self
            .passwords
            .verify(password, current)
            .await
            .map_err(|e| hashing_failed(self, e))?;
        if matches {
            Ok(())
        } else {
            Err(Code::PasswordCheckFailed.into())
        }
    }

    /// A profile, as the actor may see it.
    pub async fn get_user(&self, actor: Actor<'_>, user_id: &str) -> AppResult<User> {
        let user = self.any_user(user_id).await?;
        Ok(sanitize(user, actor))
    }

    pub async fn user_by_username(&self, actor: Actor<'_>, username: &str) -> AppResult<User> {
        let user = self
            .store
            .get_user_by_username(username)
            .await?
            .ok_or_else(|| AppError::from(Code::UserNotFound))?;
        Ok(sanitize(user, actor))
    }

    pub async fn users_by_ids(&self, actor: Actor<'_>, ids: &[String]) -> AppResult<Vec<User>> {
        if ids.len() > MAX_IDS_PER_REQUEST {
            return Err(Code::InvalidBody.with_message(format!(
                "At most {MAX_IDS_PER_REQUEST} user ids can be looked up at once."
            )));
        }
        for id in ids {
            require_id(id, "user_ids")?;
        }
        let users = self.store.get_users_by_ids(ids).await?;
        Ok(users.into_iter().map(|u| sanitize(u, actor)).collect())
    }

    /// A page of users, optionally only those in a team or channel the actor may see.
    pub async fn list_users(
        &self,
        actor: Actor<'_>,
        filter: &UserFilter,
        page: i64,
        per_page: i64,
    ) -> AppResult<Vec<User>> {
        if let Some(team_id) = &filter.in_team {
            require_id(team_id, "in_team")?;
            require_team_member(self, actor, team_id).await?;
        }
        for channel_id in [&filter.in_channel, &filter.not_in_channel]
            .into_iter()
            .flatten()
        {
            let channel = load_channel(self, channel_id).await?;
            require_channel_visible(self, actor, &channel).await?;
        }
        let users = self.store.list_users(filter, page, per_page).await?;
        Ok(users.into_iter().map(|u| sanitize(u, actor)).collect())
    }
}
