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
use crate::client::{is_not_found, CliError, CliResult, Client};
use crate::output::{table, text};
use clap::Subcommand;
use serde_json::{json, Value};

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
        .post(
            "/users",
            &json!({"username": username, "email": email, "password": password}),
        )
        .await?;
    context.output.print(
        || {
            let admin = if text(&user, "roles")
                .split_whitespace()
                .any(|r| r == "system_admin")
            {
                " It is a system admin (the server's first user)."
            } else {
                ""
            };
            format!(
                "Created user @{} with id {}.{admin}",
                text(&user, "username"),
                text(&user, "id")
            )
        },
        user.clone(),
    );
    Ok(())
}

async fn list_users(context: &Context, page: i64, per_page: i64, all: bool) -> CliResult<()> {
    let client = context.client()?;
    let mut users = Vec::new();
    let mut current = if all { 0 } else { page };
    loop {
        let batch = client
            .get(&format!("/users?page={current}&per_page={per_page}"))
            .await?;
        let batch = batch.as_array().cloned().unwrap_or_default();
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
                text(u, "id"),
                text(u, "username"),
                text(u, "email"),
                text(u, "roles"),
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
        Value::Array(users.clone()),
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
    let kind = if private { "I" } else { "O" };
    let team = client
        .post(
            "/teams",
            &json!({"name": name, "display_name": display_name, "type": kind}),
        )
        .await?;
    context.output.print(
        || {
            format!(
                "Created {} team {} (\"{}\") with id {}.",
                if private { "invite-only" } else { "open" },
                text(&team, "name"),
                text(&team, "display_name"),
                text(&team, "id")
            )
        },
        team.clone(),
    );
    Ok(())
}

async fn add_to_team(context: &Context, team_arg: &str, users: &[String]) -> CliResult<()> {
    let client = context.client()?;
    let team = find_team(&client, team_arg).await?;
    let team_id = text(&team, "id");
    let targets = find_users(&client, users).await?;
    let place = format!("team {}", text(&team, "name"));
    let mut added = Vec::new();
    for user in &targets {
        let user_id = text(user, "id");
        client
            .post(
                &format!("/teams/{team_id}/members"),
                &json!({"team_id": team_id, "user_id": user_id}),
            )
            .await
            .map_err(|err| stopped(err, &place, user, &added, None))?;
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
    let kind = if private { "P" } else { "O" };
    let channel = client
        .post(
            "/channels",
            &json!({
                "team_id": text(&team, "id"),
                "name": name,
                "display_name": display_name,
                "type": kind,
            }),
        )
        .await?;
    context.output.print(
        || {
            format!(
                "Created {} channel {}:{} (\"{}\") with id {}.",
                if private { "private" } else { "open" },
                text(&team, "name"),
                text(&channel, "name"),
                text(&channel, "display_name"),
                text(&channel, "id")
            )
        },
        channel.clone(),
    );
    Ok(())
}

async fn add_to_channel(context: &Context, channel_arg: &str, users: &[String]) -> CliResult<()> {
    let (team_name, channel_name) = team_channel(channel_arg)?;
    let client = context.client()?;
    let (team, channel) = find_channel(&client, team_name, channel_name).await?;
    let channel_id = text(&channel, "id");
    let targets = find_users(&client, users).await?;
    let place = format!("channel {}:{}", text(&team, "name"), text(&channel, "name"));
    let mut added = Vec::new();
    for user in &targets {
        client
            .post(
                &format!("/channels/{channel_id}/members"),
                &json!({"user_id": text(user, "id")}),
            )
            .await
            .map_err(|err| {
                // The server says "add them to the team first"; say how.
                let how = format!(
                    "`chorus team add {} {}` first",
                    text(&team, "name"),
                    text(user, "username")
                );
                stopped(err, &place, user, &added, Some(&how))
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
        .post(
            "/posts",
            &json!({
                "channel_id": text(&channel, "id"),
                "message": message,
                "root_id": reply_to.unwrap_or_default(),
            }),
        )
        .await?;
    context.output.print(
        || {
            format!(
                "Posted {} in {}:{}{}.",
                text(&post, "id"),
                text(&team, "name"),
                text(&channel, "name"),
                reply_to
                    .map(|root| format!(", replying to {root}"))
                    .unwrap_or_default()
            )
        },
        post.clone(),
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

/// Percent-encodes a name for use as one path segment: names come from the command
/// line, and a stray '/', '?' or '#' must not turn into another request.
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The first of `paths` that exists; when none does, a 404 saying `missing`. Only
/// "not found" moves on to the next path: a refusal or an outage is the answer.
async fn lookup(client: &Client, paths: &[String], missing: String) -> CliResult<Value> {
    let mut error_id = String::new();
    for path in paths {
        match client.get(path).await {
            Ok(found) => return Ok(found),
            Err(err) if is_not_found(&err) => {
                if let CliError::Api { id, .. } = err {
                    error_id = id;
                }
            }
            Err(err) => return Err(err),
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

/// Name first, then id, like mmctl: a name may look like an id, never the reverse
/// in practice, and names are what people type.
fn name_then_id(by_name: String, arg: &str, by_id: impl FnOnce(&str) -> String) -> Vec<String> {
    let mut paths = vec![by_name];
    if chorus_model::is_valid_id(arg) {
        paths.push(by_id(arg));
    }
    paths
}

async fn find_team(client: &Client, arg: &str) -> CliResult<Value> {
    let name = non_empty("team", arg)?;
    let paths = name_then_id(format!("/teams/name/{}", segment(name)), name, |id| {
        format!("/teams/{id}")
    });
    lookup(
        client,
        &paths,
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
) -> CliResult<(Value, Value)> {
    let team = find_team(client, team_arg).await?;
    let team_id = text(&team, "id");
    let name = non_empty("channel", channel_arg)?;
    let missing = || {
        format!(
            "no channel named {name:?} in team {}: give the channel's URL name (not its display name) or its id",
            text(&team, "name")
        )
    };
    let paths = name_then_id(
        format!("/teams/{team_id}/channels/name/{}", segment(name)),
        name,
        |id| format!("/channels/{id}"),
    );
    let channel = lookup(client, &paths, missing()).await?;
    // Found by id, it may belong to another team; `team:channel` promised this one.
    if text(&channel, "team_id") != team_id {
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
async fn find_users(client: &Client, args: &[String]) -> CliResult<Vec<Value>> {
    let mut users = Vec::with_capacity(args.len());
    for arg in args {
        let name = non_empty("user", arg.trim().trim_start_matches('@'))?;
        let paths = name_then_id(format!("/users/username/{}", segment(name)), name, |id| {
            format!("/users/{id}")
        });
        let user = lookup(
            client,
            &paths,
            format!(
                "no user named {name:?}; nobody was added. See `chorus user list` for usernames"
            ),
        )
        .await?;
        users.push(user);
    }
    Ok(users)
}

fn usernames(users: &[Value]) -> String {
    users
        .iter()
        .map(|u| format!("@{}", text(u, "username")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A failure while adding `user` to `place`, saying who was added before it (and
/// keeping the error's kind, hence its exit code). Adding is idempotent, so running
/// the command again once the cause is fixed finishes the job.
fn stopped(
    err: CliError,
    place: &str,
    user: &Value,
    added: &[Value],
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
    let prefix = format!("cannot add @{} to {place}", text(user, "username"));
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

fn print_added(context: &Context, place: &str, mut json: Value, added: &[Value]) {
    json["added"] = added
        .iter()
        .map(|u| json!({"user_id": text(u, "id"), "username": text(u, "username")}))
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
            assert_eq!(err.exit_code(), crate::client::exit::USAGE, "{bad}");
            assert!(err.to_string().contains("<team>:<channel>"), "{err}");
        }
    }

    #[test]
    fn segments_cannot_escape_the_path() {
        assert_eq!(segment("town-square_1.x~"), "town-square_1.x~");
        assert_eq!(segment("a/../b?c#d"), "a%2F..%2Fb%3Fc%23d");
        assert_eq!(segment("é"), "%C3%A9");
    }

    #[test]
    fn failures_keep_their_exit_code_and_say_who_was_added() {
        let user = json!({"id": "u2", "username": "bob"});
        let added = [json!({"id": "u1", "username": "alice"})];
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
        assert_eq!(err.exit_code(), crate::client::exit::FORBIDDEN);
        let message = err.to_string();
        assert!(
            message.contains("cannot add @bob to team dev: No."),
            "{message}"
        );
        assert!(message.contains("@alice"), "{message}");
    }
}
