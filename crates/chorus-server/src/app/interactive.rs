//! Interactive messages and dialogs: a click on a post's button or menu calls the
//! action's integration (a URL, or a plugin's `/plugins/{id}/…` route) and applies its
//! answer; integrations open dialogs with the trigger id a click or a command gave
//! them, and a dialog's submission goes back to its integration.
//!
//! Secrets: trigger ids are signed, and the actions of ephemeral posts (which are
//! never stored, so the server cannot look their integration up) carry it sealed in a
//! cookie. Both keys are generated once per cluster and kept in the shared `systems`
//! table, so a click or a dialog opened through one node works through every other.
//! Mattermost signs trigger ids with ECDSA; Chorus uses HMAC-SHA256, as only the
//! servers of the cluster ever verify them.
//!
//! Chorus's own rule: a dialog submission is accepted only for a dialog the server
//! opened for that user (same URL and callback id), recorded in the shared store;
//! Mattermost forwards any submission to any URL.

use super::events::{event, json_text};
use super::permissions::{load_member_channel, load_team, require_admin, require_team_member};
use super::posts::PostChanges;
use super::validate::require_id;
use super::webhooks::slack_links_to_markdown;
use super::{Actor, Auth};
use crate::error::{AppError, AppResult, Code};
use crate::plugins::ServerPluginRequest;
use crate::AppState;
use base64::Engine;
use chorus_model::{
    action_integration, events, find_action, for_each_action, new_id, now_millis, Broadcast,
    Channel, DoPostActionRequest, OpenDialogRequest, Post, PostActionCookie, PostActionIntegration,
    PostActionIntegrationRequest, PostActionIntegrationResponse, PostActionResponse,
    SubmitDialogRequest, SubmitDialogResponse, ACTION_TYPE_SELECT, DIALOG_SUBMISSION_TYPE,
    POST_ACTION_RETAIN_PROP_KEYS,
};
use ring::{aead, hmac};

/// The `systems` row holding the cluster's keys (64 random bytes, base64): the first
/// half seals cookies (AES-256-GCM), the second signs trigger ids.
const KEYS_SYSTEM_VALUE: &str = "InteractiveMessageKeys";
/// How long a user may take to fill in a dialog.
pub const DIALOG_OPEN_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// The longest answer read from an integration.
const INTEGRATION_ANSWER_MAX: usize = 1024 * 1024;
/// A response type of a dialog submission: the next form of a multi-step dialog.
const DIALOG_RESPONSE_FORM: &str = "form";

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The cluster's keys for cookies and trigger ids.
pub struct InteractiveKeys {
    cookie: aead::LessSafeKey,
    trigger: hmac::Key,
}

impl std::fmt::Debug for InteractiveKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InteractiveKeys(..)")
    }
}

