//! Outgoing webhooks: team admins make them for an open channel (every post there) or
//! for trigger words (posts in any open channel of the team whose first word matches);
//! a matching post is sent to the hook's callback URLs (through
//! [`crate::security::outbound`]), and what they answer is posted back as the hook's
//! owner, as Mattermost does.
//!
//! Posts are matched off the request path: [`AppState::queue_outgoing_webhooks`] hands
//! each candidate to a bounded queue, and [`run`] calls the integrations a few at a
//! time. A full queue drops the post's webhooks with a warning rather than holding
//! posts in memory without bound; the node that stored the post is the one that calls,
//! so each post triggers each hook once in a cluster.

use super::permissions::{load_channel, load_team, require_team_admin};
use super::validate::{self, require_id};
use super::webhooks::WebhookMessage;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::Stage;
use crate::security::outbound::OutboundResponse;
use crate::AppState;
use chorus_model::{
    new_id, now_millis, Channel, OutgoingWebhook, OutgoingWebhookPayload, OutgoingWebhookResponse,
    Post, TRIGGER_WHEN_EXACT, TRIGGER_WHEN_STARTS_WITH,
};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Semaphore};

pub const DISPLAY_NAME_MAX: usize = 64;
pub const DESCRIPTION_MAX: usize = 500;
pub const USERNAME_MAX: usize = 64;
pub const ICON_URL_MAX: usize = 1024;
pub const CONTENT_TYPE_MAX: usize = 128;
/// The trigger words, and the callback URLs, joined by commas, as Mattermost counts.
pub const LIST_MAX: usize = 1024;
/// Posts waiting for their webhooks to be called, per node.
const QUEUE_LENGTH: usize = 1024;
/// Callback calls in flight at once, per node.
const CALLS_AT_ONCE: usize = 16;

const CONTENT_TYPE_JSON: &str = "application/json";
const CONTENT_TYPE_FORM: &str = "application/x-www-form-urlencoded";
/// `response_type` of an answer that replies in the triggering post's thread.
const RESPONSE_TYPE_COMMENT: &str = "comment";

/// A stored post that may trigger its team's outgoing webhooks.
#[derive(Debug)]
pub struct Candidate {
    post: Post,
    channel: Channel,
    author_username: String,
}

/// The queue between posting and calling.
pub struct OutgoingQueue {
    sender: mpsc::Sender<Candidate>,
    receiver: Mutex<Option<mpsc::Receiver<Candidate>>>,
}

impl Default for OutgoingQueue {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        OutgoingQueue {
            sender,
            receiver: Mutex::new(Some(receiver)),
        }
    }
}

/// What may be set on an outgoing webhook (create and `PUT`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct OutgoingHookFields {
    pub id: String,
    pub team_id: String,
    pub channel_id: String,
    pub trigger_words: Vec<String>,
    pub trigger_when: i32,
    pub callback_urls: Vec<String>,
    pub display_name: String,
    pub description: String,
    pub content_type: String,
    pub username: String,
    pub icon_url: String,
}

/// A hook's content type: a form unless it asked for JSON.
fn content_type_or_form(content_type: String) -> String {
    if content_type.is_empty() {
        CONTENT_TYPE_FORM.into()
    } else {
        content_type
    }
}

fn check_fields(fields: &OutgoingHookFields) -> AppResult<()> {
    for (code, name, value, max) in [
        (
            Code::OutgoingHookDisplayNameInvalid,
            "display_name",
            &fields.display_name,
            DISPLAY_NAME_MAX,
        ),
        (
            Code::OutgoingHookDescriptionInvalid,
            "description",
            &fields.description,
            DESCRIPTION_MAX,
        ),
        (
            Code::OutgoingHookContentTypeInvalid,
            "content_type",
            &fields.content_type,
            CONTENT_TYPE_MAX,
        ),
        (
            Code::OutgoingHookUsernameInvalid,
            "username",
            &fields.username,
            USERNAME_MAX,
        ),
        (
            Code::OutgoingHookIconUrlInvalid,
            "icon_url",
            &fields.icon_url,
            ICON_URL_MAX,
        ),
    ] {
        validate::max_len(code, name, value, max)?;
    }
    let words_ok = fields
        .trigger_words
        .iter()
        .all(|w| !w.is_empty() && !w.contains(char::is_whitespace))
        && fields.trigger_words.join(",").chars().count() <= LIST_MAX;
    if !words_ok {
        return Err(Code::OutgoingHookWordsInvalid.into());
    }
    if fields.trigger_when != TRIGGER_WHEN_EXACT && fields.trigger_when != TRIGGER_WHEN_STARTS_WITH
    {
        return Err(Code::OutgoingHookTriggerWhenInvalid.into());
    }
    if fields.callback_urls.is_empty() || fields.callback_urls.join(",").chars().count() > LIST_MAX
    {
        return Err(Code::OutgoingHookCallbackInvalid.into());
    }
    for callback in &fields.callback_urls {
        if !validate::is_http_url(callback) {
            return Err(Code::OutgoingHookUrlInvalid.with_message(format!(
                "The callback URL {callback:?} is not an http(s) URL."
            )));
        }
    }
    Ok(())
}

