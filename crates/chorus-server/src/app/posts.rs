//! Posts: create (with `MessageWillBePosted`, the `posted` fan-out and
//! `MessageHasBeenPosted`), read, edit, delete, a channel's history and a thread. Every
//! front door that makes a post (REST, slash commands answering `in_channel`, the
//! plugin API) comes through [`AppState::create_post`].

use super::events::{event, json_text};
use super::permissions::load_member_channel;
use super::validate::{self, require_id};
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::plugins::{HookContext, Rejection};
use crate::store::{PostWindow, PostedMember};
use crate::AppState;
use chorus_model::{
    events, new_id, now_millis, Broadcast, Channel, ChannelUnreadAt, Post, PostList, User,
    CHANNEL_DIRECT, POST_FILES_MAX, POST_TYPE_SLACK_ATTACHMENT, STATUS_ONLINE,
};

/// Longest `pending_post_id` a client may send.
const PENDING_POST_ID_MAX: usize = 100;

/// Most replies one page of a thread may hold (Mattermost's `PerPageMaximum`).
pub const THREAD_PER_PAGE_MAX: i64 = 200;

/// What may change in an existing post; `None` keeps the old value.
#[derive(Debug, Default)]
pub struct PostChanges {
    pub message: Option<String>,
    pub props: Option<serde_json::Map<String, serde_json::Value>>,
    pub is_pinned: Option<bool>,
    /// The post's files from now on: new uploads are attached, dropped ones deleted.
    pub file_ids: Option<Vec<String>>,
}

/// Which part of a thread to read.
#[derive(Debug)]
pub enum ThreadRead {
    /// Every reply.
    Whole,
    /// Up to `per_page` replies past `(create_at, id)` (or from the start), newer ones
    /// when `newer`, else older ones.
    Page {
        per_page: i64,
        cursor: Option<(i64, String)>,
        newer: bool,
    },
}

/// Which part of a channel's history to read; pivots are post ids of that channel.
#[derive(Debug)]
pub enum HistoryRead {
    Page,
    Since(i64),
    Before(String),
    After(String),
}

/// A post's text: required unless files or Slack attachments make the post.
fn check_message(post: &Post) -> AppResult<()> {
    let message = &post.message;
    let has_content = !post.file_ids.is_empty() || post.props.contains_key("attachments");
    if message.trim().is_empty() && !has_content {
        return Err(Code::PostMessageInvalid.into());
    }
    validate::max_len(
        Code::PostMessageInvalid,
        "message",
        message,
        validate::POST_MESSAGE_MAX,
    )
}

/// The types a user's post may have: none, `custom_…`, or Slack attachments (which
/// commands and Mattermost's apps post); the rest are the server's.
pub(super) fn check_user_post_type(post_type: &str) -> AppResult<()> {
    if post_type.is_empty()
        || post_type.starts_with("custom_")
        || post_type == POST_TYPE_SLACK_ATTACHMENT
    {
        Ok(())
    } else {
        Err(Code::PostTypeReserved.into())
    }
}

/// At most [`POST_FILES_MAX`] well-formed file ids. Ids the author may not attach
/// (another user's upload, another channel's, one already attached) are left out of
/// the post, as Mattermost does.
fn check_file_ids(file_ids: &[String]) -> AppResult<()> {
    if file_ids.len() > POST_FILES_MAX {
        return Err(Code::PostFileIdsInvalid.with_message(format!(
            "A post carries at most {POST_FILES_MAX} files; this one names {}.",
            file_ids.len()
        )));
    }
    if let Some(bad) = file_ids.iter().find(|id| !chorus_model::is_valid_id(id)) {
        return Err(Code::PostFileIdsInvalid.with_message(format!("{bad:?} is not a file id.")));
    }
    Ok(())
}

fn rejected(rejection: Rejection) -> AppError {
    Code::PostRejectedByPlugin.with_message(format!("Post rejected by plugin: {}", rejection.0))
}