impl InteractiveKeys {
    fn from_secret(secret: &[u8]) -> Option<InteractiveKeys> {
        if secret.len() != 64 {
            return None;
        }
        let (cookie, trigger) = secret.split_at(32);
        Some(InteractiveKeys {
            cookie: aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, cookie).ok()?),
            trigger: hmac::Key::new(hmac::HMAC_SHA256, trigger),
        })
    }

    /// base64(nonce ‖ ciphertext ‖ tag) of the cookie's JSON.
    fn seal(&self, cookie: &PostActionCookie) -> AppResult<String> {
        let mut data = json_text(cookie)?.into_bytes();
        let nonce_bytes: [u8; aead::NONCE_LEN] = rand::random();
        self.cookie
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce_bytes),
                aead::Aad::empty(),
                &mut data,
            )
            .map_err(|_| AppError::Internal("cannot seal an action cookie".into()))?;
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&data);
        Ok(BASE64.encode(sealed))
    }

    fn open(&self, text: &str) -> AppResult<PostActionCookie> {
        let bad = |why: &str| {
            Code::PostActionIntegration.with_message(format!("The action's cookie {why}."))
        };
        let mut sealed = BASE64
            .decode(text)
            .map_err(|_| bad("is not valid base64"))?;
        if sealed.len() < aead::NONCE_LEN {
            return Err(bad("is too short"));
        }
        let mut data = sealed.split_off(aead::NONCE_LEN);
        let nonce =
            aead::Nonce::try_assume_unique_for_key(&sealed).map_err(|_| bad("is too short"))?;
        let plain = self
            .cookie
            .open_in_place(nonce, aead::Aad::empty(), &mut data)
            .map_err(|_| bad("was not issued by this server"))?;
        serde_json::from_slice(plain).map_err(|_| bad("is not an action cookie"))
    }

    /// A new trigger id for `user_id`: the short id clients see and the signed one
    /// integrations get, `base64("client_id:user_id:millis:base64(signature)")`.
    fn trigger_id(&self, user_id: &str, now: i64) -> (String, String) {
        let client_id = new_id();
        let data = format!("{client_id}:{user_id}:{now}");
        let signature = hmac::sign(&self.trigger, data.as_bytes());
        let signed = format!("{data}:{}", BASE64.encode(signature.as_ref()));
        (client_id, BASE64.encode(signed))
    }

    /// The client id and user of a trigger id issued less than `valid_millis` ago.
    fn verify_trigger_id(
        &self,
        trigger_id: &str,
        now: i64,
        valid_millis: i64,
    ) -> AppResult<(String, String)> {
        let decoded = BASE64
            .decode(trigger_id)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| AppError::from(Code::TriggerIdNotBase64))?;
        let parts: Vec<&str> = decoded.split(':').collect();
        let [client_id, user_id, millis, signature] = parts[..] else {
            return Err(Code::TriggerIdMissingData.into());
        };
        let issued: i64 = millis
            .parse()
            .map_err(|_| AppError::from(Code::TriggerIdMissingData))?;
        let signature = BASE64
            .decode(signature)
            .map_err(|_| AppError::from(Code::TriggerIdSignatureNotBase64))?;
        let data = format!("{client_id}:{user_id}:{millis}");
        hmac::verify(&self.trigger, data.as_bytes(), &signature)
            .map_err(|_| AppError::from(Code::TriggerIdSignatureInvalid))?;
        if now - issued > valid_millis {
            return Err(Code::TriggerIdExpired.into());
        }
        Ok((client_id.to_string(), user_id.to_string()))
    }
}

/// What a click is about, read from the stored post or from an ephemeral post's cookie.
struct ClickedAction {
    channel: Channel,
    action_type: String,
    data_source: String,
    integration: PostActionIntegration,
    root_post_id: String,
    retain_props: serde_json::Map<String, serde_json::Value>,
    remove_props: Vec<String>,
    /// The stored post; `None` for an ephemeral one.
    stored: Option<Post>,
}