/// The trigger word of `hook` that the post's first word matches, `""` for a hook of
/// the post's channel without trigger words, `None` when the hook does not fire.
fn trigger_word<'a>(hook: &'a OutgoingWebhook, post: &Post, first_word: &str) -> Option<&'a str> {
    if !hook.channel_id.is_empty() && hook.channel_id != post.channel_id {
        return None;
    }
    if hook.trigger_words.is_empty() {
        return (!hook.channel_id.is_empty()).then_some("");
    }
    hook.trigger_words
        .iter()
        .find(|word| match hook.trigger_when {
            TRIGGER_WHEN_STARTS_WITH => first_word.starts_with(word.as_str()),
            _ => first_word == word.as_str(),
        })
        .map(String::as_str)
}

impl AppState {
    fn require_outgoing_webhooks(&self) -> AppResult<()> {
        if self.config.service_settings.enable_outgoing_webhooks {
            Ok(())
        } else {
            Err(Code::OutgoingWebhooksDisabled.into())
        }
    }

    /// The channel a hook listens to: an open channel of its team.
    async fn outgoing_hook_channel(&self, team_id: &str, channel_id: &str) -> AppResult<()> {
        if channel_id.is_empty() {
            return Ok(());
        }
        require_id(channel_id, "channel_id")?;
        let channel = load_channel(self, channel_id).await?;
        if channel.channel_type != "O" || channel.delete_at != 0 {
            return Err(Code::OutgoingHookChannelNotOpen.into());
        }
        if channel.team_id != team_id {
            return Err(Code::OutgoingHookChannelTeam.into());
        }
        Ok(())
    }

    /// Whether another live hook of the team, listening where this one does, already
    /// sends one of its trigger words to one of its callback URLs (Mattermost's rule
    /// against the same call made twice).
    async fn trigger_words_overlap(&self, hook: &OutgoingWebhook) -> AppResult<bool> {
        let others = self.store.team_outgoing_webhooks(&hook.team_id).await?;
        Ok(others.iter().any(|other| {
            other.id != hook.id
                && other.channel_id == hook.channel_id
                && other
                    .callback_urls
                    .iter()
                    .any(|u| hook.callback_urls.contains(u))
                && other
                    .trigger_words
                    .iter()
                    .any(|w| hook.trigger_words.contains(w))
        }))
    }

    /// `POST /hooks/outgoing`.
    pub async fn create_outgoing_webhook(
        &self,
        actor: Actor<'_>,
        fields: OutgoingHookFields,
    ) -> AppResult<OutgoingWebhook> {
        self.require_outgoing_webhooks()?;
        require_id(&fields.team_id, "team_id")?;
        load_team(self, &fields.team_id).await?;
        require_team_admin(self, actor, &fields.team_id, "outgoing webhooks").await?;
        check_fields(&fields)?;
        if fields.channel_id.is_empty() && fields.trigger_words.is_empty() {
            return Err(Code::OutgoingHookNoTriggers.into());
        }
        self.outgoing_hook_channel(&fields.team_id, &fields.channel_id)
            .await?;
        let Some(creator) = actor.user_id() else {
            return Err(AppError::forbidden("Outgoing webhooks belong to a user."));
        };
        let now = now_millis();
        let hook = OutgoingWebhook {
            id: new_id(),
            token: new_id(),
            create_at: now,
            update_at: now,
            delete_at: 0,
            creator_id: creator.to_string(),
            channel_id: fields.channel_id,
            team_id: fields.team_id,
            trigger_words: fields.trigger_words,
            trigger_when: fields.trigger_when,
            callback_urls: fields.callback_urls,
            display_name: fields.display_name,
            description: fields.description,
            content_type: content_type_or_form(fields.content_type),
            username: fields.username,
            icon_url: fields.icon_url,
        };
        if self.trigger_words_overlap(&hook).await? {
            return Err(Code::OutgoingHookIntersect.into());
        }
        self.store.insert_outgoing_webhook(&hook).await?;
        Ok(hook)
    }

