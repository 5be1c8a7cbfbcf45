//! Custom statuses: an emoji and a short text a user shows beside their name, maybe
//! until a time, kept in the user's `customStatus` prop as Mattermost does (so clients
//! read it from the user), with the five most recent in a preference. A change tells
//! every client with `user_updated`; on any node, since both live in the database.

use super::events::event;
use super::permissions::require_self_or_admin;
use super::preferences::Batch;
use super::reactions::is_system_emoji;
use super::users::public_view;
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::store::UserProp;
use crate::AppState;
use chorus_model::{
    events, now_millis, Broadcast, CustomStatus, Preference, CUSTOM_STATUS_DURATIONS,
    PREFERENCE_CATEGORY_CUSTOM_STATUS, PREFERENCE_NAME_RECENT_CUSTOM_STATUSES,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Mattermost's `CustomStatusTextMaxRunes`: longer texts are cut, not refused.
pub const CUSTOM_STATUS_TEXT_MAX: usize = 100;
/// How many recent custom statuses are remembered (`MaxRecentCustomStatuses`).
pub const RECENT_CUSTOM_STATUSES_MAX: usize = 5;

/// Go's zero `time.Time` in JSON: no expiry.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn invalid(why: &str) -> AppError {
    Code::InvalidParam.with_message(format!("Invalid custom_status: {why}."))
}

/// The status as it will be kept, or why it cannot be: Mattermost's
/// `AreDurationAndExpirationTimeValid` and `PreSave`, and a known emoji.
fn checked(mut status: CustomStatus, now: OffsetDateTime) -> AppResult<CustomStatus> {
    if status.emoji.is_empty() && status.text.is_empty() {
        return Err(invalid("it needs an emoji or a text"));
    }
    if !status.emoji.is_empty() && !is_system_emoji(&status.emoji) {
        return Err(invalid(&format!(
            ":{}: is not an emoji this server knows",
            status.emoji
        )));
    }
    // Go's zero time (what Mattermost's clients send for "never") or nothing.
    let expires = match status.expires_at.as_str() {
        "" => None,
        text => Some(
            OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|_| invalid("expires_at is not an RFC 3339 time"))?,
        ),
    }
    .filter(|at| *at != time::macros::datetime!(0001-01-01 0:00 UTC));
    let valid = match (status.duration.as_str(), expires) {
        ("", None) => true,
        (_, Some(at)) if at < now => false,
        ("", Some(_)) => {
            status.duration = "date_and_time".into();
            true
        }
        (duration, Some(_)) => CUSTOM_STATUS_DURATIONS.contains(&duration),
        (_, None) => false,
    };
    if !valid {
        return Err(invalid(
            "a duration needs an expires_at in the future, and must be one of thirty_minutes, \
             one_hour, four_hours, today, this_week or date_and_time",
        ));
    }
    if expires.is_none() {
        // As Mattermost's JSON has it, which its clients read as "never".
        status.expires_at = GO_ZERO_TIME.into();
    }
    if status.text.chars().count() > CUSTOM_STATUS_TEXT_MAX {
        status.text = status.text.chars().take(CUSTOM_STATUS_TEXT_MAX).collect();
    }
    Ok(status)
}

impl AppState {
    fn require_custom_statuses(&self) -> AppResult<()> {
        if self.config.team_settings.enable_custom_user_statuses {
            Ok(())
        } else {
            Err(Code::CustomStatusDisabled.into())
        }
    }

    /// `PUT /users/{id}/status/custom`: the user (or an admin) sets it.
    pub async fn set_custom_status(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        status: CustomStatus,
    ) -> AppResult<CustomStatus> {
        self.require_custom_statuses()?;
        require_id(user_id, "user_id")?;
        let status = checked(status, OffsetDateTime::now_utc())?;
        require_self_or_admin(actor, user_id)?;
        let text = serde_json::to_string(&status).map_err(|e| AppError::Internal(e.to_string()))?;
        self.write_custom_status(user_id, &text).await?;
        let mut recent = self.recent_custom_statuses(user_id).await?;
        recent.retain(|s| s.text != status.text);
        recent.insert(0, status.clone());
        recent.truncate(RECENT_CUSTOM_STATUSES_MAX);
        self.save_recent_custom_statuses(actor, user_id, &recent)
            .await?;
        Ok(status)
    }