impl AppState {
    /// Checks and stores a new post, then tells the channel and the plugins. A user
    /// posts as themselves, in channels they belong to, with `custom_` types (or Slack
    /// attachments, which commands and Mattermost's apps post) at most;
    /// a plugin names the author in `draft.user_id` and may post anywhere.
    pub async fn create_post(&self, actor: Actor<'_>, draft: Post) -> AppResult<Post> {
        let (author, context) = match actor {
            Actor::User(auth) => {
                check_user_post_type(&draft.post_type)?;
                (auth.user.clone(), actor.hook_context())
            }
            Actor::Plugin(_) | Actor::System => {
                let author = self.any_user(&draft.user_id).await?;
                let context = HookContext::for_user(&author.id, "");
                (author, context)
            }
        };
        require_id(&draft.channel_id, "channel_id")?;
        check_message(&draft)?;
        validate::max_len(
            Code::PendingPostIdInvalid,
            "pending_post_id",
            &draft.pending_post_id,
            PENDING_POST_ID_MAX,
        )?;
        check_file_ids(&draft.file_ids)?;
        let channel = load_member_channel(self, actor, &draft.channel_id).await?;
        if !draft.root_id.is_empty() {
            require_id(&draft.root_id, "root_id")?;
            let root = self.store.get_post(&draft.root_id).await?;
            let valid_root = root.is_some_and(|root| {
                root.channel_id == channel.id && root.delete_at == 0 && root.root_id.is_empty()
            });
            if !valid_root {
                return Err(Code::PostRootInvalid.into());
            }
        }
        let now = now_millis();
        let mut post = Post {
            id: new_id(),
            create_at: now,
            update_at: now,
            edit_at: 0,
            delete_at: 0,
            reply_count: 0,
            last_reply_at: 0,
            user_id: author.id.clone(),
            channel_id: channel.id.clone(),
            ..draft
        };
        chorus_model::generate_action_ids(&mut post.props);
        let posted = self.submit_post(post, &channel, &author, &context).await?;
        if matches!(actor, Actor::User(_)) {
            // Posting is activity: an away user is back.
            self.record_activity(&author.id).await?;
        }
        Ok(posted)
    }

    /// Runs `MessageWillBePosted`, stores the post, tells the channel, then notifies
    /// plugins.
    async fn submit_post(
        &self,
        post: Post,
        channel: &Channel,
        author: &User,
        context: &HookContext,
    ) -> AppResult<Post> {
        let mut post = self
            .plugins
            .message_will_be_posted(context, post)
            .await
            .map_err(rejected)?;
        validate::max_len(
            Code::PostMessageInvalid,
            "message",
            &post.message,
            validate::POST_MESSAGE_MAX,
        )?;
        post.hashtags = chorus_model::parse_hashtags(&post.message);
        let Some(posted) = self.store.insert_post(&post).await? else {
            return Err(Code::PostRootInvalid
                .with_message("The thread's root post was deleted; the reply was not posted."));
        };
        post.reply_count = posted.reply_count;
        post.file_ids = posted.file_ids;
        self.attach_files([&mut post]).await?;
        let mentions = self.mentions_of(&post, channel, &posted.members).await?;
        self.store
            .add_mentions(&channel.id, &mentions, post.root_id.is_empty())
            .await?;
        self.publish_posted(channel, &post, &author.username, posted.members, &mentions)?;
        self.plugins.message_has_been_posted(context, &post);
        self.queue_outgoing_webhooks(&post, channel, &author.username);
        Ok(post)
    }

    /// The members a post mentions, whose mention counts it raises: those named with
    /// `@username` or by their own mention keys, everyone for `@channel` or `@all`,
    /// those online now for `@here` (both as their notify props allow), and in a
    /// direct channel the other member for every post, as in Mattermost. Never the
    /// author; system messages mention nobody. A muted channel still counts mentions,
    /// as Mattermost's does.
    async fn mentions_of(
        &self,
        post: &Post,
        channel: &Channel,
        members: &[PostedMember],
    ) -> AppResult<Vec<String>> {
        if post.post_type.starts_with("system_") {
            return Ok(Vec::new());
        }
        let others = members.iter().filter(|m| m.user_id != post.user_id);
        if channel.channel_type == CHANNEL_DIRECT {
            return Ok(others.map(|m| m.user_id.clone()).collect());
        }
        let words = MentionWords::of(&post.message);
        let channel_wide = members.len() < CHANNEL_WIDE_MENTIONS_MAX_MEMBERS;
        let everyone = channel_wide && words.everyone;
        let mut mentioned: Vec<String> = others
            .clone()
            .filter(|m| words.names_member(m) || (everyone && hears_channel_mentions(m)))
            .map(|m| m.user_id.clone())
            .collect();
        if channel_wide && words.here && !words.everyone {
            let unnamed: Vec<String> = others
                .filter(|m| !mentioned.contains(&m.user_id) && hears_channel_mentions(m))
                .map(|m| m.user_id.clone())
                .collect();
            let online = self.store.get_statuses(&unnamed).await?;
            mentioned.extend(
                online
                    .into_iter()
                    .filter(|s| s.status == STATUS_ONLINE)
                    .map(|s| s.user_id),
            );
        }
        Ok(mentioned)
    }

