//! Incoming webhooks: team admins (and system admins) make, list, change and delete
//! them for channels they can post in; `POST /hooks/{id}` then posts a Slack-shaped
//! message as the hook's owner, through the same [`AppState::create_post`] as every
//! post (hooks, events, mentions).

use super::permissions::{is_channel_member, load_channel, load_team, require_team_admin};
use super::validate::{self, require_id};
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::AppState;
use chorus_model::{
    new_id, now_millis, Channel, IncomingWebhook, IncomingWebhookRequest, Post,
    POST_TYPE_SLACK_ATTACHMENT,
};

pub const DISPLAY_NAME_MAX: usize = 64;
pub const DESCRIPTION_MAX: usize = 500;
pub const USERNAME_MAX: usize = 64;
pub const ICON_URL_MAX: usize = 1024;

/// What may change in a hook (`PUT /hooks/incoming/{id}` sends the whole hook).
#[derive(Debug, Clone, Default)]
pub struct HookFields {
    pub channel_id: String,
    pub display_name: String,
    pub description: String,
    pub username: String,
    pub icon_url: String,
    pub channel_locked: bool,
}

fn check_fields(fields: &HookFields) -> AppResult<()> {
    for (code, name, value, max) in [
        (
            Code::HookDisplayNameInvalid,
            "display_name",
            &fields.display_name,
            DISPLAY_NAME_MAX,
        ),
        (
            Code::HookDescriptionInvalid,
            "description",
            &fields.description,
            DESCRIPTION_MAX,
        ),
        (
            Code::HookUsernameInvalid,
            "username",
            &fields.username,
            USERNAME_MAX,
        ),
        (
            Code::HookIconUrlInvalid,
            "icon_url",
            &fields.icon_url,
            ICON_URL_MAX,
        ),
    ] {
        validate::max_len(code, name, value, max)?;
    }
    Ok(())
}

