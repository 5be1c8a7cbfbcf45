//! `chorus user`, `chorus team`, `chorus channel` and `chorus post`: mmctl-style
//! administration over the REST API. Creating users, teams, channels and posts,
//! listing users, and adding members to teams and channels.
//!
//! People name things the way they see them (a username, a team's URL name,
//! mmctl's `team:channel`), so every command first resolves those names to ids, by
//! name and then (as mmctl does) by id. A typo is therefore reported as "no team
//! named x" with exit code 5, not as whatever the action's endpoint makes of a
//! missing id. Adding members resolves every user before adding anyone, so the
//! commonest mistake, a misspelt name, leaves nothing half done.

use super::Context;
use crate::errors::{CliError, CliResult};
use crate::output::table;
use chorus_client::{Client, ClientError};
use chorus_model::{
    Channel, CreateUserRequest, Team, User, CHANNEL_OPEN, CHANNEL_PRIVATE, TEAM_INVITE, TEAM_OPEN,
};
use clap::Subcommand;
use serde_json::{json, Value};
use std::future::Future;

/// The server's largest page (`MAX_PER_PAGE`); bigger requests are clamped, which
/// would make `--all` think a full page was the last one.
const MAX_PER_PAGE: i64 = 200;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. The server's first user becomes its system admin; after that,
    /// admins can always create users, others only when the server allows sign-up.
    Create {
        /// Lower-case letters, digits, '.', '-' and '_', starting with a letter.
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// The new user's password (they can change it later).
        #[arg(long)]
        password: String,
    },
    /// List users: ID, username, email (hidden from non-admins) and roles.
    List {
        /// The page to show, from 0.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
        page: i64,
        /// Users per page (at most 200).
        #[arg(long, default_value_t = MAX_PER_PAGE, value_parser = clap::value_parser!(i64).range(1..=MAX_PER_PAGE))]
        per_page: i64,
        /// Every user, fetching page after page.
        #[arg(long, conflicts_with = "page")]
        all: bool,
    },
}