    /// The `posted` event, with the channel's details and the members mentioned.
    fn publish_posted(
        &self,
        channel: &Channel,
        post: &Post,
        sender: &str,
        members: Vec<PostedMember>,
        mentions: &[String],
    ) -> AppResult<()> {
        let mut data = serde_json::json!({
            "post": json_text(post)?,
            "channel_type": channel.channel_type,
            "channel_display_name": channel.display_name,
            "channel_name": channel.name,
            "sender_name": format!("@{sender}"),
            "team_id": channel.team_id,
            "set_online": true,
        });
        if !mentions.is_empty() {
            data["mentions"] = serde_json::Value::String(json_text(&mentions)?);
        }
        let audience: Vec<String> = members.into_iter().map(|m| m.user_id).collect();
        self.publish_to(
            event(events::POSTED, data, Broadcast::to_channel(&channel.id)),
            &audience,
        );
        Ok(())
    }

    /// A live post the actor may read, with its channel.
    pub async fn readable_post(
        &self,
        actor: Actor<'_>,
        post_id: &str,
    ) -> AppResult<(Post, Channel)> {
        require_id(post_id, "post_id")?;
        let post = self
            .store
            .get_post(post_id)
            .await?
            .filter(|p| p.delete_at == 0)
            .ok_or_else(|| AppError::from(Code::PostNotFound))?;
        let channel = load_member_channel(self, actor, &post.channel_id).await?;
        Ok((post, channel))
    }

    /// Fills the `metadata` of posts: their reactions and files.
    pub async fn attach_metadata(
        &self,
        posts: impl IntoIterator<Item = &mut Post>,
    ) -> AppResult<()> {
        let mut posts: Vec<&mut Post> = posts.into_iter().collect();
        self.attach_reactions(posts.iter_mut().map(|p| &mut **p))
            .await?;
        self.attach_files(posts).await
    }

    /// [`AppState::attach_metadata`] for every post of a list.
    pub async fn attach_metadata_to_list(&self, list: &mut PostList) -> AppResult<()> {
        self.attach_metadata(list.posts.values_mut()).await
    }

    /// A post with its reactions and files in `metadata`.
    pub async fn get_post(&self, actor: Actor<'_>, post_id: &str) -> AppResult<Post> {
        let mut post = self.readable_post(actor, post_id).await?.0;
        self.attach_metadata([&mut post]).await?;
        Ok(post)
    }

    /// Edits a live post: users their own (admins any), plugins any.
    pub async fn edit_post(
        &self,
        actor: Actor<'_>,
        post_id: &str,
        changes: PostChanges,
    ) -> AppResult<Post> {
        let (old, channel) = self.readable_post(actor, post_id).await?;
        if actor.user_id() != Some(old.user_id.as_str()) && !actor.is_admin() {
            return Err(AppError::forbidden("You can only edit your own posts."));
        }
        self.change_post(actor, old, &channel, changes).await
    }