    /// A live hook the actor manages.
    async fn managed_outgoing_hook(
        &self,
        actor: Actor<'_>,
        hook_id: &str,
    ) -> AppResult<OutgoingWebhook> {
        require_id(hook_id, "hook_id")?;
        let hook = self
            .store
            .get_outgoing_webhook(hook_id)
            .await?
            .ok_or_else(|| AppError::from(Code::OutgoingWebhookNotFound))?;
        require_team_admin(self, actor, &hook.team_id, "outgoing webhooks").await?;
        Ok(hook)
    }

    /// `GET /hooks/outgoing/{id}`.
    pub async fn outgoing_webhook(
        &self,
        actor: Actor<'_>,
        hook_id: &str,
    ) -> AppResult<OutgoingWebhook> {
        self.require_outgoing_webhooks()?;
        self.managed_outgoing_hook(actor, hook_id).await
    }

    /// `GET /hooks/outgoing?team_id&channel_id&page&per_page`: a team's (or channel's)
    /// hooks for its admins, every hook for system admins.
    pub async fn outgoing_webhooks(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        channel_id: &str,
        page: i64,
        per_page: i64,
    ) -> AppResult<Vec<OutgoingWebhook>> {
        self.require_outgoing_webhooks()?;
        let team_id = if !channel_id.is_empty() {
            require_id(channel_id, "channel_id")?;
            load_channel(self, channel_id).await?.team_id
        } else {
            team_id.to_string()
        };
        if team_id.is_empty() {
            if !actor.is_admin() {
                return Err(AppError::forbidden(
                    "Only system admins list the hooks of every team; name a team_id.",
                ));
            }
        } else {
            load_team(self, &team_id).await?;
            require_team_admin(self, actor, &team_id, "outgoing webhooks").await?;
        }
        let per_page = per_page.clamp(1, validate::MAX_PER_PAGE);
        Ok(self
            .store
            .list_outgoing_webhooks(
                &team_id,
                channel_id,
                "",
                page.max(0).saturating_mul(per_page),
                per_page,
            )
            .await?)
    }

    /// `PUT /hooks/outgoing/{id}`: the team, creator and token stay.
    pub async fn update_outgoing_webhook(
        &self,
        actor: Actor<'_>,
        hook_id: &str,
        fields: OutgoingHookFields,
    ) -> AppResult<OutgoingWebhook> {
        self.require_outgoing_webhooks()?;
        let old = self.managed_outgoing_hook(actor, hook_id).await?;
        if !fields.team_id.is_empty() && fields.team_id != old.team_id {
            return Err(Code::OutgoingHookTeamMismatch.into());
        }
        check_fields(&fields)?;
        if fields.channel_id.is_empty() && fields.trigger_words.is_empty() {
            return Err(Code::OutgoingHookNoTriggers.into());
        }
        self.outgoing_hook_channel(&old.team_id, &fields.channel_id)
            .await?;
        let hook = OutgoingWebhook {
            update_at: now_millis().max(old.update_at + 1),
            channel_id: fields.channel_id,
            trigger_words: fields.trigger_words,
            trigger_when: fields.trigger_when,
            callback_urls: fields.callback_urls,
            display_name: fields.display_name,
            description: fields.description,
            content_type: content_type_or_form(fields.content_type),
            username: fields.username,
            icon_url: fields.icon_url,
            ..old
        };
        if self.trigger_words_overlap(&hook).await? {
            return Err(Code::OutgoingHookUpdateIntersect.into());
        }
        if !self.store.update_outgoing_webhook(&hook).await? {
            return Err(Code::OutgoingWebhookNotFound.into());
        }
        Ok(hook)
    }

