//! `/commands`: executing slash commands and listing them for autocomplete. A
//! command's `in_channel` answer is posted as the caller; an `ephemeral` one is sent
//! to the caller alone as an `ephemeral_message` event.

use super::auth::Auth;
use super::extract::{require_id, Body, Path};
use super::permissions::{load_channel, require_channel_member, require_team_member};
use super::posts::{create_post_as, PostDraft};
use super::SharedState;
use crate::commands::{parse_command_line, CommandHandler};
use crate::error::{AppError, AppResult};
use crate::events::{event, to_user};
use crate::plugins::HookContext;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_model::{
    events, new_id, now_millis, Command, CommandArgs, CommandResponse, Post, POST_TYPE_EPHEMERAL,
    RESPONSE_TYPE_EPHEMERAL, RESPONSE_TYPE_IN_CHANNEL,
};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/commands/execute", post(execute))
        .route("/commands", get(list))
        .route("/teams/{team_id}/commands/autocomplete", get(autocomplete))
}

async fn execute(
    State(state): State<SharedState>,
    auth: Auth,
    Body(args): Body<CommandArgs>,
) -> AppResult<Json<CommandResponse>> {
    let channel = load_channel(&state, &args.channel_id).await?;
    require_channel_member(&state, &auth, &channel).await?;
    // A team channel's command runs in that channel's team, whatever the client said
    // (as Mattermost overwrites it); in a direct channel the client's team must be one
    // of the user's own.
    let team_id = if !channel.team_id.is_empty() {
        channel.team_id.clone()
    } else if !args.team_id.is_empty() {
        require_id(&args.team_id, "team_id")?;
        require_team_member(&state, &auth, &args.team_id).await?;
        args.team_id.clone()
    } else {
        String::new()
    };
    let Some((trigger, rest)) = parse_command_line(&args.command) else {
        return Err(AppError::bad_request(
            "api.command.execute_command.format.app_error",
            "A command must start with '/' followed by its trigger, as in \"/echo hello\".",
        ));
    };
    let Some(registered) = state.commands.get(&trigger) else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "api.command.execute_command.not_found.app_error",
            format!("Command with a trigger of '{trigger}' not found."),
        ));
    };
    let response = match registered.handler {
        CommandHandler::Builtin(run) => run(&rest),
        CommandHandler::Plugin(plugin_id) => {
            let context = HookContext::for_user(&auth.user.id, &auth.session.id);
            let args = chorus_plugin_protocol::v1::CommandArgs {
                user_id: auth.user.id.clone(),
                channel_id: channel.id.clone(),
                team_id: team_id.clone(),
                root_id: args.root_id.clone(),
                command: args.command.clone(),
                trigger: trigger.clone(),
            };
            state
                .plugins
                .execute_command(&plugin_id, &context, args)
                .await
                .ok_or_else(|| {
                    AppError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "api.command.execute_command.failed.app_error",
                        format!("The plugin behind /{trigger} failed to answer."),
                    )
                })?
        }
    };
    let root_id = if args.root_id.is_empty() {
        args.parent_id.clone()
    } else {
        args.root_id.clone()
    };
    deliver_response(&state, &auth, &channel.id, &root_id, &response).await?;
    Ok(Json(response))
}

/// Turns a command's answer into a post or an ephemeral message.
async fn deliver_response(
    state: &AppState,
    auth: &Auth,
    channel_id: &str,
    root_id: &str,
    response: &CommandResponse,
) -> AppResult<()> {
    if response.text.is_empty() {
        return Ok(());
    }
    match response.response_type.as_str() {
        RESPONSE_TYPE_IN_CHANNEL => {
            create_post_as(
                state,
                auth,
                PostDraft {
                    channel_id: channel_id.to_string(),
                    message: response.text.clone(),
                    root_id: root_id.to_string(),
                    post_type: String::new(),
                    props: response.props.clone(),
                    pending_post_id: String::new(),
                },
            )
            .await?;
        }
        RESPONSE_TYPE_EPHEMERAL | "" => {
            let post = Post {
                channel_id: channel_id.to_string(),
                root_id: root_id.to_string(),
                message: response.text.clone(),
                props: response.props.clone(),
                ..Post::default()
            };
            send_ephemeral_post(state, auth.user_id(), post)?;
        }
        other => {
            tracing::warn!(
                response_type = other,
                "command answered with an unknown response_type"
            );
        }
    }
    Ok(())
}

/// A message only `user_id` sees, never stored, as Mattermost's `SendEphemeralPost`.
pub fn send_ephemeral_post(state: &AppState, user_id: &str, draft: Post) -> AppResult<Post> {
    require_id(user_id, "user_id")?;
    require_id(&draft.channel_id, "channel_id")?;
    let now = now_millis();
    let post = Post {
        id: new_id(),
        create_at: now,
        update_at: now,
        post_type: POST_TYPE_EPHEMERAL.into(),
        ..draft
    };
    let post_json = serde_json::to_string(&post).map_err(|e| AppError::Internal(e.to_string()))?;
    state.publish_to(
        event(
            events::EPHEMERAL_MESSAGE,
            serde_json::json!({"post": post_json}),
            to_user(user_id),
        ),
        &[user_id.to_string()],
    );
    Ok(post)
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    team_id: String,
}

async fn list(
    State(state): State<SharedState>,
    auth: Auth,
    super::extract::Query(query): super::extract::Query<ListQuery>,
) -> AppResult<Json<Vec<Command>>> {
    if !query.team_id.is_empty() {
        require_id(&query.team_id, "team_id")?;
        require_team_member(&state, &auth, &query.team_id).await?;
    }
    Ok(Json(state.commands.list()))
}

async fn autocomplete(
    State(state): State<SharedState>,
    auth: Auth,
    Path(team_id): Path<String>,
) -> AppResult<Json<Vec<Command>>> {
    require_id(&team_id, "team_id")?;
    require_team_member(&state, &auth, &team_id).await?;
    Ok(Json(state.commands.list()))
}
