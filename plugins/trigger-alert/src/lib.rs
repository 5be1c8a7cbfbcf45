//! trigger-alert, the reference scenario's plugin: each user keeps trigger words, and
//! when someone posts one of them in a channel the user can read, the user gets an
//! alert.
//!
//! **Stateless by design.** The plugin keeps nothing in memory: every copy, on every
//! app server, reads and writes the plugin KV store, so a word set through one server
//! alerts on a post made through another. Two keys per fact:
//!
//! - `user-words:<user id>` → the user's words (a sorted JSON array), for listing;
//! - `word-users:<word>` → the ids of users holding the word (a sorted JSON array), the
//!   index a post is matched against: a post costs one KV read per distinct word in it,
//!   however many users hold trigger words.
//!
//! Both are updated with compare-and-set retries, so concurrent edits from several
//! servers never lose one another.
//!
//! **Alerts are ephemeral posts** in the channel of the matching post, sent to the
//! user alone: nothing is stored, nothing unread piles up, and a user who is not
//! connected simply misses it. They are sent only to channel members, never to the
//! author.
//!
//! Users manage their words through the HTTP endpoint (used by the web part) or the
//! `/trigger add|remove|list` command.

use chorus_plugin::{
    Api, ApiError, ApiResult, CommandArgs, CommandResponse, Context, Hook, HookError, HttpRequest,
    HttpResponse, Plugin, Post,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeSet;

pub const COMMAND: &str = "trigger";
pub const MAX_WORD_LEN: usize = 64;
/// Used when the `MaxWordsPerUser` setting is missing or not a number.
pub const DEFAULT_MAX_WORDS: usize = 50;

pub struct TriggerAlert;

fn user_words_key(user_id: &str) -> String {
    format!("user-words:{user_id}")
}

fn word_users_key(word: &str) -> String {
    format!("word-users:{word}")
}

/// A trigger word as stored: trimmed and lower-cased; `None` if it cannot be one.
pub fn normalize_word(raw: &str) -> Option<String> {
    let word = raw.trim().to_lowercase();
    let valid = !word.is_empty()
        && word.chars().count() <= MAX_WORD_LEN
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    valid.then_some(word)
}

/// The distinct words of a message, as they are matched against trigger words.
pub fn words_of(message: &str) -> BTreeSet<String> {
    message
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
        .filter_map(normalize_word)
        .collect()
}

/// Reads `key` as JSON, lets `change` compute the new value (`None` deletes), and
/// writes it with compare-and-set, retrying when another writer got there first.
async fn update_json<T, F>(api: &Api, key: &str, change: F) -> ApiResult<Option<T>>
where
    T: Serialize + DeserializeOwned,
    F: Fn(Option<T>) -> Option<T>,
{
    loop {
        let old = api.kv_get(key).await?;
        let current = match &old {
            Some(bytes) => Some(serde_json::from_slice(bytes)?),
            None => None,
        };
        let next = change(current);
        let written = match (&old, &next) {
            (_, Some(value)) => {
                api.kv_compare_and_set(key, old.as_deref(), serde_json::to_vec(value)?)
                    .await?
            }
            (Some(old), None) => api.kv_compare_and_delete(key, old).await?,
            (None, None) => true,
        };
        if written {
            return Ok(next);
        }
    }
}

async fn max_words(api: &Api) -> usize {
    api.get_plugin_config()
        .await
        .ok()
        .and_then(|config| config.get("MaxWordsPerUser").and_then(|v| v.as_u64()))
        .map_or(DEFAULT_MAX_WORDS, |n| n as usize)
}

/// The user's trigger words.
pub async fn words_for(api: &Api, user_id: &str) -> ApiResult<Vec<String>> {
    Ok(api
        .kv_get_json::<Vec<String>>(user_words_key(user_id))
        .await?
        .unwrap_or_default())
}

#[derive(Debug)]
pub enum WordsError {
    Invalid(String),
    TooMany(usize),
    Api(ApiError),
}

impl From<ApiError> for WordsError {
    fn from(err: ApiError) -> Self {
        WordsError::Api(err)
    }
}

impl std::fmt::Display for WordsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WordsError::Invalid(word) => write!(
                f,
                "{word:?} cannot be a trigger word: use 1-{MAX_WORD_LEN} letters, digits, '-' or '_'"
            ),
            WordsError::TooMany(max) => write!(f, "you can keep at most {max} trigger words"),
            WordsError::Api(err) => write!(f, "the server failed: {err}"),
        }
    }
}

