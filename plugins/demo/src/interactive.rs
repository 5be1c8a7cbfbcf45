//! The demo's interactive messages: `/demo ask <question>` has demo-bot post the
//! question with two buttons served by this plugin's own routes, `/demo dialog` opens
//! a dialog with the command's trigger id, and `/demo vanish <text>` shows, updates
//! and takes back an ephemeral post.
//!
//! Routes (under `/plugins/com.chorus.demo`):
//! - `POST /interactive/answer`: the "Answer" button; opens the answer dialog with the
//!   click's trigger id and tells the user so in an ephemeral message.
//! - `POST /interactive/close`: the "Close" button; replaces the question with
//!   "closed by @user", without buttons.
//! - `POST /interactive/submit`: the dialog's submission; an empty answer is refused
//!   (the dialog stays open), anything else is posted by demo-bot and kept in the KV
//!   store under `dialog:last`.

use crate::demo::Demo;
use crate::http::api_error_response;
use chorus_plugin::model::{
    Dialog, PostActionIntegrationRequest, PostActionIntegrationResponse, PostUpdate,
    SubmitDialogRequest, SubmitDialogResponse,
};
use chorus_plugin::{Api, ApiError, CommandArgs, HttpRequest, HttpResponse, Post};
use serde_json::json;

const ROUTES: &str = "/plugins/com.chorus.demo/interactive";

/// The dialog asking for an answer to `question`.
fn answer_dialog(question: &str) -> Dialog {
    Dialog {
        callback_id: "answer".into(),
        title: "Answer".into(),
        introduction_text: question.into(),
        submit_label: "Send".into(),
        state: question.into(),
        notify_on_cancel: true,
        elements: vec![json!({
            "display_name": "Your answer", "name": "answer", "type": "text",
            "optional": true, "max_length": 200
        })],
        ..Dialog::default()
    }
}

impl Demo {
    /// `/demo ask <question>`: demo-bot's post with "Answer" and "Close" buttons.
    pub(crate) async fn ask(
        &self,
        api: &Api,
        args: &CommandArgs,
        question: String,
    ) -> Result<String, ApiError> {
        let action = |name: &str, route: &str| {
            json!({"id": route, "name": name, "type": "button",
                   "integration": {"url": format!("{ROUTES}/{route}"),
                                   "context": {"question": question}}})
        };
        let mut post = Post {
            user_id: self.bot_id(api).await?,
            ..Post::new(&args.channel_id, "")
        };
        post.props.insert(
            "attachments".into(),
            json!([{"text": question, "actions": [action("Answer", "answer"), action("Close", "close")]}]),
        );
        let post = api.create_post(post).await?;
        Ok(format!("asked in {}", post.id))
    }

    /// `/demo dialog`: the answer dialog, opened with the command's trigger id.
    pub(crate) async fn open_dialog(
        &self,
        api: &Api,
        args: &CommandArgs,
    ) -> Result<String, ApiError> {
        api.open_interactive_dialog(
            &args.trigger_id,
            format!("{ROUTES}/submit"),
            &answer_dialog("What do you think?"),
        )
        .await?;
        Ok("opened a dialog".into())
    }

    /// `/demo vanish <text>`: an ephemeral post, updated, then deleted.
    pub(crate) async fn vanish(
        &self,
        api: &Api,
        args: &CommandArgs,
        text: String,
    ) -> Result<String, ApiError> {
        let post = Post {
            user_id: self.bot_id(api).await?,
            ..Post::new(&args.channel_id, text.clone())
        };
        let mut shown = api.send_ephemeral_post(&args.user_id, post).await?;
        shown.message = format!("{text} (updated)");
        let updated = api.update_ephemeral_post(&args.user_id, shown).await?;
        api.delete_ephemeral_post(&args.user_id, &updated.id)
            .await?;
        Ok(format!("showed, updated and deleted {}", updated.id))
    }

    /// The `/interactive/...` routes.
    pub(crate) async fn serve_interactive(&self, api: &Api, request: &HttpRequest) -> HttpResponse {
        let result = match request.path.as_str() {
            "/interactive/answer" | "/interactive/close" => match request.json() {
                Ok(click) => self.clicked(api, &request.path, click).await,
                Err(e) => return bad_request(e),
            },
            "/interactive/submit" => match request.json() {
                Ok(submission) => self.submitted(api, submission).await,
                Err(e) => return bad_request(e),
            },
            _ => return HttpResponse::not_found(),
        };
        result.unwrap_or_else(|e| api_error_response(&e))
    }

    async fn clicked(
        &self,
        api: &Api,
        path: &str,
        click: PostActionIntegrationRequest,
    ) -> Result<HttpResponse, ApiError> {
        let question = click
            .context
            .as_ref()
            .and_then(|c| c.get("question"))
            .and_then(|q| q.as_str())
            .unwrap_or_default()
            .to_string();
        let answer = if path.ends_with("/answer") {
            api.open_interactive_dialog(
                &click.trigger_id,
                format!("{ROUTES}/submit"),
                &answer_dialog(&question),
            )
            .await?;
            PostActionIntegrationResponse {
                ephemeral_text: format!("Answering: {question}"),
                ..PostActionIntegrationResponse::default()
            }
        } else {
            PostActionIntegrationResponse {
                update: Some(PostUpdate {
                    message: format!("{question} (closed by @{})", click.user_name),
                    props: Some(Default::default()),
                }),
                ..PostActionIntegrationResponse::default()
            }
        };
        Ok(HttpResponse::json(200, &answer))
    }

    async fn submitted(
        &self,
        api: &Api,
        submission: SubmitDialogRequest,
    ) -> Result<HttpResponse, ApiError> {
        if submission.cancelled {
            api.kv_set("dialog:cancelled", submission.user_id.clone())
                .await?;
            return Ok(HttpResponse::json(200, &SubmitDialogResponse::default()));
        }
        let answer = submission
            .submission
            .get("answer")
            .and_then(|a| a.as_str())
            .unwrap_or_default()
            .trim()
            .to_string();
        if answer.is_empty() {
            let mut refused = SubmitDialogResponse::default();
            refused
                .errors
                .insert("answer".into(), "An answer is required.".into());
            return Ok(HttpResponse::json(200, &refused));
        }
        let user = api.get_user(&submission.user_id).await?;
        let post = Post {
            user_id: self.bot_id(api).await?,
            ..Post::new(
                &submission.channel_id,
                format!(
                    "@{} answered {:?}: {answer}",
                    user.username, submission.state
                ),
            )
        };
        api.create_post(post).await?;
        api.kv_set("dialog:last", serde_json::to_vec(&submission)?)
            .await?;
        Ok(HttpResponse::json(200, &SubmitDialogResponse::default()))
    }
}

fn bad_request(error: serde_json::Error) -> HttpResponse {
    HttpResponse::json(
        400,
        &json!({ "error": format!("not the JSON expected: {error}") }),
    )
}
