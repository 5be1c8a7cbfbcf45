//! Users' preferences (Mattermost's `(category, name) → value` settings the clients
//! keep on the server: theme, display settings, shown direct messages, flagged posts,
//! …): read, saved and deleted by their user (or an admin), each batch atomically,
//! and announced to the user's sockets on every node (`preferences_changed`,
//! `preferences_deleted`).

use super::events::{event, json_text};
use super::permissions::require_self_or_admin;
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::AppState;
use chorus_model::{events, Broadcast, Preference};

/// Most preferences one REST request may save or delete (Mattermost's limit).
pub const MAX_PREFERENCES_PER_REQUEST: usize = 100;
pub const CATEGORY_MAX: usize = 32;
pub const NAME_MAX: usize = 32;
/// Longest value, in characters.
pub const VALUE_MAX: usize = 20_000;

/// Which front door asks: REST requests are limited in size, plugins are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    Request,
    Plugin,
}

/// A category or name as a URL may carry it (`[A-Za-z0-9_-]`).
fn check_url_word(value: &str, name: &str) -> AppResult<()> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid_url_param(name))
    }
}

fn check_preference(preference: &Preference) -> AppResult<()> {
    if !chorus_model::is_valid_id(&preference.user_id) {
        return Err(Code::PreferenceUserIdInvalid.into());
    }
    if preference.category.is_empty() || preference.category.len() > CATEGORY_MAX {
        return Err(Code::PreferenceCategoryInvalid
            .with_message(format!("category must be 1-{CATEGORY_MAX} bytes.")));
    }
    if preference.name.len() > NAME_MAX {
        return Err(Code::PreferenceNameInvalid
            .with_message(format!("name must be at most {NAME_MAX} bytes.")));
    }
    if preference.value.chars().count() > VALUE_MAX {
        return Err(Code::PreferenceValueInvalid
            .with_message(format!("value must be at most {VALUE_MAX} characters.")));
    }
    if preference.category == "theme"
        && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&preference.value)
            .is_err()
    {
        return Err(Code::PreferenceThemeInvalid.into());
    }
    Ok(())
}

/// The actor may change `user_id`'s preferences, in a batch of an acceptable size.
fn check_batch_of(
    actor: Actor<'_>,
    user_id: &str,
    preferences: &[Preference],
    batch: Batch,
) -> AppResult<()> {
    require_id(user_id, "user_id")?;
    require_self_or_admin(actor, user_id)?;
    if batch == Batch::Request
        && (preferences.is_empty() || preferences.len() > MAX_PREFERENCES_PER_REQUEST)
    {
        return Err(AppError::invalid_param("preferences").with_detail(format!(
            "between 1 and {MAX_PREFERENCES_PER_REQUEST} preferences per request"
        )));
    }
    Ok(())
}

impl AppState {
    /// `GET /users/{id}/preferences[/{category}]` and the plugin API's
    /// `GetPreferencesForUser`. A category without preferences is 404, as in Mattermost.
    pub async fn preferences_of(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        category: Option<&str>,
    ) -> AppResult<Vec<Preference>> {
        require_id(user_id, "user_id")?;
        if let Some(category) = category {
            check_url_word(category, "category")?;
        }
        require_self_or_admin(actor, user_id)?;
        let found = self.store.preferences(user_id, category, None).await?;
        if category.is_some() && found.is_empty() {
            return Err(Code::PreferenceCategoryNotFound.into());
        }
        Ok(found)
    }

    /// `GET /users/{id}/preferences/{category}/name/{name}`: a missing one is 400, as
    /// in Mattermost.
    pub async fn preference(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        category: &str,
        name: &str,
    ) -> AppResult<Preference> {
        require_id(user_id, "user_id")?;
        check_url_word(category, "category")?;
        check_url_word(name, "preference_name")?;
        require_self_or_admin(actor, user_id)?;
        self.store
            .preferences(user_id, Some(category), Some(name))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Code::PreferenceNotFound.into())
    }

    /// `PUT /users/{id}/preferences` and the plugin API's `UpdatePreferencesForUser`:
    /// every preference belongs to `user_id` and is valid, or nothing is saved. A
    /// flagged post must be one the user may read.
    pub async fn save_preferences(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        preferences: Vec<Preference>,
        batch: Batch,
    ) -> AppResult<()> {
        check_batch_of(actor, user_id, &preferences, batch)?;
        for preference in &preferences {
            if preference.category == FLAGGED_POST {
                self.readable_post(actor, &preference.name)
                    .await
                    .map_err(|err| match err.code() {
                        Code::PostNotFound | Code::InvalidUrlParam => {
                            AppError::invalid_param("preference.name")
                        }
                        _ => err,
                    })?;
            }
        }
        if preferences.iter().any(|p| p.user_id != user_id) {
            return Err(Code::PreferenceForOtherUser.into());
        }
        for preference in &preferences {
            check_preference(preference)?;
        }
        self.store.save_preferences(&preferences).await?;
        self.announce_preferences(events::PREFERENCES_CHANGED, user_id, &preferences)
            .await
    }

    /// `POST /users/{id}/preferences/delete` and the plugin API's
    /// `DeletePreferencesForUser`; deleting what is not there is no error.
    pub async fn delete_preferences(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        preferences: Vec<Preference>,
        batch: Batch,
    ) -> AppResult<()> {
        check_batch_of(actor, user_id, &preferences, batch)?;
        if preferences.iter().any(|p| p.user_id != user_id) {
            return Err(Code::PreferenceDeleteForOtherUser.into());
        }
        self.store.delete_preferences(&preferences).await?;
        self.announce_preferences(events::PREFERENCES_DELETED, user_id, &preferences)
            .await
    }

    /// Tells the user's sockets, on every node, what changed.
    async fn announce_preferences(
        &self,
        event_name: &str,
        user_id: &str,
        preferences: &[Preference],
    ) -> AppResult<()> {
        self.publish(event(
            event_name,
            serde_json::json!({"preferences": json_text(&preferences)?}),
            Broadcast::to_user(user_id),
        ))
        .await
    }
}

/// The category of saved ("flagged") posts: the name is the post id.
pub const FLAGGED_POST: &str = "flagged_post";