    /// `DELETE /users/{id}/status/custom`.
    pub async fn remove_custom_status(&self, actor: Actor<'_>, user_id: &str) -> AppResult<()> {
        self.require_custom_statuses()?;
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)?;
        self.write_custom_status(user_id, "").await
    }

    /// `POST /users/{id}/status/custom/recent/delete`: forgets one recent status.
    pub async fn remove_recent_custom_status(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        status: CustomStatus,
    ) -> AppResult<()> {
        self.require_custom_statuses()?;
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)?;
        let mut recent = self.recent_custom_statuses(user_id).await?;
        let before = recent.len();
        recent.retain(|s| *s != status);
        if recent.len() != before {
            self.save_recent_custom_statuses(actor, user_id, &recent)
                .await?;
        }
        Ok(())
    }

    async fn write_custom_status(&self, user_id: &str, text: &str) -> AppResult<()> {
        if !self
            .store
            .set_user_prop(user_id, UserProp::CustomStatus, text, now_millis())
            .await?
        {
            return Err(Code::UserNotFound.into());
        }
        self.publish_user_updated(user_id).await
    }

    /// `user_updated` with the user as everyone may see them, and in full to the user.
    pub(super) async fn publish_user_updated(&self, user_id: &str) -> AppResult<()> {
        let user = self.any_user(user_id).await?;
        let to_others = Broadcast {
            omit_users: Some([(user_id.to_string(), true)].into_iter().collect()),
            ..Broadcast::default()
        };
        self.publish(event(
            events::USER_UPDATED,
            serde_json::json!({ "user": public_view(user.clone()) }),
            to_others,
        ))
        .await?;
        self.publish(event(
            events::USER_UPDATED,
            serde_json::json!({ "user": user }),
            Broadcast::to_user(user_id),
        ))
        .await
    }

    async fn recent_custom_statuses(&self, user_id: &str) -> AppResult<Vec<CustomStatus>> {
        let saved = self
            .store
            .preferences(
                user_id,
                Some(PREFERENCE_CATEGORY_CUSTOM_STATUS),
                Some(PREFERENCE_NAME_RECENT_CUSTOM_STATUSES),
            )
            .await?;
        // A value some client wrote in another shape is started afresh.
        Ok(saved
            .first()
            .and_then(|p| serde_json::from_str(&p.value).ok())
            .unwrap_or_default())
    }

    async fn save_recent_custom_statuses(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        recent: &[CustomStatus],
    ) -> AppResult<()> {
        let preference = Preference {
            user_id: user_id.to_string(),
            category: PREFERENCE_CATEGORY_CUSTOM_STATUS.into(),
            name: PREFERENCE_NAME_RECENT_CUSTOM_STATUSES.into(),
            value: serde_json::to_string(recent).map_err(|e| AppError::Internal(e.to_string()))?,
        };
        self.save_preferences(actor, user_id, vec![preference], Batch::Request)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(emoji: &str, text: &str, duration: &str, expires_at: &str) -> CustomStatus {
        CustomStatus {
            emoji: emoji.into(),
            text: text.into(),
            duration: duration.into(),
            expires_at: expires_at.into(),
        }
    }

    #[test]
    fn durations_need_a_future_expiry_and_long_texts_are_cut() {
        let now = time::macros::datetime!(2026-12-03 12:00 UTC);
        let ok = |s| checked(s, now).is_ok();
        assert!(ok(status("palm_tree", "Away", "", "")));
        assert!(ok(status("", "Lunch", "", "0001-01-01T00:00:00Z")));
        assert!(ok(status("coffee", "", "one_hour", "2026-12-03T13:00:00Z")));
        assert!(!ok(status("coffee", "", "one_hour", "")));
        assert!(!ok(status(
            "coffee",
            "",
            "one_hour",
            "2026-12-03T11:00:00Z"
        )));
        assert!(!ok(status("coffee", "", "forever", "2026-12-04T00:00:00Z")));
        assert!(!ok(status("", "", "", "")));
        assert!(!ok(status("not_an_emoji_at_all", "x", "", "")));
        assert!(!ok(status("coffee", "x", "", "tomorrow")));
        let dated = checked(status("coffee", "x", "", "2026-12-04T00:00:00+01:00"), now).unwrap();
        assert_eq!(dated.duration, "date_and_time");
        let long = checked(status("", &"é".repeat(150), "", ""), now).unwrap();
        assert_eq!(long.text.chars().count(), CUSTOM_STATUS_TEXT_MAX);
    }
}