    /// Applies `changes` to a live post whoever may make them: through
    /// `MessageWillBeUpdated`, stored, told to the channel (`post_edited`) and to
    /// `MessageHasBeenUpdated`.
    pub(super) async fn change_post(
        &self,
        actor: Actor<'_>,
        old: Post,
        channel: &Channel,
        changes: PostChanges,
    ) -> AppResult<Post> {
        let mut new = old.clone();
        if let Some(message) = changes.message {
            new.message = message;
        }
        if let Some(mut props) = changes.props {
            if matches!(actor, Actor::User(_)) {
                chorus_model::restore_integrations(&mut props, &old.props);
            }
            chorus_model::generate_action_ids(&mut props);
            new.props = props;
        }
        check_message(&new)?;
        if let Some(pinned) = changes.is_pinned {
            new.is_pinned = pinned;
        }
        if let Some(file_ids) = &changes.file_ids {
            check_file_ids(file_ids)?;
            new.file_ids = file_ids.clone();
        }
        let context = actor.hook_context();
        let mut new = self
            .plugins
            .message_will_be_updated(&context, new, &old)
            .await
            .map_err(rejected)?;
        check_message(&new)?;
        new.hashtags = chorus_model::parse_hashtags(&new.message);
        let files = changes
            .file_ids
            .is_some()
            .then_some(new.file_ids.as_slice());
        let mut updated = self
            .store
            .update_post_and_files(&new, files)
            .await?
            .ok_or_else(|| AppError::from(Code::PostNotFound))?;
        self.attach_metadata([&mut updated]).await?;
        self.publish(event(
            events::POST_EDITED,
            serde_json::json!({"post": json_text(&updated)?}),
            Broadcast::to_channel(&channel.id),
        ))
        .await?;
        self.plugins
            .message_has_been_updated(&context, &updated, &old);
        Ok(updated)
    }

    /// Soft-deletes a live post (and a root's replies): users their own (admins any),
    /// plugins any.
    pub async fn delete_post(&self, actor: Actor<'_>, post_id: &str) -> AppResult<()> {
        let (mut post, channel) = self.readable_post(actor, post_id).await?;
        if actor.user_id() != Some(post.user_id.as_str()) && !actor.is_admin() {
            return Err(AppError::forbidden("You can only delete your own posts."));
        }
        if !self.store.delete_post(&post.id).await? {
            return Err(Code::PostNotFound.into());
        }
        post.delete_at = now_millis();
        self.publish(event(
            events::POST_DELETED,
            serde_json::json!({"post": json_text(&post)?, "delete_by": actor.user_id().unwrap_or_default()}),
            Broadcast::to_channel(&channel.id),
        ))
        .await?;
        self.plugins
            .message_has_been_deleted(&actor.hook_context(), &post);
        Ok(())
    }

    /// A page of a channel's history, newest first.
    pub async fn channel_history(
        &self,
        actor: Actor<'_>,
        channel_id: &str,
        read: HistoryRead,
        page: i64,
        per_page: i64,
    ) -> AppResult<PostList> {
        let channel = load_member_channel(self, actor, channel_id).await?;
        let pivot = |id: String, name: &'static str| {
            let channel_id = channel.id.clone();
            async move {
                require_id(&id, name)?;
                self.store
                    .get_post(&id)
                    .await?
                    .filter(|p| p.channel_id == channel_id)
                    .ok_or_else(|| AppError::from(Code::PostNotFound))
            }
        };
        let window = match read {
            HistoryRead::Page => PostWindow::Page,
            HistoryRead::Since(since) => PostWindow::Since(since),
            HistoryRead::Before(id) => PostWindow::Before(pivot(id, "before").await?),
            HistoryRead::After(id) => PostWindow::After(pivot(id, "after").await?),
        };
        let mut list = self
            .store
            .channel_posts(&channel.id, &window, page, per_page)
            .await?;
        self.attach_metadata_to_list(&mut list).await?;
        Ok(list)
    }

    /// The thread a post belongs to (the post may be its root or any reply).
    pub async fn thread(
        &self,
        actor: Actor<'_>,
        post_id: &str,
        read: ThreadRead,
    ) -> AppResult<PostList> {
        let (post, _) = self.readable_post(actor, post_id).await?;
        let root_id = if post.root_id.is_empty() {
            &post.id
        } else {
            &post.root_id
        };
        let mut list = match read {
            ThreadRead::Whole => self.store.thread(root_id).await?,
            ThreadRead::Page {
                per_page,
                cursor,
                newer,
            } => {
                self.store
                    .thread_page(root_id, per_page, cursor, newer)
                    .await?
            }
        };
        self.attach_metadata_to_list(&mut list).await?;
        Ok(list)
    }
}