#[derive(Subcommand)]
pub enum TeamCommand {
    /// Create a team; you become its admin. Every team starts with the channels
    /// town-square and off-topic.
    Create {
        /// The URL name: 2 or more lower-case letters, digits, '-' and '_'.
        #[arg(long)]
        name: String,
        /// The name people see (default: --name).
        #[arg(long)]
        display_name: Option<String>,
        /// Invite only, instead of open to anyone on the server.
        #[arg(long)]
        private: bool,
    },
    /// Add users (by username or id) to a team (by name or id); they also join its
    /// default channels.
    Add {
        team: String,
        #[arg(required = true, value_name = "USERNAME")]
        users: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum ChannelCommand {
    /// Create a channel in a team; you become its first member.
    Create {
        /// The team, by name or id.
        #[arg(long)]
        team: String,
        /// The URL name: 2 or more lower-case letters, digits, '-' and '_'.
        #[arg(long)]
        name: String,
        /// The name people see (default: --name).
        #[arg(long)]
        display_name: Option<String>,
        /// Private (members only) instead of open to the whole team.
        #[arg(long)]
        private: bool,
    },
    /// Add users (by username or id) to a channel; they must be on its team already.
    Add {
        /// The channel as <team>:<channel>, e.g. myteam:town-square.
        #[arg(value_name = "TEAM:CHANNEL")]
        channel: String,
        #[arg(required = true, value_name = "USERNAME")]
        users: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum PostCommand {
    /// Post a message to a channel as the signed-in user.
    Create {
        /// The channel as <team>:<channel>, e.g. myteam:town-square.
        #[arg(value_name = "TEAM:CHANNEL")]
        channel: String,
        #[arg(long, short)]
        message: String,
        /// Reply in the thread of this (top-level) post id.
        #[arg(long, value_name = "POST_ID")]
        reply_to: Option<String>,
    },
}

pub async fn user(context: &Context, command: UserCommand) -> CliResult<()> {
    match command {
        UserCommand::Create {
            username,
            email,
            password,
        } => create_user(context, &username, &email, &password).await,
        UserCommand::List {
            page,
            per_page,
            all,
        } => list_users(context, page, per_page, all).await,
    }
}

pub async fn team(context: &Context, command: TeamCommand) -> CliResult<()> {
    match command {
        TeamCommand::Create {
            name,
            display_name,
            private,
        } => create_team(context, &name, display_name, private).await,
        TeamCommand::Add { team, users } => add_to_team(context, &team, &users).await,
    }
}

pub async fn channel(context: &Context, command: ChannelCommand) -> CliResult<()> {
    match command {
        ChannelCommand::Create {
            team,
            name,
            display_name,
            private,
        } => create_channel(context, &team, &name, display_name, private).await,
        ChannelCommand::Add { channel, users } => add_to_channel(context, &channel, &users).await,
    }
}

pub async fn post(context: &Context, command: PostCommand) -> CliResult<()> {
    match command {
        PostCommand::Create {
            channel,
            message,
            reply_to,
        } => create_post(context, &channel, &message, reply_to.as_deref()).await,
    }
}

async fn create_user(
    context: &Context,
    username: &str,
    email: &str,
    password: &str,
) -> CliResult<()> {
    let client = context.client()?;
    let user = client
        .create_user(&CreateUserRequest {
            username: username.to_string(),
            email: email.to_string(),
            password: password.to_string(),
            ..CreateUserRequest::default()
        })
        .await?;
    context.output.print(
        || {
            let admin = if user.is_system_admin() {
                " It is a system admin (the server's first user)."
            } else {
                ""
            };
            format!(
                "Created user @{} with id {}.{admin}",
                user.username, user.id
            )
        },
        &user,
    );
    Ok(())
}

async fn list_users(context: &Context, page: i64, per_page: i64, all: bool) -> CliResult<()> {
    let client = context.client()?;
    let mut users = Vec::new();
    let mut current = if all { 0 } else { page };
    loop {
        let batch = client.users(current, per_page).await?;
        let last = batch.len() < per_page as usize;
        users.extend(batch);
        if !all || last {
            break;
        }
        current += 1;
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.id.clone(),
                u.username.clone(),
                u.email.clone(),
                u.roles.clone(),
            ]
        })
        .collect();
    context.output.print(
        || {
            let scope = if all {
                String::new()
            } else {
                format!(" on page {page}")
            };
            if rows.is_empty() {
                format!("No users{scope}.")
            } else {
                format!(
                    "{}{} user(s){scope}.",
                    table(&["ID", "USERNAME", "EMAIL", "ROLES"], &rows),
                    rows.len()
                )
            }
        },
        &users,
    );
    Ok(())
}

async fn create_team(
    context: &Context,
    name: &str,
    display_name: Option<String>,
    private: bool,
) -> CliResult<()> {
    let client = context.client()?;
    let display_name = display_name.unwrap_or_else(|| name.to_string());
    let kind = if private { TEAM_INVITE } else { TEAM_OPEN };
    let team = client.create_team(name, &display_name, kind).await?;
    context.output.print(
        || {
            format!(
                "Created {} team {} (\"{}\") with id {}.",
                if private { "invite-only" } else { "open" },
                team.name,
                team.display_name,
                team.id
            )
        },
        &team,
    );
    Ok(())
}

async fn add_to_team(context: &Context, team_arg: &str, users: &[String]) -> CliResult<()> {
    let client = context.client()?;
    let team = find_team(&client, team_arg).await?;
    let targets = find_users(&client, users).await?;
    let place = format!("team {}", team.name);
    let mut added = Vec::new();
    for user in &targets {
        client
            .add_team_member(&team.id, &user.id)
            .await
            .map_err(|err| stopped(err.into(), &place, user, &added, None))?;
        added.push(user.clone());
    }
    print_added(context, &place, json!({"team": team}), &added);
    Ok(())
}

async fn create_channel(
    context: &Context,
    team_arg: &str,
    name: &str,
    display_name: Option<String>,
    private: bool,
) -> CliResult<()> {
    let client = context.client()?;
    let team = find_team(&client, team_arg).await?;
    let display_name = display_name.unwrap_or_else(|| name.to_string());
    let kind = if private {
        CHANNEL_PRIVATE
    } else {
        CHANNEL_OPEN
    };
    let channel = client
        .create_channel(&team.id, name, &display_name, kind)
        .await?;
    context.output.print(
        || {
            format!(
                "Created {} channel {}:{} (\"{}\") with id {}.",
                if private { "private" } else { "open" },
                team.name,
                channel.name,
                channel.display_name,
                channel.id
            )
        },
        &channel,
    );
    Ok(())
}

async fn add_to_channel(context: &Context, channel_arg: &str, users: &[String]) -> CliResult<()> {
    let (team_name, channel_name) = team_channel(channel_arg)?;
    let client = context.client()?;
    let (team, channel) = find_channel(&client, team_name, channel_name).await?;
    let targets = find_users(&client, users).await?;
    let place = format!("channel {}:{}", team.name, channel.name);
    let mut added = Vec::new();
    for user in &targets {
        client
            .add_channel_member(&channel.id, &user.id)
            .await
            .map_err(|err| {
                // The server says "add them to the team first"; say how.
                let how = format!("`chorus team add {} {}` first", team.name, user.username);
                stopped(err.into(), &place, user, &added, Some(&how))
            })?;
        added.push(user.clone());
    }
    print_added(
        context,
        &place,
        json!({"team": team, "channel": channel}),
        &added,
    );
    Ok(())
}

async fn create_post(
    context: &Context,
    channel_arg: &str,
    message: &str,
    reply_to: Option<&str>,
) -> CliResult<()> {
    let (team_name, channel_name) = team_channel(channel_arg)?;
    if message.trim().is_empty() {
        return Err(CliError::Usage(
            "the message is empty: pass the text with --message".into(),
        ));
    }
    if let Some(root) = reply_to.filter(|r| !chorus_model::is_valid_id(r)) {
        return Err(CliError::Usage(format!(
            "--reply-to {root:?} is not a post id (26 lower-case letters and digits)"
        )));
    }
    let client = context.client()?;
    let (team, channel) = find_channel(&client, team_name, channel_name).await?;
    let post = client
        .create_post(&channel.id, message, reply_to.unwrap_or_default())
        .await?;
    context.output.print(
        || {
            format!(
                "Posted {} in {}:{}{}.",
                post.id,
                team.name,
                channel.name,
                reply_to
                    .map(|root| format!(", replying to {root}"))
                    .unwrap_or_default()
            )
        },
        &post,
    );
    Ok(())
}

/// Splits mmctl's `team:channel`; anything else is a usage error showing the form.
fn team_channel(arg: &str) -> CliResult<(&str, &str)> {
    match arg.trim().split_once(':') {
        Some((team, channel))
            if !team.trim().is_empty() && !channel.trim().is_empty() && !channel.contains(':') =>
        {
            Ok((team.trim(), channel.trim()))
        }
        _ => Err(CliError::Usage(format!(
            "{arg:?} does not name a channel: write <team>:<channel>, e.g. myteam:town-square"
        ))),
    }
}

/// What `arg` names: looked up by name first, then, when it looks like an id, by id
/// (like mmctl: a name may look like an id, never the reverse in practice, and names
/// are what people type). When neither exists, a 404 saying `missing`. Only "not
/// found" moves on to the id: a refusal or an outage is the answer.
async fn by_name_then_id<T, ByName, ById>(
    arg: &str,
    by_name: ByName,
    by_id: impl FnOnce(String) -> ById,
    missing: String,
) -> CliResult<T>
where
    ByName: Future<Output = Result<T, ClientError>>,
    ById: Future<Output = Result<T, ClientError>>,
{
    let mut error_id = match by_name.await {
        Ok(found) => return Ok(found),
        Err(ClientError::Api {
            status: 404, id, ..
        }) => id,
        Err(err) => return Err(err.into()),
    };
    if chorus_model::is_valid_id(arg) {
        match by_id(arg.to_string()).await {
            Ok(found) => return Ok(found),
            Err(ClientError::Api {
                status: 404, id, ..
            }) => error_id = id,
            Err(err) => return Err(err.into()),
        }
    }
    Err(CliError::Api {
        status: 404,
        id: error_id,
        message: missing,
    })
}

/// An empty name would make the lookup path mean something else entirely.
fn non_empty<'a>(what: &str, value: &'a str) -> CliResult<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        Err(CliError::Usage(format!("the {what} name is empty")))
    } else {
        Ok(value)
    }
}

