//! `/demo` subcommands over teams, channels, users, permissions, bots and the server
//! itself: each calls a few API methods and answers what it found, so that a test (or
//! a person) can check the server's answers through the plugin's eyes.

use crate::demo::Demo;
use chorus_plugin::model::BotPatch;
use chorus_plugin::{Api, ApiError, Bot, Channel, CommandArgs};

/// The plugin's own id, for `GetPluginStatus`.
const PLUGIN_ID: &str = "com.chorus.demo";

fn yes(allowed: bool) -> &'static str {
    if allowed {
        "yes"
    } else {
        "no"
    }
}

impl Demo {
    /// `/demo team`: this team by name, every team, and the caller's membership.
    pub(crate) async fn team_report(
        &self,
        api: &Api,
        args: &CommandArgs,
    ) -> Result<String, ApiError> {
        let team = api.get_team(&args.team_id).await?;
        let by_name = api.get_team_by_name(&team.name).await?;
        let teams = api.get_teams().await?;
        let me = api.get_team_member(&team.id, &args.user_id).await?;
        let members = api.get_team_members(&team.id, 0, 0).await?;
        Ok(format!(
            "team {} (same by name: {}), {} teams, you are {}, {} members",
            team.name,
            yes(by_name.id == team.id),
            teams.len(),
            me.roles,
            members.len()
        ))
    }

    /// `/demo jointeam <team name>`: adds the caller to another team.
    pub(crate) async fn join_team(
        &self,
        api: &Api,
        args: &CommandArgs,
        name: &str,
    ) -> Result<String, ApiError> {
        let team = api.get_team_by_name(name).await?;
        let member = api.create_team_member(&team.id, &args.user_id).await?;
        Ok(format!("you joined {} as {}", team.name, member.roles))
    }

    /// `/demo members`: this channel's members and users, and the team's users.
    pub(crate) async fn members_report(
        &self,
        api: &Api,
        args: &CommandArgs,
    ) -> Result<String, ApiError> {
        let team = api.get_team(&args.team_id).await?;
        let channel = api.get_channel(&args.channel_id).await?;
        let same = api
            .get_channel_by_name_for_team_name(&team.name, &channel.name)
            .await?;
        let members = api.get_channel_members(&channel.id, 0, 0).await?;
        let mut users: Vec<String> = api
            .get_users_in_channel(&channel.id, 0, 0)
            .await?
            .into_iter()
            .map(|u| u.username)
            .collect();
        users.sort();
        let in_team = api.get_users(0, 0, &team.id, "").await?;
        Ok(format!(
            "~{} (same by team name: {}): {} members ({}), {} users in the team",
            channel.name,
            yes(same.id == channel.id),
            members.len(),
            users.join(", "),
            in_team.len()
        ))
    }

    /// `/demo can <permission>`: whether the caller holds it, system-wide, in this
    /// team and in this channel.
    pub(crate) async fn permission_report(
        &self,
        api: &Api,
        args: &CommandArgs,
        permission: &str,
    ) -> Result<String, ApiError> {
        let system = api.has_permission_to(&args.user_id, permission).await?;
        let team = api
            .has_permission_to_team(&args.user_id, &args.team_id, permission)
            .await?;
        let channel = api
            .has_permission_to_channel(&args.user_id, &args.channel_id, permission)
            .await?;
        Ok(format!(
            "{permission}: system {}, team {}, channel {}",
            yes(system),
            yes(team),
            yes(channel)
        ))
    }

    /// `/demo newchannel <name>`: a private channel made by the plugin in this team,
    /// with the caller added.
    pub(crate) async fn new_channel(
        &self,
        api: &Api,
        args: &CommandArgs,
        name: &str,
    ) -> Result<String, ApiError> {
        let channel = api
            .create_channel(Channel {
                team_id: args.team_id.clone(),
                name: name.to_string(),
                display_name: name.to_string(),
                channel_type: "P".into(),
                creator_id: args.user_id.clone(),
                ..Channel::default()
            })
            .await?;
        api.add_channel_member(&channel.id, &args.user_id).await?;
        Ok(format!("created ~{} ({})", channel.name, channel.id))
    }

    /// `/demo kick <username>`: takes someone out of this channel.
    pub(crate) async fn kick(
        &self,
        api: &Api,
        args: &CommandArgs,
        username: &str,
    ) -> Result<String, ApiError> {
        let user = api
            .get_user_by_username(username.trim_start_matches('@'))
            .await?;
        api.delete_channel_member(&args.channel_id, &user.id)
            .await?;
        Ok(format!("removed @{} from this channel", user.username))
    }