/// Most posts recounted for mentions when a channel is marked unread from a post:
/// mentions further on are not counted again.
const UNREAD_RECOUNT_MAX: i64 = 1000;

/// Whether a stored post mentions one member, as [`AppState::mentions_of`] decided when
/// it was posted; `@here` counts as `@channel`, as who was online then is not kept.
fn mentions_member(
    post: &Post,
    channel: &Channel,
    member: &PostedMember,
    member_count: i64,
) -> bool {
    if post.user_id == member.user_id || post.post_type.starts_with("system_") {
        return false;
    }
    if channel.channel_type == CHANNEL_DIRECT {
        return true;
    }
    let words = MentionWords::of(&post.message);
    let channel_wide = (member_count as usize) < CHANNEL_WIDE_MENTIONS_MAX_MEMBERS;
    words.names_member(member)
        || (channel_wide && (words.everyone || words.here) && hears_channel_mentions(member))
}

impl AppState {
    /// `POST /users/{id}/posts/{post_id}/set_unread`: the channel becomes unread from
    /// this post on for the user (themselves, or an admin for them), its mentions from
    /// there recounted; the user's clients get `post_unread`.
    pub async fn mark_unread_from(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        post_id: &str,
    ) -> AppResult<ChannelUnreadAt> {
        require_id(user_id, "user_id")?;
        super::permissions::require_self_or_admin(actor, user_id)?;
        let (post, channel) = self.readable_post(actor, post_id).await?;
        let not_member = || {
            AppError::forbidden(
                "You do not have the appropriate permissions: the user is not a member of this channel.",
            )
        };
        let (member, member_count) = self
            .store
            .posted_member(&channel.id, user_id)
            .await?
            .ok_or_else(not_member)?;
        let unread = self
            .store
            .posts_from(&channel.id, post.create_at, UNREAD_RECOUNT_MAX)
            .await?;
        let mentioned: Vec<&Post> = unread
            .iter()
            .filter(|p| mentions_member(p, &channel, &member, member_count))
            .collect();
        let mentions = mentioned.len() as i64;
        let mentions_root = mentioned.iter().filter(|p| p.root_id.is_empty()).count() as i64;
        let (read, read_root, total, total_root) = self
            .store
            .mark_unread_from(
                &channel.id,
                user_id,
                post.create_at,
                (mentions, mentions_root),
            )
            .await?
            .ok_or_else(not_member)?;
        let state = ChannelUnreadAt {
            team_id: channel.team_id.clone(),
            channel_id: channel.id.clone(),
            msg_count: (total - read).max(0),
            mention_count: mentions,
            mention_count_root: mentions_root,
            urgent_mention_count: 0,
            msg_count_root: (total_root - read_root).max(0),
            last_viewed_at: post.create_at - 1,
        };
        let data = serde_json::json!({
            "team_id": state.team_id,
            "channel_id": state.channel_id,
            "msg_count": state.msg_count,
            "msg_count_root": state.msg_count_root,
            "mention_count": state.mention_count,
            "mention_count_root": state.mention_count_root,
            "urgent_mention_count": 0,
            "last_viewed_at": state.last_viewed_at,
            "post_id": post.id,
        });
        self.publish(event(
            events::POST_UNREAD,
            data,
            Broadcast::to_user(user_id),
        ))
        .await?;
        Ok(state)
    }
}

/// Channels this large get no channel-wide mentions (Mattermost's
/// `TeamSettings.MaxNotificationsPerChannel` default).
const CHANNEL_WIDE_MENTIONS_MAX_MEMBERS: usize = 1000;

/// The words of a message as mentions see them: the `@` names (lowercased), the other
/// words (as written), and whether it calls everyone (`@channel`, `@all`) or those
/// online (`@here`).
#[derive(Debug, Default, PartialEq)]
struct MentionWords {
    names: Vec<String>,
    words: Vec<String>,
    everyone: bool,
    here: bool,
}