async fn find_team(client: &Client, arg: &str) -> CliResult<Team> {
    let name = non_empty("team", arg)?;
    by_name_then_id(
        name,
        client.team_by_name(name),
        |id| async move { client.team(&id).await },
        format!(
            "no team named {name:?}: give the team's URL name (not its display name) or its id"
        ),
    )
    .await
}

/// The team and the channel of `team:channel`.
async fn find_channel(
    client: &Client,
    team_arg: &str,
    channel_arg: &str,
) -> CliResult<(Team, Channel)> {
    let team = find_team(client, team_arg).await?;
    let name = non_empty("channel", channel_arg)?;
    let missing = || {
        format!(
            "no channel named {name:?} in team {}: give the channel's URL name (not its display name) or its id",
            team.name
        )
    };
    let channel = by_name_then_id(
        name,
        client.channel_by_name(&team.id, name),
        |id| async move { client.channel(&id).await },
        missing(),
    )
    .await?;
    // Found by id, it may belong to another team; `team:channel` promised this one.
    if channel.team_id != team.id {
        return Err(CliError::Api {
            status: 404,
            id: "app.channel.get_by_name.missing.app_error".into(),
            message: missing(),
        });
    }
    Ok((team, channel))
}

/// Every user of `args` (usernames, with or without '@', or ids), in order; the
/// first one missing is the error.
async fn find_users(client: &Client, args: &[String]) -> CliResult<Vec<User>> {
    let mut users = Vec::with_capacity(args.len());
    for arg in args {
        let name = non_empty("user", arg.trim().trim_start_matches('@'))?;
        let user = by_name_then_id(
            name,
            client.user_by_username(name),
            |id| async move { client.user(&id).await },
            format!(
                "no user named {name:?}; nobody was added. See `chorus user list` for usernames"
            ),
        )
        .await?;
        users.push(user);
    }
    Ok(users)
}

