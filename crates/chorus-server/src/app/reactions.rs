//! Emoji reactions: a channel member reacts to a post as themselves (plugins as any
//! user), with a system emoji, up to `UniqueEmojiReactionLimitPerPost` different emoji
//! per post. Adding or removing one tells the channel (`reaction_added`,
//! `reaction_removed`) and the plugins, and posts carry their reactions in
//! `metadata.reactions` wherever they are read.

use super::events::{event, json_text};
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::store::ReactionAdded;
use crate::AppState;
use chorus_model::{events, now_millis, Broadcast, Post, Reaction};
use std::collections::HashMap;

/// Mattermost's longest emoji name.
pub const EMOJI_NAME_MAX: usize = 64;

/// Most posts one `POST /posts/ids/reactions` asks about.
pub const MAX_POSTS_PER_REQUEST: usize = 200;

/// Whether a shortcode (`smile`, `+1`, `white_check_mark`) names a system emoji.
pub(super) fn is_system_emoji(name: &str) -> bool {
    emojis::get_by_shortcode(name).is_some()
}

/// A well-formed name (Mattermost's `[a-zA-Z0-9+_-]{1,64}`) of a system emoji, by its
/// shortcode (`smile`, `+1`, `thumbsup`, `white_check_mark`).
fn check_emoji_name(name: &str) -> AppResult<()> {
    if name.is_empty() || name.len() > EMOJI_NAME_MAX {
        return Err(Code::ReactionInvalid
            .with_message(format!("emoji_name must be 1-{EMOJI_NAME_MAX} characters.")));
    }
    let well_formed = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '_'));
    if !well_formed {
        return Err(Code::ReactionEmojiInvalid.with_message(format!(
            "emoji_name must be 1-{EMOJI_NAME_MAX} letters, digits, '+', '-' or '_'."
        )));
    }
    if !is_system_emoji(name) {
        return Err(Code::EmojiNotFound
            .with_message(format!(":{name}: is not an emoji this server knows.")));
    }
    Ok(())
}

impl AppState {
    /// `POST /reactions` and the plugin API's `AddReaction`. Reacting twice with the
    /// same emoji is not an error: the first reaction stands and nothing is announced
    /// again (Mattermost re-sends the event; nothing changed, so Chorus does not).
    pub async fn add_reaction(&self, actor: Actor<'_>, reaction: Reaction) -> AppResult<Reaction> {
        for (field, value) in [
            ("user_id", &reaction.user_id),
            ("post_id", &reaction.post_id),
        ] {
            if !chorus_model::is_valid_id(value) {
                return Err(Code::ReactionInvalid
                    .with_message(format!("The reaction's {field} is not a valid id.")));
            }
        }
        check_emoji_name(&reaction.emoji_name)?;
        if let Actor::User(auth) = actor {
            if auth.user.id != reaction.user_id {
                return Err(Code::ReactionForOtherUser.into());
            }
        }
        let (post, channel) = self.readable_post(actor, &reaction.post_id).await?;
        if !matches!(actor, Actor::User(_)) {
            // A plugin reacts for a user that must exist.
            self.require_user(&reaction.user_id).await?;
        }
        let reaction = Reaction {
            channel_id: channel.id.clone(),
            create_at: now_millis(),
            update_at: 0,
            delete_at: 0,
            remote_id: String::new(),
            post_id: post.id,
            ..reaction
        };
        let limit = self
            .config
            .service_settings
            .unique_emoji_reaction_limit_per_post;
        let added = match self.store.add_reaction(&reaction, limit).await? {
            ReactionAdded::Added(added) => added,
            ReactionAdded::Existing(existing) => return Ok(existing),
            ReactionAdded::PostGone => return Err(Code::PostNotFound.into()),
            ReactionAdded::TooManyEmoji => {
                return Err(Code::ReactionLimit.with_message(format!(
                    "This post already has {limit} different emoji reactions \
                     (ServiceSettings.UniqueEmojiReactionLimitPerPost)."
                )))
            }
        };
        let added = Reaction {
            update_at: added.create_at,
            ..added
        };
        self.publish(event(
            events::REACTION_ADDED,
            serde_json::json!({"reaction": json_text(&added)?}),
            Broadcast::to_channel(&channel.id),
        ))
        .await?;
        self.plugins
            .reaction_has_been_added(&actor.hook_context(), &added);
        Ok(added)
    }