/// Replaces the user's words with `wanted`, keeping the word index in step.
pub async fn set_words(
    api: &Api,
    user_id: &str,
    wanted: &[String],
) -> Result<Vec<String>, WordsError> {
    let mut words = BTreeSet::new();
    for raw in wanted {
        words.insert(normalize_word(raw).ok_or_else(|| WordsError::Invalid(raw.clone()))?);
    }
    let max = max_words(api).await;
    if words.len() > max {
        return Err(WordsError::TooMany(max));
    }
    let before: BTreeSet<String> = words_for(api, user_id).await?.into_iter().collect();
    // Index first: a word is findable before it is listed, so a crash in between
    // leaves at worst an alert the user did not see listed yet, never a silent word.
    for word in words.difference(&before) {
        update_json::<Vec<String>, _>(api, &word_users_key(word), |users| {
            let mut users: BTreeSet<String> = users.unwrap_or_default().into_iter().collect();
            users.insert(user_id.to_string());
            Some(users.into_iter().collect())
        })
        .await?;
    }
    for word in before.difference(&words) {
        update_json::<Vec<String>, _>(api, &word_users_key(word), |users| {
            let users: Vec<String> = users
                .unwrap_or_default()
                .into_iter()
                .filter(|u| u != user_id)
                .collect();
            (!users.is_empty()).then_some(users)
        })
        .await?;
    }
    let list: Vec<String> = words.into_iter().collect();
    let stored = list.clone();
    update_json::<Vec<String>, _>(api, &user_words_key(user_id), move |_| {
        (!stored.is_empty()).then(|| stored.clone())
    })
    .await?;
    Ok(list)
}

pub async fn add_word(api: &Api, user_id: &str, word: &str) -> Result<Vec<String>, WordsError> {
    let mut words = words_for(api, user_id).await?;
    words.push(word.to_string());
    set_words(api, user_id, &words).await
}

pub async fn remove_word(api: &Api, user_id: &str, word: &str) -> Result<Vec<String>, WordsError> {
    let word = normalize_word(word).ok_or_else(|| WordsError::Invalid(word.to_string()))?;
    let words: Vec<String> = words_for(api, user_id)
        .await?
        .into_iter()
        .filter(|w| *w != word)
        .collect();
    set_words(api, user_id, &words).await
}

/// Sends every user holding a word of `post` (and able to read its channel) an alert.
/// One KV call looks up every word of the post at once.
pub async fn alert_for_post(api: &Api, post: &Post) -> ApiResult<usize> {
    let words: Vec<String> = words_of(&post.message).into_iter().take(1000).collect();
    let holders = api
        .kv_get_many(words.iter().map(|w| word_users_key(w)))
        .await?;
    let mut alerted: BTreeSet<String> = BTreeSet::new();
    let mut sent = 0;
    for word in &words {
        let Some(bytes) = holders.get(&word_users_key(word)) else {
            continue;
        };
        let users: Vec<String> = serde_json::from_slice(bytes)?;
        for user_id in users {
            if user_id == post.user_id || alerted.contains(&user_id) {
                continue;
            }
            match api.get_channel_member(&post.channel_id, &user_id).await {
                Ok(_) => {}
                Err(err) if err.is_not_found() => continue,
                Err(err) => return Err(err),
            }
            alerted.insert(user_id.clone());
            let alert = Post {
                channel_id: post.channel_id.clone(),
                root_id: if post.root_id.is_empty() {
                    post.id.clone()
                } else {
                    post.root_id.clone()
                },
                message: format!(
                    "🔔 Trigger word **{word}** was posted: {}",
                    excerpt(&post.message)
                ),
                props: [
                    ("trigger_word".to_string(), serde_json::json!(word)),
                    ("post_id".to_string(), serde_json::json!(post.id)),
                ]
                .into_iter()
                .collect(),
                ..Post::default()
            };
            api.send_ephemeral_post(&user_id, alert).await?;
            sent += 1;
        }
    }
    Ok(sent)
}