/// Slack's `<url|text>` links as Markdown links.
pub(super) fn slack_links_to_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let link = after.find('>').and_then(|end| {
            let inner = &after[..end];
            let (url, label) = inner.split_once('|')?;
            let plain = |s: &str| !s.is_empty() && !s.contains(['<', '\n']);
            (plain(url) && plain(label)).then(|| (format!("[{label}]({url})"), end))
        });
        match link {
            Some((markdown, end)) => {
                out.push_str(&markdown);
                rest = &after[end + 1..];
            }
            None => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl AppState {
    fn require_incoming_webhooks(&self) -> AppResult<()> {
        if self.config.service_settings.enable_incoming_webhooks {
            Ok(())
        } else {
            Err(Code::IncomingWebhooksDisabled.into())
        }
    }

    async fn require_hook_manager(&self, actor: Actor<'_>, team_id: &str) -> AppResult<()> {
        require_team_admin(self, actor, team_id, "incoming webhooks").await
    }

    /// A channel of a team that `user_id` may post in with a hook: open channels of
    /// the team, private ones they belong to.
    async fn hook_channel(&self, actor: Actor<'_>, channel_id: &str) -> AppResult<Channel> {
        require_id(channel_id, "channel_id")?;
        let channel = load_channel(self, channel_id).await?;
        if channel.team_id.is_empty() || channel.delete_at != 0 {
            return Err(Code::HookChannelInvalid.into());
        }
        if channel.channel_type != "O"
            && !actor.is_admin()
            && !is_channel_member(self, actor, &channel).await?
        {
            return Err(Code::HookChannelInvalid.into());
        }
        Ok(channel)
    }

    /// `POST /hooks/incoming`.
    pub async fn create_incoming_webhook(
        &self,
        actor: Actor<'_>,
        fields: HookFields,
    ) -> AppResult<IncomingWebhook> {
        self.require_incoming_webhooks()?;
        check_fields(&fields)?;
        let channel = self.hook_channel(actor, &fields.channel_id).await?;
        self.require_hook_manager(actor, &channel.team_id).await?;
        let Some(owner) = actor.user_id() else {
            return Err(AppError::forbidden("Incoming webhooks belong to a user."));
        };
        let now = now_millis();
        let hook = IncomingWebhook {
            id: new_id(),
            create_at: now,
            update_at: now,
            delete_at: 0,
            user_id: owner.to_string(),
            channel_id: channel.id,
            team_id: channel.team_id,
            display_name: fields.display_name,
            description: fields.description,
            username: fields.username,
            icon_url: fields.icon_url,
            channel_locked: fields.channel_locked,
        };
        self.store.insert_incoming_webhook(&hook).await?;
        Ok(hook)
    }

    /// A live hook the actor manages.
    async fn managed_hook(&self, actor: Actor<'_>, hook_id: &str) -> AppResult<IncomingWebhook> {
        require_id(hook_id, "hook_id")?;
        let hook = self
            .store
            .get_incoming_webhook(hook_id)
            .await?
            .ok_or_else(|| AppError::from(Code::IncomingWebhookNotFound))?;
        self.require_hook_manager(actor, &hook.team_id).await?;
        Ok(hook)
    }

    /// `GET /hooks/incoming/{id}`.
    pub async fn incoming_webhook(
        &self,
        actor: Actor<'_>,
        hook_id: &str,
    ) -> AppResult<IncomingWebhook> {
        self.require_incoming_webhooks()?;
        self.managed_hook(actor, hook_id).await
    }

    /// `GET /hooks/incoming?team_id&page&per_page`: a team's hooks for its admins, every
    /// hook for system admins.
    pub async fn incoming_webhooks(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        page: i64,
        per_page: i64,
    ) -> AppResult<Vec<IncomingWebhook>> {
        self.require_incoming_webhooks()?;
        if team_id.is_empty() {
            if !actor.is_admin() {
                return Err(AppError::forbidden(
                    "Only system admins list the hooks of every team; name a team_id.",
                ));
            }
        } else {
            load_team(self, team_id).await?;
            self.require_hook_manager(actor, team_id).await?;
        }
        let per_page = per_page.clamp(1, validate::MAX_PER_PAGE);
        let hooks = self
            .store
            .list_incoming_webhooks(team_id, "", page.max(0).saturating_mul(per_page), per_page)
            .await?;
        Ok(hooks)
    }

    /// `PUT /hooks/incoming/{id}`: the channel may change within the hook's team.
    pub async fn update_incoming_webhook(
        &self,
        actor: Actor<'_>,
        hook_id: &str,
        fields: HookFields,
    ) -> AppResult<IncomingWebhook> {
        self.require_incoming_webhooks()?;
        check_fields(&fields)?;
        let old = self.managed_hook(actor, hook_id).await?;
        let channel_id = if fields.channel_id.is_empty() || fields.channel_id == old.channel_id {
            old.channel_id.clone()
        } else {
            let channel = self.hook_channel(actor, &fields.channel_id).await?;
            if channel.team_id != old.team_id {
                return Err(Code::HookChannelInvalid
                    .with_message("A hook's channel must stay in the hook's team."));
            }
            channel.id
        };
        let hook = IncomingWebhook {
            update_at: now_millis().max(old.update_at + 1),
            channel_id,
            display_name: fields.display_name,
            description: fields.description,
            username: fields.username,
            icon_url: fields.icon_url,
            channel_locked: fields.channel_locked,
            ..old
        };
        if !self.store.update_incoming_webhook(&hook).await? {
            return Err(Code::IncomingWebhookNotFound.into());
        }
        Ok(hook)
    }

    /// `DELETE /hooks/incoming/{id}`: its URL stops working at once, on every node.
    pub async fn delete_incoming_webhook(&self, actor: Actor<'_>, hook_id: &str) -> AppResult<()> {
        self.require_incoming_webhooks()?;
        let hook = self.managed_hook(actor, hook_id).await?;
        if !self
            .store
            .delete_incoming_webhook(&hook.id, now_millis())
            .await?
        {
            return Err(Code::IncomingWebhookNotFound.into());
        }
        Ok(())
    }

    /// `POST /hooks/{id}`: posts the request as the hook's owner, in the hook's
    /// channel or (unless locked) the one the request names.
    pub async fn execute_incoming_webhook(
        &self,
        hook_id: &str,
        request: IncomingWebhookRequest,
    ) -> AppResult<Post> {
        if !self.config.service_settings.enable_incoming_webhooks {
            return Err(Code::IncomingWebhookRunDisabled.into());
        }
        if request.text.is_empty() && request.attachments.is_empty() {
            return Err(Code::IncomingWebhookNoText.into());
        }
        let hook = match chorus_model::is_valid_id(hook_id) {
            true => self.store.get_incoming_webhook(hook_id).await?,
            false => None,
        }
        .ok_or_else(|| AppError::from(Code::IncomingWebhookInvalid))?;
        let owner = self
            .store
            .get_user(&hook.user_id)
            .await?
            .filter(|u| u.delete_at == 0)
            .ok_or_else(|| {
                Code::IncomingWebhookUser
                    .with_message("The webhook's owner no longer exists or was deactivated.")
            })?;
        let channel = match request.channel.as_str() {
            "" => load_channel(self, &hook.channel_id).await?,
            name if name.starts_with('@') => {
                let other = self
                    .store
                    .get_user_by_username(&name[1..])
                    .await?
                    .ok_or_else(|| {
                        Code::IncomingWebhookUser
                            .with_message(format!("No user is named {:?}.", &name[1..]))
                    })?;
                self.open_direct_channel(Actor::System, &owner.id, &other.id)
                    .await?
            }
            name => self
                .store
                .get_channel_by_name(&hook.team_id, name.trim_start_matches('#'))
                .await?
                .filter(|c| c.delete_at == 0)
                .ok_or_else(|| {
                    Code::IncomingWebhookChannel
                        .with_message(format!("The hook's team has no channel named {name:?}."))
                })?,
        };
        if hook.channel_locked && channel.id != hook.channel_id {
            return Err(Code::IncomingWebhookChannelLocked.into());
        }
        if channel.channel_type != "O"
            && self
                .store
                .get_channel_member(&channel.id, &owner.id)
                .await?
                .is_none()
        {
            return Err(Code::IncomingWebhookPermissions.into());
        }
        if request.post_type.starts_with("system_") {
            return Err(Code::InvalidParam
                .with_message("A webhook cannot post system messages (type system_…)."));
        }
        self.create_webhook_post(WebhookMessage {
            owner_id: owner.id,
            channel_id: channel.id,
            root_id: String::new(),
            text: request.text,
            username: [request.username, hook.username]
                .into_iter()
                .find(|u| !u.is_empty())
                .unwrap_or_default(),
            icon_url: [request.icon_url, hook.icon_url]
                .into_iter()
                .find(|u| !u.is_empty())
                .unwrap_or_default(),
            display_name: hook.display_name,
            props: request.props,
            attachments: request.attachments,
            post_type: request.post_type,
        })
        .await
    }

    /// Posts what a webhook (incoming or outgoing) sends, as Mattermost's
    /// `CreateWebhookPost`: as the hook's owner, marked `from_webhook`, with the name
    /// and icon overrides the server allows, Slack links made Markdown.
    pub(super) async fn create_webhook_post(&self, message: WebhookMessage) -> AppResult<Post> {
        let mut props = without_override_props(message.props);
        props.insert("from_webhook".into(), "true".into());
        props.insert("webhook_display_name".into(), message.display_name.into());
        let settings = &self.config.service_settings;
        if settings.enable_post_username_override {
            // Mattermost's name for a webhook post that names nobody.
            let username = match message.username.as_str() {
                "" => "webhook",
                name => name,
            };
            props.insert("override_username".into(), username.into());
        }
        if settings.enable_post_icon_override && !message.icon_url.is_empty() {
            props.insert("override_icon_url".into(), message.icon_url.into());
        }
        let post_type = with_attachments(&mut props, message.post_type, message.attachments);
        let draft = Post {
            user_id: message.owner_id,
            channel_id: message.channel_id,
            root_id: message.root_id,
            message: slack_links_to_markdown(&message.text),
            post_type,
            props,
            ..Post::default()
        };
        self.create_post(Actor::System, draft).await
    }
}

/// Puts an integration's Slack attachments in `props.attachments`; the post's type
/// is `slack_attachment` then, unless the integration named one.
pub(super) fn with_attachments(
    props: &mut serde_json::Map<String, serde_json::Value>,
    post_type: String,
    attachments: Vec<serde_json::Value>,
) -> String {
    if attachments.is_empty() {
        return post_type;
    }
    props.insert("attachments".into(), attachments.into());
    if post_type.is_empty() {
        POST_TYPE_SLACK_ATTACHMENT.into()
    } else {
        post_type
    }
}

/// An integration's props without the ones only the server sets (`from_webhook` and
/// the name and icon overrides, which the settings gate), as Mattermost drops them.
pub(super) fn without_override_props(
    mut props: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    for key in ["from_webhook", "override_username", "override_icon_url"] {
        props.remove(key);
    }
    props
}

/// What a webhook posts (see [`AppState::create_webhook_post`]).
pub(super) struct WebhookMessage {
    pub owner_id: String,
    pub channel_id: String,
    pub root_id: String,
    pub text: String,
    /// Shown instead of the owner's name, when the server allows it.
    pub username: String,
    pub icon_url: String,
    /// The hook's display name, kept in `props.webhook_display_name`.
    pub display_name: String,
    pub props: serde_json::Map<String, serde_json::Value>,
    pub attachments: Vec<serde_json::Value>,
    pub post_type: String,
}

#[cfg(test)]
mod tests {
    use super::slack_links_to_markdown;

    #[test]
    fn slack_links_become_markdown() {
        assert_eq!(
            slack_links_to_markdown("see <https://example.com|the docs> now"),
            "see [the docs](https://example.com) now"
        );
        assert_eq!(slack_links_to_markdown("a < b > c"), "a < b > c");
        assert_eq!(slack_links_to_markdown("<|x>"), "<|x>");
    }
}
