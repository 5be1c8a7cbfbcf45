//! A counter-example, kept to show what `chorus plugin check-ha` is for: the same
//! HTTP API and alerts as trigger-alert (`/api/v1/triggers`), but the trigger words live
//! in a variable of the process. On one server it works. In a cluster each server runs
//! its own copy with its own variable, so a word set through server 1 is unknown to
//! server 2: listing it there shows nothing, and a post made there alerts nobody. This
//! is the mistake the Mattermost HA guide warns about; trigger-alert keeps the words in
//! the KV store instead.

use chorus_plugin::{Api, Context, Hook, HookError, HttpRequest, HttpResponse, Plugin, Post};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

#[derive(Default)]
struct StatefulTrigger {
    /// user id → words. THE MISTAKE: this exists once per server.
    words: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

#[derive(Deserialize)]
struct WordBody {
    word: String,
}

impl StatefulTrigger {
    fn words_of(&self, user_id: &str) -> Vec<String> {
        let words = self.words.lock().unwrap_or_else(|e| e.into_inner());
        words
            .get(user_id)
            .map(|w| w.iter().cloned().collect())
            .unwrap_or_default()
    }
}

fn words_reply(words: Vec<String>) -> HttpResponse {
    HttpResponse::json(200, &serde_json::json!({ "words": words }))
}

impl Plugin for StatefulTrigger {
    fn implemented(&self) -> Vec<Hook> {
        vec![Hook::MessageHasBeenPosted, Hook::ServeHttp]
    }

    async fn serve_http(&self, _api: &Api, request: HttpRequest) -> HttpResponse {
        let Some(user_id) = request.user_id.clone() else {
            return HttpResponse::json(401, &serde_json::json!({"error": "sign in first"}));
        };
        match (request.method.as_str(), request.path.trim_end_matches('/')) {
            ("GET", "/api/v1/triggers") => words_reply(self.words_of(&user_id)),
            ("POST", "/api/v1/triggers") => match request.json::<WordBody>() {
                Ok(body) => {
                    let word = body.word.trim().to_lowercase();
                    if word.is_empty() {
                        return HttpResponse::json(
                            400,
                            &serde_json::json!({"error": "empty word"}),
                        );
                    }
                    self.words
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(user_id.clone())
                        .or_default()
                        .insert(word);
                    words_reply(self.words_of(&user_id))
                }
                Err(err) => HttpResponse::json(400, &serde_json::json!({"error": err.to_string()})),
            },
            _ => HttpResponse::json(404, &serde_json::json!({"error": "see /api/v1/triggers"})),
        }
    }

    async fn message_has_been_posted(
        &self,
        api: &Api,
        _ctx: &Context,
        post: Post,
    ) -> Result<(), HookError> {
        let holders: Vec<(String, String)> = {
            let words = self.words.lock().unwrap_or_else(|e| e.into_inner());
            let posted: BTreeSet<String> = post
                .message
                .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                .map(str::to_lowercase)
                .collect();
            words
                .iter()
                .filter(|(user_id, _)| **user_id != post.user_id)
                .filter_map(|(user_id, words)| {
                    words
                        .iter()
                        .find(|w| posted.contains(*w))
                        .map(|w| (user_id.clone(), w.clone()))
                })
                .collect()
        };
        for (user_id, word) in holders {
            let alert = Post {
                channel_id: post.channel_id.clone(),
                root_id: post.id.clone(),
                message: format!("Trigger word **{word}** was posted"),
                ..Post::default()
            };
            api.send_ephemeral_post(&user_id, alert).await?;
        }
        Ok(())
    }
}

fn main() {
    chorus_plugin::serve(StatefulTrigger::default())
}
