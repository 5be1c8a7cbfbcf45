//! Posts and the paged post list.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Post type of an ephemeral post, shown to one user only and never stored.
pub const POST_TYPE_EPHEMERAL: &str = "system_ephemeral";
/// The system messages a channel change posts, as Mattermost's.
pub const POST_TYPE_HEADER_CHANGE: &str = "system_header_change";
pub const POST_TYPE_PURPOSE_CHANGE: &str = "system_purpose_change";
pub const POST_TYPE_DISPLAYNAME_CHANGE: &str = "system_displayname_change";
/// The system messages of a user leaving a team, or being removed from it.
pub const POST_TYPE_LEAVE_TEAM: &str = "system_leave_team";
pub const POST_TYPE_REMOVE_FROM_TEAM: &str = "system_remove_from_team";
/// The type of posts that carry Slack attachments (`props.attachments`), as
/// integrations post them.
pub const POST_TYPE_SLACK_ATTACHMENT: &str = "slack_attachment";

/// Most files one post may carry (what Mattermost's 300-character limit on the id
/// list allows).
pub const POST_FILES_MAX: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Post {
    pub id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub edit_at: i64,
    pub delete_at: i64,
    pub is_pinned: bool,
    pub user_id: String,
    pub channel_id: String,
    pub root_id: String,
    pub original_id: String,
    pub message: String,
    #[serde(rename = "type")]
    pub post_type: String,
    /// Sent without the actions' integrations (see [`crate::props_for_clients`]).
    #[serde(serialize_with = "crate::interactive::serialize_props_for_clients")]
    pub props: serde_json::Map<String, serde_json::Value>,
    pub hashtags: String,
    pub pending_post_id: String,
    /// The attached files' ids (at most [`POST_FILES_MAX`]); their infos are in
    /// `metadata.files`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub file_ids: Vec<String>,
    pub reply_count: i64,
    /// When the thread's latest reply was posted (0 without replies).
    pub last_reply_at: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub has_reactions: bool,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl Post {
    /// A new post of `message` in a channel, everything else empty: what a plugin
    /// hands to `create_post` (after setting `user_id`, for example to its bot's id).
    pub fn new(channel_id: impl Into<String>, message: impl Into<String>) -> Post {
        Post {
            channel_id: channel_id.into(),
            message: message.into(),
            ..Post::default()
        }
    }
}

/// An emoji reaction of one user to one post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Reaction {
    pub user_id: String,
    pub post_id: String,
    pub emoji_name: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub remote_id: String,
    pub channel_id: String,
}

/// `POST /teams/{id}/posts/search` and `POST /posts/search`: the posts found, newest
/// first, and for each the search words it contains (for clients to highlight).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostSearchResults {
    #[serde(flatten)]
    pub list: PostList,
    pub matches: HashMap<String, Vec<String>>,
    /// Always 0: Chorus keeps every post searchable (Mattermost's cloud limits hide
    /// older ones).
    pub first_inaccessible_post_time: i64,
}

/// Longest `hashtags` text a post keeps (Mattermost's limit): later tags are dropped.
pub const POST_HASHTAGS_MAX_CHARS: usize = 1000;

/// The hashtags of a message, space-separated in order, as Mattermost's
/// `ParseHashtags` finds them: a word (stripped of punctuation around it) that is `#`,
/// a letter, then letters, digits, `-`, `_` or `.`, ending in a letter or digit.
pub fn parse_hashtags(message: &str) -> String {
    let mut tags = String::new();
    for word in message.split_whitespace() {
        let word = word
            .trim_start_matches(|c: char| !(c.is_alphanumeric() || c == '#'))
            .trim_end_matches(|c: char| !c.is_alphanumeric());
        if !is_hashtag(word) {
            continue;
        }
        if tags.len() + 1 + word.len() > POST_HASHTAGS_MAX_CHARS {
            break;
        }
        if !tags.is_empty() {
            tags.push(' ');
        }
        tags.push_str(word);
    }
    tags
}

fn is_hashtag(word: &str) -> bool {
    let Some(rest) = word.strip_prefix('#') else {
        return false;
    };
    let mut chars = rest.chars();
    let first_is_letter = chars.next().is_some_and(char::is_alphabetic);
    let last_fits = rest.chars().last().is_some_and(char::is_alphanumeric);
    first_is_letter
        && last_fits
        && rest.chars().count() >= 2
        && rest
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `GET /channels/{id}/posts` and `GET /posts/{id}/thread`: ids newest first in `order`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostList {
    pub order: Vec<String>,
    pub posts: HashMap<String, Post>,
    pub next_post_id: String,
    pub prev_post_id: String,
    pub has_next: bool,
}

#[cfg(test)]
mod hashtag_tests {
    use super::*;

    #[test]
    fn hashtags_are_found_as_mattermost_finds_them() {
        assert_eq!(
            parse_hashtags("ship #release-2.0 today (#urgent), #a #1x #ok."),
            "#release-2.0 #urgent #ok"
        );
        assert_eq!(
            parse_hashtags("no tags # here ##double #trailing- #émoji"),
            "#trailing #émoji"
        );
        assert_eq!(parse_hashtags(""), "");
        let many = "#tagword ".repeat(500);
        assert!(parse_hashtags(&many).len() <= POST_HASHTAGS_MAX_CHARS);
    }
}