    /// `DELETE /users/{user_id}/posts/{post_id}/reactions/{emoji_name}` and the plugin
    /// API's `RemoveReaction`: users remove their own reactions, admins anyone's.
    pub async fn remove_reaction(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        post_id: &str,
        emoji_name: &str,
    ) -> AppResult<()> {
        require_id(user_id, "user_id")?;
        require_id(post_id, "post_id")?;
        check_emoji_name(emoji_name)?;
        let (post, channel) = self.readable_post(actor, post_id).await?;
        if actor.user_id() != Some(user_id) && !actor.is_admin() {
            return Err(AppError::forbidden(
                "You do not have the appropriate permissions: you can only remove your own reactions.",
            ));
        }
        let now = now_millis();
        if !self
            .store
            .remove_reaction(&post.id, user_id, emoji_name, now)
            .await?
        {
            // Already gone (a second click, or a race with another node): the
            // outcome asked for holds, as Mattermost answers it, with nothing to tell.
            return Ok(());
        }
        let removed = Reaction {
            user_id: user_id.to_string(),
            post_id: post.id,
            emoji_name: emoji_name.to_string(),
            create_at: 0,
            update_at: now,
            delete_at: now,
            remote_id: String::new(),
            channel_id: channel.id.clone(),
        };
        self.publish(event(
            events::REACTION_REMOVED,
            serde_json::json!({"reaction": json_text(&removed)?}),
            Broadcast::to_channel(&channel.id),
        ))
        .await?;
        self.plugins
            .reaction_has_been_removed(&actor.hook_context(), &removed);
        Ok(())
    }

    /// `GET /posts/{id}/reactions` and the plugin API's `GetReactions`.
    pub async fn reactions_of_post(
        &self,
        actor: Actor<'_>,
        post_id: &str,
    ) -> AppResult<Vec<Reaction>> {
        let (post, _) = self.readable_post(actor, post_id).await?;
        Ok(self.store.reactions_of_posts(&[post.id]).await?)
    }

    /// `POST /posts/ids/reactions`: every post asked about is answered (with `[]` when
    /// it has no reactions); a post the actor may not read fails the whole request.
    pub async fn reactions_of_posts(
        &self,
        actor: Actor<'_>,
        post_ids: &[String],
    ) -> AppResult<HashMap<String, Vec<Reaction>>> {
        if post_ids.len() > MAX_POSTS_PER_REQUEST {
            return Err(Code::InvalidParam.with_message(format!(
                "At most {MAX_POSTS_PER_REQUEST} post ids may be asked about at once."
            )));
        }
        let mut answer: HashMap<String, Vec<Reaction>> = HashMap::new();
        for post_id in post_ids {
            if !answer.contains_key(post_id) {
                let (post, _) = self.readable_post(actor, post_id).await?;
                answer.insert(post.id, Vec::new());
            }
        }
        for reaction in self.store.reactions_of_posts(post_ids).await? {
            answer
                .entry(reaction.post_id.clone())
                .or_default()
                .push(reaction);
        }
        Ok(answer)
    }

    /// Fills `metadata.reactions` of the posts that have reactions, in one query.
    pub async fn attach_reactions<'p>(
        &self,
        posts: impl IntoIterator<Item = &'p mut Post>,
    ) -> AppResult<()> {
        let mut wanting: HashMap<String, &'p mut Post> = posts
            .into_iter()
            .filter(|p| p.has_reactions)
            .map(|p| (p.id.clone(), p))
            .collect();
        if wanting.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = wanting.keys().cloned().collect();
        let mut by_post: HashMap<String, Vec<Reaction>> = HashMap::new();
        for reaction in self.store.reactions_of_posts(&ids).await? {
            by_post
                .entry(reaction.post_id.clone())
                .or_default()
                .push(reaction);
        }
        for (post_id, post) in wanting.iter_mut() {
            let reactions = by_post.remove(post_id).unwrap_or_default();
            let value =
                serde_json::to_value(reactions).map_err(|e| AppError::Internal(e.to_string()))?;
            post.metadata.insert("reactions".into(), value);
        }
        Ok(())
    }
}