/// A text field of an action, empty when absent.
fn action_text(action: &serde_json::Map<String, serde_json::Value>, key: &str) -> String {
    action
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// The retained props of a post and the retainable ones it lacks.
fn retained_props(
    props: &serde_json::Map<String, serde_json::Value>,
) -> (serde_json::Map<String, serde_json::Value>, Vec<String>) {
    let mut retain = serde_json::Map::new();
    let mut remove = Vec::new();
    for key in POST_ACTION_RETAIN_PROP_KEYS {
        match props.get(key) {
            Some(value) => {
                retain.insert(key.to_string(), value.clone());
            }
            None => remove.push(key.to_string()),
        }
    }
    (retain, remove)
}

/// A plugin route named by an integration URL: `/plugins/{id}/…`, relative or on the
/// server's own site URL. Answers the plugin id, the path below it and the query.
fn plugin_route<'a>(url: &'a str, site_url: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let site = site_url.trim_end_matches('/');
    let local = match url.strip_prefix(site) {
        Some(rest) if !site.is_empty() && rest.starts_with('/') => rest,
        _ => url,
    };
    let rest = local
        .strip_prefix("/plugins/")
        .or_else(|| local.strip_prefix("plugins/"))?;
    let (path_part, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (plugin_id, path) = match path_part.find('/') {
        Some(at) => (&path_part[..at], &path_part[at..]),
        None => (path_part, "/"),
    };
    Some((plugin_id, path, query))
}

impl AppState {
    /// The cluster's keys: generated by whichever node needs them first.
    async fn interactive_keys(&self) -> AppResult<&InteractiveKeys> {
        self.interactive_keys
            .get_or_try_init(|| async {
                let proposed: [u8; 64] = std::array::from_fn(|_| rand::random());
                let stored = self
                    .store
                    .system_value_or_insert(KEYS_SYSTEM_VALUE, &BASE64.encode(proposed))
                    .await?;
                BASE64
                    .decode(stored)
                    .ok()
                    .and_then(|secret| InteractiveKeys::from_secret(&secret))
                    .ok_or_else(|| {
                        AppError::Internal(format!("the stored {KEYS_SYSTEM_VALUE} are malformed"))
                    })
            })
            .await
    }

    /// How long a trigger id stays valid: the integration timeout, as in Mattermost.
    fn trigger_id_valid_millis(&self) -> i64 {
        let seconds = self
            .config
            .service_settings
            .outgoing_integration_requests_timeout
            .max(1);
        i64::try_from(seconds).unwrap_or(i64::MAX / 1000) * 1000
    }

    /// A fresh trigger id for `user_id` (the client's short form and the signed one).
    pub async fn new_trigger_id(&self, user_id: &str) -> AppResult<(String, String)> {
        Ok(self
            .interactive_keys()
            .await?
            .trigger_id(user_id, now_millis()))
    }

    /// Gives an ephemeral post's actions ids and seals their integrations into cookies
    /// (the post is never stored, so a click must bring its integration back).
    pub(super) async fn seal_action_cookies(&self, post: &mut Post) -> AppResult<()> {
        chorus_model::generate_action_ids(&mut post.props);
        if !post.props.contains_key("attachments") {
            return Ok(());
        }
        let keys = self.interactive_keys().await?;
        let (retain_props, remove_props) = retained_props(&post.props);
        let root_post_id = if post.root_id.is_empty() {
            post.id.clone()
        } else {
            post.root_id.clone()
        };
        let mut failure = None;
        for_each_action(&mut post.props, |action| {
            let Some(integration) = action_integration(action) else {
                return;
            };
            let cookie = PostActionCookie {
                action_type: action_text(action, "type"),
                post_id: post.id.clone(),
                root_post_id: root_post_id.clone(),
                channel_id: post.channel_id.clone(),
                data_source: action_text(action, "data_source"),
                integration: Some(integration),
                retain_props: retain_props.clone(),
                remove_props: remove_props.clone(),
            };
            match keys.seal(&cookie) {
                Ok(sealed) => {
                    action.insert("cookie".into(), sealed.into());
                }
                Err(e) => failure = Some(e),
            }
        });
        failure.map_or(Ok(()), Err)
    }

    /// `POST /posts/{id}/actions/{action_id}`: a user clicked a button or chose an
    /// option. The integration is told, and its answer may replace the post or show the
    /// user an ephemeral message. Answers the trigger id (its client form).
    pub async fn do_post_action(
        &self,
        auth: &Auth,
        post_id: &str,
        action_id: &str,
        request: DoPostActionRequest,
    ) -> AppResult<PostActionResponse> {
        require_id(post_id, "post_id")?;
        if action_id.is_empty() {
            return Err(AppError::invalid_param("action_id"));
        }
        let clicked = self
            .clicked_action(auth, post_id, action_id, &request.cookie)
            .await?;
        let team = if clicked.channel.team_id.is_empty() {
            None
        } else {
            Some(load_team(self, &clicked.channel.team_id).await?)
        };
        let (client_trigger_id, trigger_id) = self.new_trigger_id(&auth.user.id).await?;
        let mut upstream = PostActionIntegrationRequest {
            user_id: auth.user.id.clone(),
            user_name: auth.user.username.clone(),
            channel_id: clicked.channel.id.clone(),
            channel_name: clicked.channel.name.clone(),
            team_id: clicked.channel.team_id.clone(),
            team_domain: team.map(|t| t.name).unwrap_or_default(),
            post_id: post_id.to_string(),
            trigger_id,
            action_type: clicked.action_type.clone(),
            data_source: String::new(),
            context: clicked.integration.context.clone(),
        };
        if clicked.action_type == ACTION_TYPE_SELECT && !request.selected_option.is_empty() {
            upstream
                .context
                .get_or_insert_with(Default::default)
                .insert("selected_option".into(), request.selected_option.into());
            upstream.data_source = clicked.data_source.clone();
        }
        // The thread any ephemeral answer belongs to: an ephemeral post roots none.
        let thread_root = if clicked.stored.is_none() && clicked.root_post_id == post_id {
            String::new()
        } else {
            clicked.root_post_id.clone()
        };
        let body = self
            .call_integration(
                &auth.user.id,
                &clicked.integration.url,
                json_text(&upstream)?.into_bytes(),
            )
            .await?;
        let answer: PostActionIntegrationResponse = if body.is_empty() {
            PostActionIntegrationResponse::default()
        } else {
            serde_json::from_slice(&body).map_err(|e| {
                Code::PostActionIntegration.with_message(format!(
                    "The integration answered something other than an action response: {e}"
                ))
            })?
        };
        if let Some(update) = answer.update {
            let props = match update.props {
                None => None,
                Some(mut props) => {
                    for (key, value) in &clicked.retain_props {
                        props.insert(key.clone(), value.clone());
                    }
                    for key in &clicked.remove_props {
                        props.remove(key);
                    }
                    chorus_model::generate_action_ids(&mut props);
                    Some(props)
                }
            };
            match &clicked.stored {
                // The integration acts for the server: the post is not the user's.
                Some(post) => {
                    let changes = PostChanges {
                        message: Some(update.message),
                        props,
                        ..PostChanges::default()
                    };
                    self.edit_post(Actor::System, &post.id, changes).await?;
                }
                None => {
                    let mut replacement = Post {
                        id: post_id.to_string(),
                        channel_id: clicked.channel.id.clone(),
                        root_id: thread_root.clone(),
                        user_id: auth.user.id.clone(),
                        message: update.message,
                        ..Post::default()
                    };
                    replacement.props = props.unwrap_or_default();
                    self.update_ephemeral_post(&auth.user.id, replacement)
                        .await?;
                }
            }
        }
        if !answer.ephemeral_text.is_empty() {
            let message = if answer.skip_slack_parsing {
                answer.ephemeral_text
            } else {
                slack_links_to_markdown(&answer.ephemeral_text)
            };
            let post = Post {
                channel_id: clicked.channel.id.clone(),
                root_id: thread_root,
                user_id: auth.user.id.clone(),
                message,
                props: clicked.retain_props.clone(),
                ..Post::default()
            };
            self.send_ephemeral_post(&auth.user.id, post).await?;
        }
        Ok(PostActionResponse {
            status: "OK".into(),
            trigger_id: client_trigger_id,
        })
    }

    /// The action clicked: of the stored post when there is one (a cookie is then
    /// ignored, as in Mattermost), else of the ephemeral post the cookie describes.
    async fn clicked_action(
        &self,
        auth: &Auth,
        post_id: &str,
        action_id: &str,
        cookie: &str,
    ) -> AppResult<ClickedAction> {
        let actor = auth.actor();
        let stored = self
            .store
            .get_post(post_id)
            .await?
            .filter(|p| p.delete_at == 0);
        if let Some(post) = stored {
            let channel = load_member_channel(self, actor, &post.channel_id).await?;
            let action = find_action(&post.props, action_id)
                .ok_or_else(|| AppError::from(Code::PostActionNotFound))?;
            let integration = action_integration(action)
                .ok_or_else(|| AppError::from(Code::PostActionNotFound))?;
            let (retain_props, remove_props) = retained_props(&post.props);
            return Ok(ClickedAction {
                channel,
                action_type: action_text(action, "type"),
                data_source: action_text(action, "data_source"),
                integration,
                root_post_id: if post.root_id.is_empty() {
                    post.id.clone()
                } else {
                    post.root_id.clone()
                },
                retain_props,
                remove_props,
                stored: Some(post),
            });
        }
        if cookie.is_empty() {
            return Err(Code::PostNotFound.into());
        }
        let cookie = self.interactive_keys().await?.open(cookie)?;
        if cookie.post_id != post_id {
            return Err(Code::PostActionIntegration
                .with_message("The action's cookie belongs to another post."));
        }
        let integration = cookie
            .integration
            .filter(|i| !i.url.is_empty())
            .ok_or_else(|| {
                Code::PostActionIntegration
                    .with_message("The action's cookie names no integration.")
            })?;
        let channel = load_member_channel(self, actor, &cookie.channel_id).await?;
        Ok(ClickedAction {
            channel,
            action_type: cookie.action_type,
            data_source: cookie.data_source,
            integration,
            root_post_id: cookie.root_post_id,
            retain_props: cookie.retain_props,
            remove_props: cookie.remove_props,
            stored: None,
        })
    }

    /// POSTs JSON to an integration for `user_id`: a plugin's route through its
    /// `ServeHTTP`, anything else through the outbound client. Answers the body of a
    /// successful answer (200 from a URL, any 2xx from a plugin).
    async fn call_integration(
        &self,
        user_id: &str,
        url: &str,
        body: Vec<u8>,
    ) -> AppResult<Vec<u8>> {
        let failed = |why: String| {
            Code::PostActionIntegration.with_message(format!("The integration at {url} {why}."))
        };
        if let Some((plugin_id, path, query)) =
            plugin_route(url, &self.config.service_settings.site_url)
        {
            let call = ServerPluginRequest {
                method: "POST",
                path,
                query,
                user_id,
                content_type: Some("application/json"),
                body: &body,
            };
            return match self
                .plugins
                .call_plugin_http(plugin_id, call, INTEGRATION_ANSWER_MAX)
                .await
            {
                Some((status, body)) if (200..300).contains(&status) => Ok(body),
                Some((status, _)) => Err(failed(format!("answered with status {status}"))),
                None => Err(failed(format!(
                    "could not be called: the plugin {plugin_id:?} is not running, does not \
                     serve HTTP, or did not answer in time"
                ))),
            };
        }
        let request = self
            .outbound
            .request(reqwest::Method::POST, url)
            .map_err(|e| failed(format!("cannot be called: {e}")))?
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        let answer = self
            .outbound
            .send(request)
            .await
            .map_err(|e| failed(format!("could not be called: {e}")))?;
        if answer.status != 200 {
            return Err(failed(format!("answered with status {}", answer.status)));
        }
        Ok(answer.body)
    }

    /// `POST /actions/dialogs/open` and the plugin API's `OpenInteractiveDialog`: shows
    /// the user a trigger id was issued to a dialog, on every client they have open.
    pub async fn open_dialog(&self, mut request: OpenDialogRequest) -> AppResult<()> {
        if request.url.is_empty() {
            return Err(AppError::invalid_param("url"));
        }
        let now = now_millis();
        let (client_trigger_id, user_id) = self.interactive_keys().await?.verify_trigger_id(
            &request.trigger_id,
            now,
            self.trigger_id_valid_millis(),
        )?;
        if request.dialog.title.is_empty() {
            tracing::warn!(url = %request.url, "an integration opened a dialog without a title");
        }
        self.store
            .open_dialog(
                &user_id,
                &request.url,
                &request.dialog.callback_id,
                now,
                now + DIALOG_OPEN_MILLIS,
            )
            .await?;
        request.trigger_id = client_trigger_id;
        self.publish_to(
            event(
                events::OPEN_DIALOG,
                serde_json::json!({"dialog": json_text(&request)?}),
                Broadcast::to_user(&user_id),
            ),
            &[user_id],
        );
        Ok(())
    }

    /// `POST /actions/dialogs/submit`: sends what the user filled in (or that they
    /// cancelled) to the dialog's integration and answers its response, whose errors
    /// keep the dialog open.
    pub async fn submit_dialog(
        &self,
        auth: &Auth,
        mut request: SubmitDialogRequest,
    ) -> AppResult<SubmitDialogResponse> {
        if request.url.is_empty() {
            return Err(AppError::invalid_param("url"));
        }
        let actor = auth.actor();
        require_id(&request.channel_id, "channel_id")?;
        load_member_channel(self, actor, &request.channel_id).await?;
        if !request.team_id.is_empty() {
            require_team_member(self, actor, &request.team_id).await?;
        }
        let user_id = auth.user.id.clone();
        let url = std::mem::take(&mut request.url);
        if !self
            .store
            .is_dialog_open(&user_id, &url, &request.callback_id, now_millis())
            .await?
        {
            return Err(Code::DialogNotOpen.into());
        }
        request.user_id = user_id.clone();
        request.submission_type = DIALOG_SUBMISSION_TYPE.into();
        let body = self
            .call_integration(&user_id, &url, json_text(&request)?.into_bytes())
            .await?;
        // As in Mattermost, an empty or unreadable answer is an empty response.
        let response: SubmitDialogResponse = serde_json::from_slice(&body).unwrap_or_default();
        let keeps_open =
            !request.cancelled && (!response.error.is_empty() || !response.errors.is_empty());
        if !keeps_open {
            self.store
                .close_dialog(&user_id, &url, &request.callback_id)
                .await?;
        }
        if let (DIALOG_RESPONSE_FORM, Some(form)) =
            (response.response_type.as_str(), &response.form)
        {
            let now = now_millis();
            self.store
                .open_dialog(
                    &user_id,
                    &url,
                    &form.callback_id,
                    now,
                    now + DIALOG_OPEN_MILLIS,
                )
                .await?;
        }
        Ok(response)
    }

    /// `POST /posts/ephemeral`: a message only `user_id` sees, sent by a system admin
    /// (Mattermost's `create_post_ephemeral` permission) as themselves unless the post
    /// names its author.
    pub async fn create_ephemeral_post(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        draft: Option<Post>,
    ) -> AppResult<Post> {
        require_admin(actor)?;
        if user_id.is_empty() {
            return Err(AppError::invalid_param("user_id"));
        }
        let mut draft = draft.ok_or_else(|| AppError::invalid_param("post"))?;
        require_id(user_id, "user_id")?;
        if draft.user_id.is_empty() {
            draft.user_id = actor.user_id().unwrap_or_default().to_string();
        }
        self.send_ephemeral_post(user_id, draft).await
    }

    /// Replaces an ephemeral post the user sees (`post.id` names it), as Mattermost's
    /// `UpdateEphemeralPost`: only that user's clients are told.
    pub async fn update_ephemeral_post(&self, user_id: &str, mut post: Post) -> AppResult<Post> {
        require_id(user_id, "user_id")?;
        require_id(&post.id, "post_id")?;
        require_id(&post.channel_id, "channel_id")?;
        let now = now_millis();
        post.post_type = chorus_model::POST_TYPE_EPHEMERAL.into();
        post.update_at = now;
        if post.create_at == 0 {
            post.create_at = now;
        }
        self.seal_action_cookies(&mut post).await?;
        self.tell_user_about_post(events::POST_EDITED, user_id, &post)?;
        Ok(post)
    }

    /// Takes an ephemeral post away from the user's clients, as Mattermost's
    /// `DeleteEphemeralPost`.
    pub fn delete_ephemeral_post(&self, user_id: &str, post_id: &str) -> AppResult<()> {
        require_id(user_id, "user_id")?;
        require_id(post_id, "post_id")?;
        let now = now_millis();
        let post = Post {
            id: post_id.to_string(),
            user_id: user_id.to_string(),
            post_type: chorus_model::POST_TYPE_EPHEMERAL.into(),
            create_at: now,
            update_at: now,
            delete_at: now,
            ..Post::default()
        };
        self.tell_user_about_post(events::POST_DELETED, user_id, &post)
    }

    /// An event about a post only `user_id` sees (an ephemeral one), to their clients.
    pub(super) fn tell_user_about_post(
        &self,
        event_name: &str,
        user_id: &str,
        post: &Post,
    ) -> AppResult<()> {
        self.publish_to(
            event(
                event_name,
                serde_json::json!({"post": json_text(post)?}),
                Broadcast::to_user(user_id),
            ),
            &[user_id.to_string()],
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> InteractiveKeys {
        let secret: [u8; 64] = std::array::from_fn(|i| i as u8);
        InteractiveKeys::from_secret(&secret).unwrap()
    }

    #[test]
    fn cookies_open_only_as_sealed() {
        let keys = keys();
        let cookie = PostActionCookie {
            post_id: new_id(),
            channel_id: new_id(),
            integration: Some(PostActionIntegration {
                url: "http://x/y".into(),
                context: None,
            }),
            ..PostActionCookie::default()
        };
        let sealed = keys.seal(&cookie).unwrap();
        assert_eq!(keys.open(&sealed).unwrap(), cookie);
        // Any changed byte fails the tag.
        let mut bytes = BASE64.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let err = keys.open(&BASE64.encode(&bytes)).unwrap_err();
        assert_eq!(
            err.code().id(),
            "api.post.do_action.action_integration.app_error"
        );
        assert!(keys.open("not base64!").is_err());
        assert!(keys.open("").is_err());
        // Another cluster's key cannot open it.
        let other = InteractiveKeys::from_secret(&[7u8; 64]).unwrap();
        assert!(other.open(&sealed).is_err());
    }

    #[test]
    fn trigger_ids_verify_expire_and_resist_forgery() {
        let keys = keys();
        let (client, signed) = keys.trigger_id("user1", 1_000);
        assert_eq!(
            keys.verify_trigger_id(&signed, 2_000, 30_000).unwrap(),
            (client.clone(), "user1".to_string())
        );
        let id = |r: AppResult<(String, String)>| r.unwrap_err().code().id().to_string();
        assert_eq!(
            id(keys.verify_trigger_id(&signed, 40_000, 30_000)),
            "interactive_message.decode_trigger_id.expired"
        );
        assert_eq!(
            id(keys.verify_trigger_id("%%%", 2_000, 30_000)),
            "interactive_message.decode_trigger_id.base64_decode_failed"
        );
        assert_eq!(
            id(keys.verify_trigger_id(&BASE64.encode("a:b"), 2_000, 30_000)),
            "interactive_message.decode_trigger_id.missing_data"
        );
        let decoded = String::from_utf8(BASE64.decode(&signed).unwrap()).unwrap();
        let forged = decoded.replace("user1", "user2");
        assert_eq!(
            id(keys.verify_trigger_id(&BASE64.encode(forged), 2_000, 30_000)),
            "interactive_message.decode_trigger_id.verify_signature_failed"
        );
        let (data, _) = decoded.rsplit_once(':').unwrap();
        assert_eq!(
            id(keys.verify_trigger_id(&BASE64.encode(format!("{data}:***")), 2_000, 30_000)),
            "interactive_message.decode_trigger_id.base64_decode_failed_signature"
        );
    }

    #[test]
    fn plugin_routes_relative_or_on_the_site() {
        assert_eq!(
            plugin_route("/plugins/demo/action?x=1", ""),
            Some(("demo", "/action", "x=1"))
        );
        assert_eq!(plugin_route("plugins/demo", ""), Some(("demo", "/", "")));
        assert_eq!(
            plugin_route(
                "https://chat.example.com/plugins/demo/a",
                "https://chat.example.com/"
            ),
            Some(("demo", "/a", ""))
        );
        assert_eq!(
            plugin_route(
                "https://other.example.com/plugins/demo/a",
                "https://chat.example.com"
            ),
            None
        );
        assert_eq!(
            plugin_route("https://chat.example.com/plugins/demo/a", ""),
            None
        );
        assert_eq!(plugin_route("http://hook.example/x", ""), None);
    }
}