    /// `/demo header <text>`: the plugin sets this channel's header.
    pub(crate) async fn set_header(
        &self,
        api: &Api,
        args: &CommandArgs,
        header: &str,
    ) -> Result<String, ApiError> {
        let mut channel = api.get_channel(&args.channel_id).await?;
        channel.header = header.to_string();
        let channel = api.update_channel(channel).await?;
        Ok(format!(
            "the header of ~{} is now {:?}",
            channel.name, channel.header
        ))
    }

    /// `/demo nickname <text>`: the plugin sets the caller's nickname.
    pub(crate) async fn set_nickname(
        &self,
        api: &Api,
        args: &CommandArgs,
        nickname: &str,
    ) -> Result<String, ApiError> {
        let mut user = api.get_user(&args.user_id).await?;
        user.nickname = nickname.to_string();
        let user = api.update_user(user).await?;
        Ok(format!(
            "@{} is now known as {:?}",
            user.username, user.nickname
        ))
    }

    /// `/demo avatar`: gives the caller the bot's picture, and says how big it is.
    pub(crate) async fn avatar_report(
        &self,
        api: &Api,
        args: &CommandArgs,
    ) -> Result<String, ApiError> {
        let bot_id = self.bot_id(api).await?;
        let picture = api.get_profile_image(&bot_id).await?;
        api.set_profile_image(&args.user_id, picture.clone())
            .await?;
        let mine = api.get_profile_image(&args.user_id).await?;
        Ok(format!(
            "your picture is now the bot's ({} bytes of PNG, {} read back)",
            picture.len(),
            mine.len()
        ))
    }

    /// `/demo leaveteam`: the caller leaves this team, as if they had asked.
    pub(crate) async fn leave_team(
        &self,
        api: &Api,
        args: &CommandArgs,
    ) -> Result<String, ApiError> {
        api.delete_team_member(&args.team_id, &args.user_id, &args.user_id)
            .await?;
        Ok("you left the team".to_string())
    }

    /// `/demo thread <post id>` and `/demo since <ms>`: posts as the plugin reads them.
    pub(crate) async fn thread_report(&self, api: &Api, post_id: &str) -> Result<String, ApiError> {
        let thread = api.get_post_thread(post_id).await?;
        Ok(format!("the thread has {} posts", thread.order.len()))
    }

    pub(crate) async fn since_report(
        &self,
        api: &Api,
        args: &CommandArgs,
        since: &str,
    ) -> Result<String, ApiError> {
        let since: i64 = since
            .parse()
            .map_err(|_| ApiError::InvalidArgument(format!("{since:?} is not a time in ms")))?;
        let posts = api.get_posts_since(&args.channel_id, since).await?;
        Ok(format!("{} posts changed since {since}", posts.order.len()))
    }

    /// `/demo bot <username>`: a new bot of the plugin's, described, read back.
    pub(crate) async fn make_bot(&self, api: &Api, username: &str) -> Result<String, ApiError> {
        let bot = api
            .create_bot(Bot {
                username: username.to_string(),
                display_name: "Made by /demo bot".into(),
                ..Bot::default()
            })
            .await?;
        let patch = BotPatch {
            description: Some("patched".into()),
            ..BotPatch::default()
        };
        api.patch_bot(&bot.user_id, &patch).await?;
        let read = api.get_bot(&bot.user_id, false).await?;
        Ok(format!(
            "bot @{} ({}), owner {}, description {:?}",
            read.username, read.user_id, read.owner_id, read.description
        ))
    }

    /// `/demo server`: the configuration, licence, telemetry id and this plugin's status.
    pub(crate) async fn server_report(&self, api: &Api) -> Result<String, ApiError> {
        let config = api.get_config().await?;
        let data_source = config["SqlSettings"]["DataSource"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let license = api.get_license().await?;
        let diagnostic_id = api.get_diagnostic_id().await?;
        let status = api.get_plugin_status(PLUGIN_ID).await?;
        Ok(format!(
            "data source {data_source:?}, licence {}, diagnostic id {diagnostic_id}, {} is {}",
            license.as_deref().unwrap_or("none"),
            status.plugin_id,
            status.state.name()
        ))
    }
}