fn excerpt(message: &str) -> String {
    const MAX: usize = 200;
    if message.chars().count() <= MAX {
        message.to_string()
    } else {
        format!("{}…", message.chars().take(MAX).collect::<String>())
    }
}

#[derive(Deserialize)]
struct WordBody {
    word: String,
}

#[derive(Deserialize)]
struct WordsBody {
    words: Vec<String>,
}

#[derive(Serialize)]
struct WordsReply {
    words: Vec<String>,
}

fn error_reply(status: u16, message: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::json(status, &serde_json::json!({"error": message.to_string()}))
}

fn words_reply(result: Result<Vec<String>, WordsError>) -> HttpResponse {
    match result {
        Ok(words) => HttpResponse::json(200, &WordsReply { words }),
        Err(WordsError::Api(err)) => error_reply(500, err),
        Err(err) => error_reply(400, err),
    }
}

/// The HTTP endpoint: `/api/v1/triggers` (GET, POST `{"word"}`, PUT `{"words"}`) and
/// `/api/v1/triggers/<word>` (DELETE), for the signed-in user only.
pub async fn handle_http(api: &Api, request: &HttpRequest) -> HttpResponse {
    let Some(user_id) = request.user_id.clone() else {
        return error_reply(401, "sign in to manage your trigger words");
    };
    let path = request.path.trim_end_matches('/');
    match (request.method.as_str(), path) {
        ("GET", "/api/v1/triggers") => match words_for(api, &user_id).await {
            Ok(words) => HttpResponse::json(200, &WordsReply { words }),
            Err(err) => error_reply(500, err),
        },
        ("POST", "/api/v1/triggers") => match request.json::<WordBody>() {
            Ok(body) => words_reply(add_word(api, &user_id, &body.word).await),
            Err(err) => error_reply(400, format!("expected {{\"word\": \"…\"}}: {err}")),
        },
        ("PUT", "/api/v1/triggers") => match request.json::<WordsBody>() {
            Ok(body) => words_reply(set_words(api, &user_id, &body.words).await),
            Err(err) => error_reply(400, format!("expected {{\"words\": [\"…\"]}}: {err}")),
        },
        ("DELETE", _) if path.starts_with("/api/v1/triggers/") => {
            let decoded = request.decoded_path();
            let word = decoded
                .trim_end_matches('/')
                .strip_prefix("/api/v1/triggers/")
                .unwrap_or_default()
                .to_string();
            words_reply(remove_word(api, &user_id, &word).await)
        }
        (_, "/api/v1/triggers") => error_reply(405, "use GET, POST or PUT"),
        _ => error_reply(404, "unknown path; see /api/v1/triggers"),
    }
}

/// `/trigger add <word>`, `/trigger remove <word>`, `/trigger list`.
pub async fn handle_command(api: &Api, args: &CommandArgs) -> CommandResponse {
    let arguments = args.arguments();
    let text = match arguments.as_slice() {
        ["add", word] => match add_word(api, &args.user_id, word).await {
            Ok(words) => format!(
                "Added **{}**. Your trigger words: {}",
                word.to_lowercase(),
                words.join(", ")
            ),
            Err(err) => format!("Could not add {word}: {err}."),
        },
        ["remove", word] => match remove_word(api, &args.user_id, word).await {
            Ok(words) if words.is_empty() => {
                format!("Removed **{word}**. You have no trigger words left.")
            }
            Ok(words) => format!(
                "Removed **{word}**. Your trigger words: {}",
                words.join(", ")
            ),
            Err(err) => format!("Could not remove {word}: {err}."),
        },
        ["list"] => match words_for(api, &args.user_id).await {
            Ok(words) if words.is_empty() => {
                "You have no trigger words. Add one with `/trigger add <word>`.".into()
            }
            Ok(words) => format!("Your trigger words: {}", words.join(", ")),
            Err(err) => format!("Could not read your trigger words: {err}."),
        },
        _ => "Usage: `/trigger add <word>`, `/trigger remove <word>`, `/trigger list`".into(),
    };
    CommandResponse {
        response_type: "ephemeral".into(),
        text,
        ..CommandResponse::default()
    }
}

