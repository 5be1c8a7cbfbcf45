//! `chorus auth`: sign in to a server and keep the session as a named profile (like
//! mmctl's `auth login`), list the profiles, switch the current one.

use super::Context;
use crate::connection::connect;
use crate::errors::{CliError, CliResult};
use crate::output::table;
use crate::profiles::Profile;
use clap::Subcommand;
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Subcommand)]
pub enum AuthCommand {
    /// Sign in to <url> and store the session as a profile, made current.
    Login {
        /// The server, e.g. https://chat.example.com or localhost:8065.
        url: String,
        #[arg(long, short)]
        username: String,
        /// The password (else $CHORUS_PASSWORD, else one line read from stdin).
        #[arg(long, env = "CHORUS_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The profile's name (default: the server's host name).
        #[arg(long)]
        name: Option<String>,
    },
    /// The stored profiles; `*` marks the current one.
    List,
    /// Make another stored profile current.
    Switch { name: String },
}

pub async fn run(context: &Context, command: AuthCommand) -> CliResult<()> {
    match command {
        AuthCommand::Login {
            url,
            username,
            password,
            name,
        } => login(context, &url, &username, password, name).await,
        AuthCommand::List => list(context),
        AuthCommand::Switch { name } => switch(context, &name),
    }
}

fn read_password(username: &str) -> CliResult<String> {
    if std::io::stdin().is_terminal() {
        eprint!("Password for {username} (shown as you type): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("cannot read the password: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(CliError::Usage(
            "no password: pass --password, set CHORUS_PASSWORD, or type it on stdin".into(),
        ));
    }
    Ok(password)
}

async fn login(
    context: &Context,
    url: &str,
    username: &str,
    password: Option<String>,
    name: Option<String>,
) -> CliResult<()> {
    let client = connect(url, None)?;
    let password = match password {
        Some(password) => password,
        None => read_password(username)?,
    };
    let (token, user) = client.login(username, &password).await?;
    let name = name.unwrap_or_else(|| {
        reqwest::Url::parse(client.server_url())
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| {
                    format!(
                        "{h}{}",
                        u.port().map(|p| format!(":{p}")).unwrap_or_default()
                    )
                })
            })
            .unwrap_or_else(|| client.server_url().to_string())
    });
    let mut profiles = context.profiles()?;
    profiles.profiles.insert(
        name.clone(),
        Profile {
            url: client.server_url().to_string(),
            username: username.to_string(),
            token,
        },
    );
    profiles.current = Some(name.clone());
    profiles.save()?;
    context.output.print(
        || {
            format!(
                "Signed in to {} as {username}; profile {name:?} is now current.",
                client.server_url()
            )
        },
        json!({"profile": name, "url": client.server_url(), "username": username, "user_id": user.id}),
    );
    Ok(())
}

fn list(context: &Context) -> CliResult<()> {
    let profiles = context.profiles()?;
    let rows: Vec<Vec<String>> = profiles
        .profiles
        .iter()
        .map(|(name, profile)| {
            let current = profiles.current.as_deref() == Some(name.as_str());
            vec![
                if current { "*".into() } else { String::new() },
                name.clone(),
                profile.url.clone(),
                profile.username.clone(),
            ]
        })
        .collect();
    let json_list: Vec<_> = profiles
        .profiles
        .iter()
        .map(|(name, profile)| {
            json!({
                "name": name,
                "url": profile.url,
                "username": profile.username,
                "current": profiles.current.as_deref() == Some(name.as_str()),
            })
        })
        .collect();
    context.output.print(
        || {
            if rows.is_empty() {
                "No profiles yet: sign in with `chorus auth login <url> --username <name>`.".into()
            } else {
                table(&["", "NAME", "URL", "USER"], &rows)
            }
        },
        json!(json_list),
    );
    Ok(())
}

fn switch(context: &Context, name: &str) -> CliResult<()> {
    let mut profiles = context.profiles()?;
    if !profiles.profiles.contains_key(name) {
        let known: Vec<&str> = profiles.profiles.keys().map(String::as_str).collect();
        return Err(CliError::Usage(format!(
            "no profile named {name:?}; known profiles: {}",
            if known.is_empty() {
                "none (sign in with `chorus auth login`)".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    profiles.current = Some(name.to_string());
    profiles.save()?;
    let profile = &profiles.profiles[name];
    context.output.print(
        || {
            format!(
                "Profile {name:?} ({} as {}) is now current.",
                profile.url, profile.username
            )
        },
        json!({"profile": name, "url": profile.url, "username": profile.username}),
    );
    Ok(())
}