    /// `POST /hooks/outgoing/{id}/regen_token`: the hook with its new token.
    pub async fn regenerate_outgoing_webhook_token(
        &self,
        actor: Actor<'_>,
        hook_id: &str,
    ) -> AppResult<OutgoingWebhook> {
        self.require_outgoing_webhooks()?;
        let old = self.managed_outgoing_hook(actor, hook_id).await?;
        let hook = OutgoingWebhook {
            token: new_id(),
            update_at: now_millis().max(old.update_at + 1),
            ..old
        };
        if !self.store.update_outgoing_webhook(&hook).await? {
            return Err(Code::OutgoingWebhookNotFound.into());
        }
        Ok(hook)
    }

    /// `DELETE /hooks/outgoing/{id}`.
    pub async fn delete_outgoing_webhook(&self, actor: Actor<'_>, hook_id: &str) -> AppResult<()> {
        self.require_outgoing_webhooks()?;
        let hook = self.managed_outgoing_hook(actor, hook_id).await?;
        if !self
            .store
            .delete_outgoing_webhook(&hook.id, now_millis())
            .await?
        {
            return Err(Code::OutgoingWebhookNotFound.into());
        }
        Ok(())
    }

    /// Hands a freshly stored post to the webhook caller, when it could trigger one:
    /// a user's (not a system message, not a webhook's or integration's own post, so
    /// that a hook cannot answer itself in a loop) in an open team channel.
    pub(super) fn queue_outgoing_webhooks(&self, post: &Post, channel: &Channel, author: &str) {
        if !self.config.service_settings.enable_outgoing_webhooks
            || channel.channel_type != "O"
            || channel.team_id.is_empty()
            || post.post_type.starts_with("system_")
            || post.props.get("from_webhook").and_then(|v| v.as_str()) == Some("true")
            || post.message.split_whitespace().next().is_none()
        {
            return;
        }
        let candidate = Candidate {
            post: post.clone(),
            channel: channel.clone(),
            author_username: author.to_string(),
        };
        if let Err(mpsc::error::TrySendError::Full(c)) = self.outgoing.sender.try_send(candidate) {
            tracing::warn!(post_id = %c.post.id, "outgoing webhooks are behind; this post's webhooks are not called");
        }
    }

    /// Calls one hook's callbacks for a post and posts what they answer.
    async fn fire_outgoing_webhook(
        self: &Arc<Self>,
        hook: OutgoingWebhook,
        candidate: Arc<Candidate>,
        trigger_word: String,
        calls: Arc<Semaphore>,
    ) {
        let team_name = match self.store.get_team(&hook.team_id).await {
            Ok(Some(team)) => team.name,
            _ => return,
        };
        let post = &candidate.post;
        let payload = OutgoingWebhookPayload {
            token: hook.token.clone(),
            team_id: hook.team_id.clone(),
            team_domain: team_name,
            channel_id: post.channel_id.clone(),
            channel_name: candidate.channel.name.clone(),
            timestamp: post.create_at,
            user_id: post.user_id.clone(),
            user_name: candidate.author_username.clone(),
            post_id: post.id.clone(),
            text: post.message.clone(),
            trigger_word,
            file_ids: post.file_ids.join(","),
        };
        let hook = Arc::new(hook);
        let payload = Arc::new(payload);
        for callback in hook.callback_urls.clone() {
            let Ok(permit) = calls.clone().acquire_owned().await else {
                return;
            };
            let state = self.clone();
            let hook = hook.clone();
            let payload = payload.clone();
            let candidate = candidate.clone();
            // Tracked by the node's lifecycle, so a stopping node cancels its calls
            // rather than posting answers after its store closed.
            self.lifecycle.spawn(Stage::Services, async move {
                let _permit = permit;
                if let Err(err) = state
                    .call_outgoing_callback(&hook, &payload, &candidate.post, &callback)
                    .await
                {
                    tracing::warn!(hook_id = %hook.id, %callback, error = %err, "outgoing webhook failed");
                }
            });
        }
    }