impl Plugin for TriggerAlert {
    fn implemented(&self) -> Vec<Hook> {
        vec![
            Hook::OnActivate,
            Hook::MessageHasBeenPosted,
            Hook::ExecuteCommand,
            Hook::ServeHttp,
        ]
    }

    async fn on_activate(&self, api: &Api) -> Result<(), HookError> {
        api.register_command(chorus_plugin::Command {
            trigger: COMMAND.into(),
            auto_complete: true,
            auto_complete_desc: "Manage the words that alert you when someone posts them".into(),
            auto_complete_hint: "add <word> | remove <word> | list".into(),
            display_name: "Trigger alert".into(),
            description: "Manage your trigger words".into(),
            ..chorus_plugin::Command::default()
        })
        .await?;
        Ok(())
    }

    async fn message_has_been_posted(
        &self,
        api: &Api,
        _ctx: &Context,
        post: Post,
    ) -> Result<(), HookError> {
        if post.post_type.starts_with("system_") {
            return Ok(());
        }
        alert_for_post(api, &post).await?;
        Ok(())
    }

    async fn execute_command(
        &self,
        api: &Api,
        _ctx: &Context,
        args: CommandArgs,
    ) -> Result<CommandResponse, HookError> {
        Ok(handle_command(api, &args).await)
    }

    async fn serve_http(&self, api: &Api, request: HttpRequest) -> HttpResponse {
        handle_http(api, &request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_normalized_and_split() {
        assert_eq!(normalize_word(" Hello "), Some("hello".into()));
        assert_eq!(normalize_word("two words"), None);
        assert_eq!(normalize_word(""), None);
        assert_eq!(normalize_word(&"x".repeat(65)), None);
        let words = words_of("Hello there, HELLO! well-known: yes?");
        assert_eq!(
            words.into_iter().collect::<Vec<_>>(),
            vec!["hello", "there", "well-known", "yes"]
        );
    }

    fn request(method: &str, path: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: path.into(),
            user_id: Some("u1".into()),
            body: body.as_bytes().to_vec(),
            ..HttpRequest::default()
        }
    }

    #[tokio::test]
    async fn http_endpoint_adds_lists_and_removes_words_with_encoded_paths() {
        let harness = chorus_plugin::testing::Harness::start(TriggerAlert).await;
        let post = |path: &str, body: &str| harness.serve_http(request("POST", path, body));
        let added = post("/api/v1/triggers", r#"{"word": "Café"}"#)
            .await
            .unwrap();
        assert_eq!(added.status, 200);
        assert_eq!(
            String::from_utf8_lossy(&added.body),
            r#"{"words":["café"]}"#
        );
        let removed = harness
            .serve_http(request("DELETE", "/api/v1/triggers/caf%C3%A9", ""))
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&removed.body), r#"{"words":[]}"#);
        let empty = harness
            .serve_http(request("DELETE", "/api/v1/triggers/", ""))
            .await
            .unwrap();
        assert_eq!(empty.status, 405, "DELETE of the whole list is not allowed");
        let anonymous = HttpRequest {
            user_id: None,
            ..request("GET", "/api/v1/triggers", "")
        };
        assert_eq!(harness.serve_http(anonymous).await.unwrap().status, 401);
    }
}