impl MentionWords {
    fn of(message: &str) -> MentionWords {
        let mut found = MentionWords::default();
        for raw in message.split(|c: char| c.is_whitespace()) {
            // A word ends where its characters do (`@bob,`); a trailing dot is
            // punctuation, not part of a name (`@bob.`).
            let word = raw
                .trim_start_matches(|c: char| !(c.is_alphanumeric() || c == '@'))
                .trim_end_matches(|c: char| {
                    !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
                })
                .trim_end_matches('.');
            if let Some(name) = word.strip_prefix('@') {
                match name.to_lowercase().as_str() {
                    "" => {}
                    "channel" | "all" => found.everyone = true,
                    "here" => found.here = true,
                    name => found.names.push(name.to_string()),
                }
            } else if !word.is_empty() && !word.contains('@') {
                found.words.push(word.to_string());
            }
        }
        found
    }

    /// Whether a member is named: by `@username`, by one of their mention keys
    /// (case-insensitive; a key written with `@` matches the `@` name), or by their
    /// first name when they asked for it (as written, as Mattermost matches it).
    fn names_member(&self, member: &PostedMember) -> bool {
        if self.names.contains(&member.username) {
            return true;
        }
        let keys = member
            .mention_keys
            .split(',')
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty());
        for key in keys {
            let hit = match key.strip_prefix('@') {
                Some(name) => self.names.iter().any(|n| n == name),
                None => self.words.iter().any(|w| w.to_lowercase() == key),
            };
            if hit {
                return true;
            }
        }
        !member.first_name_key.is_empty() && self.words.contains(&member.first_name_key)
    }
}

/// Whether `@channel`, `@all` and `@here` reach a member: their `channel` notify prop
/// allows it, and the channel's `ignore_channel_mentions` does not refuse it ("on", or
/// "default" in a muted channel), as in Mattermost.
fn hears_channel_mentions(member: &PostedMember) -> bool {
    let ignored = match member.ignore_channel_mentions.as_str() {
        "on" => true,
        "off" => false,
        _ => member.muted,
    };
    member.channel_mentions && !ignored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(username: &str) -> PostedMember {
        PostedMember {
            user_id: format!("{username}-id"),
            username: username.into(),
            channel_mentions: true,
            ignore_channel_mentions: "default".into(),
            ..PostedMember::default()
        }
    }

    #[test]
    fn mention_keys_and_first_names_name_members() {
        let words = MentionWords::of("Deploy is DONE, thanks Ada; ping @oncall.");
        let mut keyed = member("zoe");
        keyed.mention_keys = "done, ,@OnCall".into();
        assert!(words.names_member(&keyed));
        keyed.mention_keys = "@oncall".into();
        assert!(words.names_member(&keyed), "an @ key matches the @ name");
        keyed.mention_keys = "deploys".into();
        assert!(!words.names_member(&keyed), "whole words only");
        let mut ada = member("ada1");
        assert!(
            !words.names_member(&ada),
            "a first name counts only when asked for"
        );
        ada.first_name_key = "Ada".into();
        assert!(words.names_member(&ada));
        ada.first_name_key = "ada".into();
        assert!(!words.names_member(&ada), "first names match as written");
        assert!(MentionWords::of("hey @ZOE!").names_member(&member("zoe")));
    }

    #[test]
    fn channel_wide_mentions_follow_notify_props() {
        let mut m = member("bob");
        assert!(hears_channel_mentions(&m));
        m.muted = true;
        assert!(!hears_channel_mentions(&m), "muted and default: ignored");
        m.ignore_channel_mentions = "off".into();
        assert!(hears_channel_mentions(&m));
        m.muted = false;
        m.ignore_channel_mentions = "on".into();
        assert!(!hears_channel_mentions(&m));
        m.ignore_channel_mentions = "default".into();
        m.channel_mentions = false;
        assert!(!hears_channel_mentions(&m));
    }

    #[test]
    fn mention_words_name_people_and_everyone() {
        let words = MentionWords::of("hi @bob, and @Carol! cc @first.last.");
        assert_eq!(words.names, vec!["bob", "carol", "first.last"]);
        assert!(!words.everyone && !words.here);
        assert!(MentionWords::of("@channel hello").everyone);
        assert!(MentionWords::of("ping @all").everyone);
        let here = MentionWords::of("anyone @here?");
        assert!(here.here && !here.everyone && here.names.is_empty());
        let email = MentionWords::of("email bob@example.com");
        assert!(email.names.is_empty(), "an address names nobody");
        assert_eq!(email.words, vec!["email"]);
    }
}