    async fn call_outgoing_callback(
        &self,
        hook: &OutgoingWebhook,
        payload: &OutgoingWebhookPayload,
        post: &Post,
        callback: &str,
    ) -> Result<(), String> {
        let request = self
            .outbound
            .request(reqwest::Method::POST, callback)
            .map_err(|e| e.to_string())?
            .header(reqwest::header::ACCEPT, CONTENT_TYPE_JSON);
        let request = if hook.content_type == CONTENT_TYPE_JSON {
            request.json(payload)
        } else {
            // Mattermost's forms carry the time in seconds, its JSON in milliseconds.
            request.form(&OutgoingWebhookPayload {
                timestamp: payload.timestamp / 1000,
                ..payload.clone()
            })
        };
        let answer = self
            .outbound
            .send(request)
            .await
            .map_err(|e| e.to_string())?;
        let Some(response) = parse_callback_answer(answer)? else {
            return Ok(());
        };
        let root_id = if response.response_type == RESPONSE_TYPE_COMMENT {
            if post.root_id.is_empty() {
                post.id.clone()
            } else {
                post.root_id.clone()
            }
        } else {
            String::new()
        };
        let username = if response.username.is_empty() {
            hook.username.clone()
        } else {
            response.username
        };
        let icon_url = if response.icon_url.is_empty() {
            hook.icon_url.clone()
        } else {
            response.icon_url
        };
        self.create_webhook_post(WebhookMessage {
            owner_id: hook.creator_id.clone(),
            channel_id: post.channel_id.clone(),
            root_id,
            text: response.text.unwrap_or_default(),
            username,
            icon_url,
            display_name: hook.display_name.clone(),
            props: response.props,
            attachments: response.attachments,
            post_type: response.post_type,
        })
        .await
        .map(drop)
        .map_err(|e| e.message())
    }
}

/// A callback's answer: nothing to post (an empty body, or one with no text and no
/// attachments), something to post, or an error for the log.
fn parse_callback_answer(
    answer: OutboundResponse,
) -> Result<Option<OutgoingWebhookResponse>, String> {
    if !(200..300).contains(&answer.status) {
        return Err(format!("the callback answered status {}", answer.status));
    }
    if answer.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let response: OutgoingWebhookResponse = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("the callback's answer is not JSON: {e}"))?;
    if response.post_type.starts_with("system_") {
        return Err("the callback answered a system message type".into());
    }
    let has_text = response.text.as_deref().is_some_and(|t| !t.is_empty());
    Ok((has_text || !response.attachments.is_empty()).then_some(response))
}

/// Matches queued posts against their team's hooks and calls the integrations, at
/// most [`CALLS_AT_ONCE`] at a time, until the node stops.
pub async fn run(state: Arc<AppState>) {
    let Some(mut queue) = state.outgoing.receiver.lock().expect("queue lock").take() else {
        return;
    };
    let calls = Arc::new(Semaphore::new(CALLS_AT_ONCE));
    while let Some(candidate) = queue.recv().await {
        let hooks = match state
            .store
            .team_outgoing_webhooks(&candidate.channel.team_id)
            .await
        {
            Ok(hooks) => hooks,
            Err(err) => {
                tracing::warn!(post_id = %candidate.post.id, error = %err, "cannot read the team's outgoing webhooks");
                continue;
            }
        };
        let first_word = candidate
            .post
            .message
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let candidate = Arc::new(candidate);
        for hook in hooks {
            let Some(word) = trigger_word(&hook, &candidate.post, &first_word) else {
                continue;
            };
            let word = word.to_string();
            state
                .fire_outgoing_webhook(hook, candidate.clone(), word, calls.clone())
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(channel_id: &str, words: &[&str], when: i32) -> OutgoingWebhook {
        OutgoingWebhook {
            channel_id: channel_id.into(),
            trigger_words: words.iter().map(|w| w.to_string()).collect(),
            trigger_when: when,
            ..OutgoingWebhook::default()
        }
    }

    #[test]
    fn hooks_fire_on_their_channel_or_their_first_word() {
        let post = Post {
            channel_id: "c1".into(),
            ..Post::default()
        };
        assert_eq!(trigger_word(&hook("c1", &[], 0), &post, "hello"), Some(""));
        assert_eq!(trigger_word(&hook("c2", &[], 0), &post, "hello"), None);
        assert_eq!(
            trigger_word(&hook("", &["build", "deploy"], 0), &post, "deploy"),
            Some("deploy")
        );
        assert_eq!(
            trigger_word(&hook("", &["deploy"], 0), &post, "deploying"),
            None
        );
        assert_eq!(
            trigger_word(&hook("", &["deploy"], 1), &post, "deploying"),
            Some("deploy")
        );
        assert_eq!(
            trigger_word(&hook("c2", &["deploy"], 0), &post, "deploy"),
            None
        );
        assert_eq!(
            trigger_word(&hook("c1", &["deploy"], 0), &post, "hello"),
            None
        );
    }
}