fn usernames(users: &[User]) -> String {
    users
        .iter()
        .map(|u| format!("@{}", u.username))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A failure while adding `user` to `place`, saying who was added before it (and
/// keeping the error's kind, hence its exit code). Adding is idempotent, so running
/// the command again once the cause is fixed finishes the job.
fn stopped(
    err: CliError,
    place: &str,
    user: &User,
    added: &[User],
    not_on_team_hint: Option<&str>,
) -> CliError {
    let done = if added.is_empty() {
        "Nobody was added".to_string()
    } else {
        format!(
            "Added before that: {}; the rest were not. Adding again is harmless",
            usernames(added)
        )
    };
    let prefix = format!("cannot add @{} to {place}", user.username);
    match err {
        CliError::Api {
            status,
            id,
            message,
        } => {
            let hint = match not_on_team_hint {
                Some(how) if id == "api.channel.add_user.to.channel.failed.app_error" => {
                    format!(" (run {how})")
                }
                _ => String::new(),
            };
            CliError::Api {
                status,
                id,
                message: format!("{prefix}: {}{hint}. {done}", message.trim_end_matches('.')),
            }
        }
        CliError::Unreachable { url, reason } => CliError::Unreachable {
            url,
            reason: format!("{reason} ({prefix}. {done})"),
        },
        CliError::NotSignedIn(message) => CliError::NotSignedIn(format!("{prefix}: {message}")),
        CliError::Usage(message) => CliError::Usage(format!("{prefix}: {message}. {done}")),
        CliError::Failed(message) | CliError::CheckFailed(message) => {
            CliError::Failed(format!("{prefix}: {message}. {done}"))
        }
    }
}

fn print_added(context: &Context, place: &str, mut json: Value, added: &[User]) {
    json["added"] = added
        .iter()
        .map(|u| json!({"user_id": u.id, "username": u.username}))
        .collect();
    context
        .output
        .print(|| format!("Added {} to {place}.", usernames(added)), json);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_channel_needs_both_halves() {
        assert_eq!(team_channel("dev:town").unwrap(), ("dev", "town"));
        assert_eq!(team_channel(" dev : town ").unwrap(), ("dev", "town"));
        for bad in ["dev", "dev:", ":town", "a:b:c", ""] {
            let err = team_channel(bad).unwrap_err();
            assert_eq!(err.exit_code(), crate::errors::exit::USAGE, "{bad}");
            assert!(err.to_string().contains("<team>:<channel>"), "{err}");
        }
    }

    #[test]
    fn failures_keep_their_exit_code_and_say_who_was_added() {
        let user = User {
            id: "u2".into(),
            username: "bob".into(),
            ..User::default()
        };
        let added = [User {
            id: "u1".into(),
            username: "alice".into(),
            ..User::default()
        }];
        let err = stopped(
            CliError::Api {
                status: 403,
                id: "api.context.permissions.app_error".into(),
                message: "No.".into(),
            },
            "team dev",
            &user,
            &added,
            None,
        );
        assert_eq!(err.exit_code(), crate::errors::exit::FORBIDDEN);
        let message = err.to_string();
        assert!(
            message.contains("cannot add @bob to team dev: No."),
            "{message}"
        );
        assert!(message.contains("@alice"), "{message}");
    }
}
