//! The one table of error codes. Each code carries Mattermost's error id, the HTTP
//! status a REST client sees, the gRPC status a plugin sees, and a default message;
//! every [`AppError`](super::AppError) the server returns is built from one of them, so
//! an id never drifts away from its status between two call sites.
//!
//! Ids are Mattermost's wherever Mattermost has the same failure (clients and bots
//! branch on them); the few that are Chorus's own keep Mattermost's naming scheme.

use axum::http::StatusCode;

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = ($id:literal, $status:ident, $grpc:ident, $message:literal),)*) => {
        /// Every failure the server reports, with its id, statuses and default message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            /// Every code, for tests of the table itself.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// Mattermost's error id (`id` in the error JSON).
            pub const fn id(self) -> &'static str {
                match self { $(Code::$name => $id,)* }
            }

            /// The HTTP status of a REST reply.
            pub const fn status(self) -> StatusCode {
                match self { $(Code::$name => StatusCode::$status,)* }
            }

            /// The gRPC status a plugin API call fails with.
            pub const fn grpc(self) -> tonic::Code {
                match self { $(Code::$name => tonic::Code::$grpc,)* }
            }

            /// What the error says when the call site has nothing more specific.
            pub const fn message(self) -> &'static str {
                match self { $(Code::$name => $message,)* }
            }
        }
    };
}

codes! {
    // Requests in general.
    RouteNotFound = ("api.context.404.app_error", NOT_FOUND, NotFound, "Sorry, we could not find the page."),
    MethodNotAllowed = ("api.context.405.app_error", METHOD_NOT_ALLOWED, Unimplemented, "This method is not allowed on this route."),
    InvalidParam = ("api.context.invalid_param.app_error", BAD_REQUEST, InvalidArgument, "Invalid or missing parameter in request body."),
    InvalidUrlParam = ("api.context.invalid_url_param.app_error", BAD_REQUEST, InvalidArgument, "Invalid or missing parameter in request URL."),
    InvalidBody = ("api.context.invalid_body_param.app_error", BAD_REQUEST, InvalidArgument, "The request body is not valid."),
    BodyTooLarge = ("api.context.request_body_too_large.app_error", PAYLOAD_TOO_LARGE, InvalidArgument, "The request body is larger than this server accepts."),
    Forbidden = ("api.context.permissions.app_error", FORBIDDEN, PermissionDenied, "You do not have the appropriate permissions."),
    SessionExpired = ("api.context.session_expired.app_error", UNAUTHORIZED, Unauthenticated, "Invalid or expired session, please login again."),
    CsrfCheckFailed = ("api.context.csrf_check_failed.app_error", UNAUTHORIZED, Unauthenticated, "This request was authenticated by cookie but carried no valid X-CSRF-Token header."),
    RateLimited = ("api.context.rate_limit_exceeded.app_error", TOO_MANY_REQUESTS, ResourceExhausted, "Too many requests; try again shortly."),
    StoreUnavailable = ("app.store.unavailable.app_error", SERVICE_UNAVAILABLE, Unavailable, "The database is not reachable right now; try again shortly."),
    StoreFailed = ("app.store.error.app_error", INTERNAL_SERVER_ERROR, Internal, "The server could not complete the request because of a database error."),
    Internal = ("app.internal.app_error", INTERNAL_SERVER_ERROR, Internal, "The server hit an internal error."),
    ShuttingDown = ("app.server.shutting_down.app_error", SERVICE_UNAVAILABLE, Unavailable, "The server is shutting down."),

    // Users, logins and sign-ups.
    UserNotFound = ("app.user.missing_account.const", NOT_FOUND, NotFound, "Unable to find the user."),
    AutocompleteMissingTeam = ("api.user.autocomplete_users.missing_team_id.app_error", BAD_REQUEST, InvalidArgument, "Autocompleting the users of a channel needs its team."),
    UserInvalid = ("model.user.is_valid.app_error", BAD_REQUEST, InvalidArgument, "The user is not valid."),
    UsernameInvalid = ("model.user.is_valid.username.app_error", BAD_REQUEST, InvalidArgument, "The username is not valid."),
    EmailInvalid = ("model.user.is_valid.email.app_error", BAD_REQUEST, InvalidArgument, "The email address is not valid."),
    PasswordInvalid = ("model.user.is_valid.pwd.app_error", BAD_REQUEST, InvalidArgument, "The password is not valid."),
    UsernameTaken = ("app.user.save.username_exists.app_error", BAD_REQUEST, AlreadyExists, "An account with that username already exists."),
    EmailTaken = ("app.user.save.email_exists.app_error", BAD_REQUEST, AlreadyExists, "An account with that email already exists."),
    BotUsernameTaken = ("app.bot.create_bot.username_taken.app_error", CONFLICT, AlreadyExists, "The username is already taken by a user who is not a bot."),
    InvalidCredentials = ("api.user.login.invalid_credentials_email_username", UNAUTHORIZED, Unauthenticated, "Enter a valid email or username and/or password."),
    TooManyLoginAttempts = ("api.user.check_user_login_attempts.too_many.app_error", UNAUTHORIZED, Unauthenticated, "Your account is locked because of too many failed password attempts."),
    PasswordHashingBusy = ("app.user.password_hashing_busy.app_error", SERVICE_UNAVAILABLE, Unavailable, "Too many logins are being checked right now; try again in a moment."),
    SignupDisabled = ("api.user.create_user.signup_email_disabled.app_error", FORBIDDEN, PermissionDenied, "User sign-up is disabled on this server (TeamSettings.EnableUserCreation)."),
    NoOpenServer = ("api.user.create_user.no_open_server", FORBIDDEN, PermissionDenied, "This server does not allow open sign-ups (TeamSettings.EnableOpenServer); ask an admin to create your account."),
    BotPassword = ("api.user.update_password.bot.app_error", BAD_REQUEST, InvalidArgument, "Bot accounts have no password."),
    PasswordCheckFailed = ("api.user.check_user_password.invalid.app_error", UNAUTHORIZED, Unauthenticated, "Login failed because of an invalid password."),
    ProfileImageMissing = ("api.user.upload_profile_user.no_file.app_error", BAD_REQUEST, InvalidArgument, "No file under 'image' in request."),
    ProfileImageTooLarge = ("api.user.upload_profile_user.too_large.app_error", PAYLOAD_TOO_LARGE, InvalidArgument, "Unable to upload profile image. File is too large."),
    ProfileImageParse = ("api.user.upload_profile_user.parse.app_error", BAD_REQUEST, InvalidArgument, "Could not parse multipart form."),
    ProfileImageTooManyPixels = ("api.user.upload_profile_user.check_image_limits.app_error", BAD_REQUEST, InvalidArgument, "The image has more pixels than this server accepts."),
    ProfileImageDecode = ("api.user.upload_profile_user.decode.app_error", BAD_REQUEST, InvalidArgument, "Could not decode the profile image: use a PNG, JPEG, GIF or WebP."),
    PasswordIncorrect = ("api.user.update_password.incorrect.app_error", BAD_REQUEST, InvalidArgument, "The current password is incorrect."),
    RoleIdNotFound = ("app.role.get.app_error", NOT_FOUND, NotFound, "No role has that id."),
    RoleNameNotFound = ("app.role.get_by_name.app_error", NOT_FOUND, NotFound, "No role has that name."),
    TooManyRoleNames = ("api.roles.get_multiple_by_name_too_many.request_error", BAD_REQUEST, InvalidArgument, "Too many role names at once."),
    LastAdmin = ("app.user.update.lastAdmin.app_error", BAD_REQUEST, InvalidArgument, "The last system admin cannot give up the system_admin role."),
    RoleNotFound = ("app.role.check_roles_exist.role_not_found", BAD_REQUEST, InvalidArgument, "No such role."),

    // Preferences.
    PreferenceUserIdInvalid = ("model.preference.is_valid.id.app_error", BAD_REQUEST, InvalidArgument, "The preference's user_id is not a valid id."),
    PreferenceCategoryInvalid = ("model.preference.is_valid.category.app_error", BAD_REQUEST, InvalidArgument, "The preference's category is not valid."),
    PreferenceNameInvalid = ("model.preference.is_valid.name.app_error", BAD_REQUEST, InvalidArgument, "The preference's name is not valid."),
    PreferenceValueInvalid = ("model.preference.is_valid.value.app_error", BAD_REQUEST, InvalidArgument, "The preference's value is not valid."),
    PreferenceThemeInvalid = ("model.preference.is_valid.theme.app_error", BAD_REQUEST, InvalidArgument, "A theme preference's value must be a JSON object."),
    PreferenceCategoryNotFound = ("api.preference.preferences_category.get.app_error", NOT_FOUND, NotFound, "The user has no preferences in that category."),
    PreferenceNotFound = ("app.preference.get.app_error", BAD_REQUEST, NotFound, "The user has no such preference."),
    PreferenceForOtherUser = ("api.preference.update_preferences.set.app_error", FORBIDDEN, PermissionDenied, "Preferences can only be saved for the user in the path."),
    PreferenceDeleteForOtherUser = ("api.preference.delete_preferences.delete.app_error", FORBIDDEN, PermissionDenied, "Preferences can only be deleted for the user in the path."),

    // Personal access tokens.
    AccessTokenNotFound = ("app.user_access_token.get_by_user.app_error", NOT_FOUND, NotFound, "Unable to find the personal access token."),
    AccessTokenDescriptionInvalid = ("model.user_access_token.is_valid.description.app_error", BAD_REQUEST, InvalidArgument, "The token's description is not valid."),
    AccessTokensDisabled = ("app.user_access_token.disabled", NOT_IMPLEMENTED, Unimplemented, "Personal access tokens are disabled on this server (ServiceSettings.EnableUserAccessTokens)."),

    // Bot accounts.
    BotNotFound = ("store.sql_bot.get.missing.app_error", NOT_FOUND, NotFound, "Unable to find the bot."),
    BotCreationDisabled = ("api.bot.create_disabled", FORBIDDEN, PermissionDenied, "Bot account creation is disabled on this server (ServiceSettings.EnableBotAccountCreation)."),
    BotUsernameInvalid = ("model.bot.is_valid.username.app_error", BAD_REQUEST, InvalidArgument, "The bot's username is not valid."),
    /// Mattermost reports a too-long display name under the user id's error id; clients
    /// that branch on ids see the same one here.
    BotDisplayNameInvalid = ("model.bot.is_valid.user_id.app_error", BAD_REQUEST, InvalidArgument, "The bot's display name is not valid."),
    BotDescriptionInvalid = ("model.bot.is_valid.description.app_error", BAD_REQUEST, InvalidArgument, "The bot's description is not valid."),
    BotOwnerIsBot = ("api.bot.assign_bot.owner_is_bot.app_error", FORBIDDEN, PermissionDenied, "A bot cannot own another bot."),
    AlreadyBot = ("app.bot.createbot.already_bot.app_error", BAD_REQUEST, InvalidArgument, "This account is already a bot."),

    // Teams.
    TeamNotFound = ("app.team.get.find.app_error", NOT_FOUND, NotFound, "Unable to find the team."),
    TeamNameNotFound = ("app.team.get_by_name.missing.app_error", NOT_FOUND, NotFound, "Unable to find the team."),
    TeamNameInvalid = ("model.team.is_valid.name.app_error", BAD_REQUEST, InvalidArgument, "The team name is not valid."),
    TeamDescriptionInvalid = ("model.team.is_valid.description.app_error", BAD_REQUEST, InvalidArgument, "The team description is not valid."),
    TeamNameTaken = ("store.sql_team.save_team.existing.app_error", BAD_REQUEST, AlreadyExists, "A team with that name already exists."),
    TeamTypeInvalid = ("model.team.is_valid.type.app_error", BAD_REQUEST, InvalidArgument, "The team type is not valid."),

    // Channels and their members.
    ChannelNotFound = ("app.channel.get.existing.app_error", NOT_FOUND, NotFound, "Unable to find the channel."),
    ChannelNameNotFound = ("app.channel.get_by_name.missing.app_error", NOT_FOUND, NotFound, "Unable to find the channel."),
    ChannelMemberNotFound = ("app.channel.get_member.missing.app_error", NOT_FOUND, NotFound, "Unable to find the channel member."),
    NotTeamMember = ("api.team.remove_user_from_team.missing.app_error", BAD_REQUEST, FailedPrecondition, "The user does not appear to be part of this team."),
    TeamMemberNotFound = ("app.team.get_member.missing.app_error", NOT_FOUND, NotFound, "Unable to find the team member."),
    ChannelNameInvalid = ("model.channel.is_valid.name.app_error", BAD_REQUEST, InvalidArgument, "The channel name is not valid."),
    ChannelDisplayNameInvalid = ("model.channel.is_valid.display_name.app_error", BAD_REQUEST, InvalidArgument, "The channel display name is not valid."),
    ChannelHeaderInvalid = ("model.channel.is_valid.header.app_error", BAD_REQUEST, InvalidArgument, "The channel header is not valid."),
    ChannelPurposeInvalid = ("model.channel.is_valid.purpose.app_error", BAD_REQUEST, InvalidArgument, "The channel purpose is not valid."),
    ChannelNameTaken = ("store.sql_channel.save_channel.exists.app_error", BAD_REQUEST, AlreadyExists, "A channel with that name already exists."),
    ChannelTypeInvalid = ("model.channel.is_valid.type.app_error", BAD_REQUEST, InvalidArgument, "The channel type is not valid."),
    ChannelUpdateDeleted = ("api.channel.update_channel.deleted.app_error", BAD_REQUEST, FailedPrecondition, "The channel has been archived or deleted."),
    ChannelTypeChange = ("api.channel.update_channel.typechange.app_error", BAD_REQUEST, InvalidArgument, "A channel's type cannot be changed this way; use PUT /channels/{id}/privacy."),
    DefaultChannelRename = ("api.channel.update_channel.tried.app_error", BAD_REQUEST, InvalidArgument, "The team's default channel cannot be renamed."),
    ChannelPatchForbidden = ("api.channel.patch_update_channel.forbidden.app_error", FORBIDDEN, PermissionDenied, "Only members of a direct message channel may change it."),
    NotifyLevelInvalid = ("model.channel_member.is_valid.notify_level.app_error", BAD_REQUEST, InvalidArgument, "Invalid notify level: desktop is one of default, all, mention, none."),
    UnreadLevelInvalid = ("model.channel_member.is_valid.unread_level.app_error", BAD_REQUEST, InvalidArgument, "Invalid mark unread level: mark_unread is all or mention."),
    PushLevelInvalid = ("model.channel_member.is_valid.push_level.app_error", BAD_REQUEST, InvalidArgument, "Invalid push level: push is one of default, all, mention, none."),
    EmailValueInvalid = ("model.channel_member.is_valid.email_value.app_error", BAD_REQUEST, InvalidArgument, "Invalid email value: email is default, true or false."),
    IgnoreChannelMentionsInvalid = ("model.channel_member.is_valid.ignore_channel_mentions_value.app_error", BAD_REQUEST, InvalidArgument, "Invalid ignore_channel_mentions: it is on, off or default."),
    AutoFollowThreadsInvalid = ("model.channel_member.is_valid.channel_auto_follow_threads_value.app_error", BAD_REQUEST, InvalidArgument, "Invalid channel_auto_follow_threads: it is on or off."),
    NotifyPropsTooLarge = ("model.channel_member.is_valid.notify_props.app_error", BAD_REQUEST, InvalidArgument, "The notify props are too large."),
    AddMemberToDirect = ("api.channel.add_user_to_channel.type.app_error", BAD_REQUEST, InvalidArgument, "Members cannot be added to direct message channels."),
    AddMemberNotInTeam = ("api.channel.add_user.to.channel.failed.app_error", BAD_REQUEST, InvalidArgument, "The user is not a member of the channel's team."),
    RemoveFromDirect = ("api.channel.remove_user_from_channel.direct.app_error", BAD_REQUEST, InvalidArgument, "Members cannot be removed from direct message channels."),
    RemoveFromDefault = ("api.channel.remove.default.app_error", BAD_REQUEST, InvalidArgument, "Nobody can be removed from the team's default channel."),

    // Posts.
    PostNotFound = ("app.post.get.app_error", NOT_FOUND, NotFound, "Unable to find the post."),
    PostMessageInvalid = ("model.post.is_valid.msg.app_error", BAD_REQUEST, InvalidArgument, "message must not be empty."),
    PendingPostIdInvalid = ("model.post.is_valid.pending_post_id.app_error", BAD_REQUEST, InvalidArgument, "pending_post_id is not valid."),
    PostRootInvalid = ("api.post.create_post.root_id.app_error", BAD_REQUEST, InvalidArgument, "root_id must be a live top-level post in the same channel."),
    PostTypeReserved = ("api.post.create_post.type.app_error", BAD_REQUEST, InvalidArgument, "type must be empty or start with \"custom_\"; system post types are reserved for the server."),
    PostFileIdsInvalid = ("model.post.is_valid.file_ids.app_error", BAD_REQUEST, InvalidArgument, "A post carries at most 10 files, named by their ids."),
    ReactionInvalid = ("api.reaction.save_reaction.invalid.app_error", BAD_REQUEST, InvalidArgument, "The reaction is not valid."),
    ReactionEmojiInvalid = ("model.reaction.is_valid.emoji_name.app_error", BAD_REQUEST, InvalidArgument, "The emoji name is not valid."),
    EmojiNotFound = ("app.emoji.get_by_name.no_result", NOT_FOUND, NotFound, "No emoji has that name."),
    ReactionForOtherUser = ("api.reaction.save_reaction.user_id.app_error", FORBIDDEN, PermissionDenied, "You can only react as yourself."),
    ReactionLimit = ("app.reaction.save.save.too_many_reactions", BAD_REQUEST, InvalidArgument, "This post carries as many different emoji reactions as it may."),
    PostRejectedByPlugin = ("app.post.rejected_by_plugin.app_error", BAD_REQUEST, InvalidArgument, "Post rejected by plugin."),

    // Files.
    FilesDisabled = ("api.file.attachments.disabled.app_error", FORBIDDEN, PermissionDenied, "File attachments are disabled on this server (FileSettings.EnableFileAttachments)."),
    FileUploadUnreadable = ("api.file.upload_file.read_request.app_error", BAD_REQUEST, InvalidArgument, "Unable to read the uploaded file."),
    FileTooLarge = ("api.file.upload_file.too_large_detailed.app_error", PAYLOAD_TOO_LARGE, InvalidArgument, "The file is larger than this server accepts (FileSettings.MaxFileSize)."),
    FileImageTooLarge = ("api.file.upload_file.large_image_detailed.app_error", BAD_REQUEST, InvalidArgument, "The image has more pixels than this server accepts (FileSettings.MaxImageResolution)."),
    FileNameInvalid = ("api.file.upload_file.invalid_name.app_error", BAD_REQUEST, InvalidArgument, "The file name is not valid."),
    FileClientIdsCount = ("api.file.upload_file.incorrect_number_of_client_ids.app_error", BAD_REQUEST, InvalidArgument, "The upload names a different number of client_ids than files."),
    FileChannelIdsDiffer = ("api.file.upload_file.multiple_channel_ids.app_error", BAD_REQUEST, InvalidArgument, "The upload names two different channels."),
    FileNotFound = ("app.file_info.get.app_error", NOT_FOUND, NotFound, "Unable to find the file."),
    /// Chorus's own: Mattermost's Go server answers a plain-text 416.
    FileRangeNotSatisfiable = ("api.file.range_not_satisfiable.app_error", RANGE_NOT_SATISFIABLE, OutOfRange, "The requested range lies past the end of the file."),
    FileReadFailed = ("api.file.file_reader.app_error", NOT_FOUND, NotFound, "Unable to read the file."),
    FileNoThumbnail = ("api.file.get_file_thumbnail.no_thumbnail.app_error", BAD_REQUEST, InvalidArgument, "The file has no thumbnail."),
    FileNoPreview = ("api.file.get_file_preview.no_preview.app_error", BAD_REQUEST, InvalidArgument, "The file has no preview."),
    PublicLinksDisabled = ("api.file.get_public_link.disabled.app_error", FORBIDDEN, PermissionDenied, "Public links are disabled on this server (FileSettings.EnablePublicLink)."),
    PublicLinkNoPost = ("api.file.get_public_link.no_post.app_error", BAD_REQUEST, InvalidArgument, "A file gets a public link once it is attached to a post."),
    FileRejectedByPlugin = ("app.upload.run_plugins_hook.rejected", BAD_REQUEST, InvalidArgument, "A plugin refused the file."),
    FileQueryInvalid = ("app.file_info.get_with_options.app_error", BAD_REQUEST, InvalidArgument, "The file query is not valid."),
    PublicLinkInvalid = ("api.file.get_file.public_invalid.app_error", BAD_REQUEST, InvalidArgument, "The public link is not valid."),

    // Incoming webhooks.
    IncomingWebhooksDisabled = ("api.incoming_webhook.disabled.app_error", NOT_IMPLEMENTED, Unimplemented, "Incoming webhooks are disabled on this server (ServiceSettings.EnableIncomingWebhooks)."),
    IncomingWebhookNotFound = ("app.webhooks.get_incoming.app_error", NOT_FOUND, NotFound, "Unable to find the incoming webhook."),
    HookChannelInvalid = ("api.incoming_webhook.channel.app_error", BAD_REQUEST, InvalidArgument, "An incoming webhook posts into an open channel of a team, or a private one its owner belongs to."),
    HookDisplayNameInvalid = ("model.incoming_hook.display_name.app_error", BAD_REQUEST, InvalidArgument, "The hook's display name is not valid."),
    HookDescriptionInvalid = ("model.incoming_hook.description.app_error", BAD_REQUEST, InvalidArgument, "The hook's description is not valid."),
    HookUsernameInvalid = ("model.incoming_hook.username.app_error", BAD_REQUEST, InvalidArgument, "The hook's username is not valid."),
    HookIconUrlInvalid = ("model.incoming_hook.icon_url.app_error", BAD_REQUEST, InvalidArgument, "The hook's icon URL is not valid."),
    IncomingWebhookRunDisabled = ("web.incoming_webhook.disabled.app_error", NOT_IMPLEMENTED, Unimplemented, "Incoming webhooks are disabled on this server."),
    IncomingWebhookParse = ("web.incoming_webhook.parse.app_error", BAD_REQUEST, InvalidArgument, "Unable to parse the incoming data: send JSON, or a form whose payload field is JSON."),
    IncomingWebhookNoText = ("web.incoming_webhook.text.app_error", BAD_REQUEST, InvalidArgument, "No text specified: send text or attachments."),
    IncomingWebhookInvalid = ("web.incoming_webhook.invalid.app_error", BAD_REQUEST, InvalidArgument, "Invalid webhook: the URL is wrong or the webhook was deleted."),
    IncomingWebhookUser = ("web.incoming_webhook.user.app_error", BAD_REQUEST, InvalidArgument, "Couldn't find the user."),
    IncomingWebhookChannel = ("web.incoming_webhook.channel.app_error", NOT_FOUND, NotFound, "Couldn't find the channel."),
    IncomingWebhookChannelLocked = ("web.incoming_webhook.channel_locked.app_error", FORBIDDEN, PermissionDenied, "This webhook is not permitted to post to the requested channel."),
    IncomingWebhookPermissions = ("web.incoming_webhook.permissions.app_error", FORBIDDEN, PermissionDenied, "The webhook's owner may not post in that channel."),

    // Outgoing webhooks.
    OutgoingWebhooksDisabled = ("api.outgoing_webhook.disabled.app_error", NOT_IMPLEMENTED, Unimplemented, "Outgoing webhooks are disabled on this server (ServiceSettings.EnableOutgoingWebhooks)."),
    OutgoingWebhookNotFound = ("app.webhooks.get_outgoing.app_error", NOT_FOUND, NotFound, "Unable to find the outgoing webhook."),
    OutgoingHookDisplayNameInvalid = ("model.outgoing_hook.is_valid.display_name.app_error", BAD_REQUEST, InvalidArgument, "The hook's display name is not valid."),
    OutgoingHookDescriptionInvalid = ("model.outgoing_hook.is_valid.description.app_error", BAD_REQUEST, InvalidArgument, "The hook's description is not valid."),
    OutgoingHookContentTypeInvalid = ("model.outgoing_hook.is_valid.content_type.app_error", BAD_REQUEST, InvalidArgument, "The hook's content type is not valid."),
    OutgoingHookUsernameInvalid = ("model.outgoing_hook.username.app_error", BAD_REQUEST, InvalidArgument, "The hook's username is not valid."),
    OutgoingHookIconUrlInvalid = ("model.outgoing_hook.icon_url.app_error", BAD_REQUEST, InvalidArgument, "The hook's icon URL is not valid."),
    OutgoingHookWordsInvalid = ("model.outgoing_hook.is_valid.words.app_error", BAD_REQUEST, InvalidArgument, "Trigger words are single words, at most 1024 characters together."),
    OutgoingHookTriggerWhenInvalid = ("model.outgoing_hook.is_valid.trigger_when.app_error", BAD_REQUEST, InvalidArgument, "trigger_when is 0 (the first word is a trigger word) or 1 (it starts with one)."),
    OutgoingHookCallbackInvalid = ("model.outgoing_hook.is_valid.callback.app_error", BAD_REQUEST, InvalidArgument, "An outgoing webhook needs callback URLs, at most 1024 characters together."),
    OutgoingHookUrlInvalid = ("model.outgoing_hook.is_valid.url.app_error", BAD_REQUEST, InvalidArgument, "A callback URL is not valid."),
    OutgoingHookNoTriggers = ("api.webhook.create_outgoing.triggers.app_error", BAD_REQUEST, InvalidArgument, "An outgoing webhook needs a channel or trigger words."),
    OutgoingHookChannelNotOpen = ("api.webhook.create_outgoing.not_open.app_error", FORBIDDEN, PermissionDenied, "Outgoing webhooks can only listen to public channels."),
    OutgoingHookChannelTeam = ("api.webhook.create_outgoing.permissions.app_error", FORBIDDEN, PermissionDenied, "The channel is not in the hook's team."),
    OutgoingHookIntersect = ("api.webhook.create_outgoing.intersect.app_error", BAD_REQUEST, InvalidArgument, "Another outgoing webhook listening here already sends one of these trigger words to one of these callback URLs."),
    OutgoingHookUpdateIntersect = ("api.webhook.update_outgoing.intersect.app_error", BAD_REQUEST, InvalidArgument, "Another outgoing webhook listening here already sends one of these trigger words to one of these callback URLs."),
    OutgoingHookTeamMismatch = ("api.webhook.team_mismatch.app_error", BAD_REQUEST, InvalidArgument, "A hook cannot move to another team by an update."),

    // Slash commands.
    CommandFormat = ("api.command.execute_command.format.app_error", BAD_REQUEST, InvalidArgument, "Command must start with a slash and a trigger word."),
    CommandNotFound = ("api.command.execute_command.not_found.app_error", NOT_FOUND, NotFound, "Command not found."),
    CommandFailed = ("api.command.execute_command.failed.app_error", INTERNAL_SERVER_ERROR, Internal, "The command failed to answer."),
    CommandTriggerInvalid = ("model.command.is_valid.trigger.app_error", BAD_REQUEST, InvalidArgument, "A command trigger is one word without spaces."),
    CommandTriggerTaken = ("api.command.duplicate_trigger.app_error", BAD_REQUEST, AlreadyExists, "That command trigger is already registered."),
    CommandNotRegistered = ("api.command.unregister.not_found.app_error", NOT_FOUND, NotFound, "This plugin has no such command."),
    CommandsDisabled = ("api.command.disabled.app_error", NOT_IMPLEMENTED, Unimplemented, "Custom slash commands are disabled on this server (ServiceSettings.EnableCommands)."),
    CustomCommandNotFound = ("app.command.getcommand.app_error", NOT_FOUND, NotFound, "Unable to find the command."),
    CommandUrlInvalid = ("model.command.is_valid.url.app_error", BAD_REQUEST, InvalidArgument, "A custom command needs an http or https URL of at most 1024 characters."),
    CommandMethodInvalid = ("model.command.is_valid.method.app_error", BAD_REQUEST, InvalidArgument, "A command's method is P (POST) or G (GET)."),
    CommandDisplayNameInvalid = ("model.command.is_valid.display_name.app_error", BAD_REQUEST, InvalidArgument, "The command's display name is not valid."),
    CommandDescriptionInvalid = ("model.command.is_valid.description.app_error", BAD_REQUEST, InvalidArgument, "The command's description is not valid."),
    CommandAutocompleteInvalid = ("model.command.is_valid.autocomplete_data.app_error", BAD_REQUEST, InvalidArgument, "The command's autocomplete text is not valid."),
    CommandUsernameInvalid = ("model.command.is_valid.username.app_error", BAD_REQUEST, InvalidArgument, "The command's username is not valid."),
    CommandIconUrlInvalid = ("model.command.is_valid.icon_url.app_error", BAD_REQUEST, InvalidArgument, "The command's icon URL is not valid."),
    CommandTeamMismatch = ("api.command.team_mismatch.app_error", BAD_REQUEST, InvalidArgument, "A command cannot move to another team by an update."),
    CommandFailedResponse = ("api.command.execute_command.failed_resp.app_error", INTERNAL_SERVER_ERROR, Internal, "The command's integration answered with an error."),
    CommandPostForbidden = ("api.command.command_post.forbidden.app_error", FORBIDDEN, PermissionDenied, "The command answered into a channel the user cannot post in."),
    CommandWebhookParse = ("web.command_webhook.parse.app_error", BAD_REQUEST, InvalidArgument, "The delayed answer is not a command response."),
    CommandWebhookMissing = ("app.command_webhook.get.missing", NOT_FOUND, NotFound, "No such response URL, or it has expired (a command's response URL works for 30 minutes)."),
    CommandWebhookUsedUp = ("app.command_webhook.try_use.invalid", BAD_REQUEST, InvalidArgument, "This response URL has been used the most times it may be (5)."),
    CommandWebhookCommand = ("web.command_webhook.command.app_error", BAD_REQUEST, InvalidArgument, "The command this response URL belongs to no longer exists."),

    /// Mattermost uses the message itself as the id; Chorus gives it a stable one.
    LoginRejectedByPlugin = ("app.user.login.rejected_by_plugin.app_error", BAD_REQUEST, InvalidArgument, "Login rejected by plugin."),
    CustomStatusDisabled = ("api.custom_status.disabled", NOT_IMPLEMENTED, Unimplemented, "Custom statuses are disabled on this server (TeamSettings.EnableCustomUserStatuses)."),

    // Interactive messages and dialogs.
    PostActionIntegration = ("api.post.do_action.action_integration.app_error", BAD_REQUEST, InvalidArgument, "The integration behind this action could not be reached or did not answer usably."),
    PostActionNotFound = ("api.post.do_action.action_id.app_error", NOT_FOUND, NotFound, "This post has no such action."),
    TriggerIdNotBase64 = ("interactive_message.decode_trigger_id.base64_decode_failed", BAD_REQUEST, InvalidArgument, "The trigger id is not valid base64."),
    TriggerIdMissingData = ("interactive_message.decode_trigger_id.missing_data", BAD_REQUEST, InvalidArgument, "The trigger id is incomplete."),
    TriggerIdExpired = ("interactive_message.decode_trigger_id.expired", BAD_REQUEST, InvalidArgument, "The trigger id has expired: a dialog must be opened soon after the click or command that gave it."),
    TriggerIdSignatureNotBase64 = ("interactive_message.decode_trigger_id.base64_decode_failed_signature", BAD_REQUEST, InvalidArgument, "The trigger id's signature is not valid base64."),
    TriggerIdSignatureInvalid = ("interactive_message.decode_trigger_id.verify_signature_failed", BAD_REQUEST, InvalidArgument, "The trigger id was not issued by this server."),
    /// Chorus's own: Mattermost forwards any submission to any URL.
    DialogNotOpen = ("api.dialog.submit.not_open.app_error", FORBIDDEN, PermissionDenied, "No dialog with this callback id and URL is open for you; it may have expired."),

    // Configuration.
    ClientConfigFormat = ("api.config.client.old_format.app_error", NOT_IMPLEMENTED, Unimplemented, "Only format=old is supported for the client configuration."),
    ClientLicenseFormat = ("api.license.client.old_format.app_error", NOT_IMPLEMENTED, Unimplemented, "Only format=old is supported for the client licence."),
    ConfigRestricted = ("api.config.patch_config.restricted.app_error", BAD_REQUEST, InvalidArgument, "Only PluginSettings.Plugins can be changed at runtime."),

    // Plugins: administration, HTTP and their key-value store.
    PluginsDisabled = ("app.plugin.disabled.app_error", NOT_IMPLEMENTED, Unimplemented, "Plugins are disabled on this server (PluginSettings.Enable)."),
    PluginUploadsDisabled = ("app.plugin.upload_disabled.app_error", NOT_IMPLEMENTED, Unimplemented, "Plugin uploads are disabled on this server (PluginSettings.EnableUploads)."),
    PluginUploadsRefusedInCluster = ("app.plugin.cluster.upload_disabled.app_error", NOT_IMPLEMENTED, Unimplemented, "Plugin uploads are refused in this cluster."),
    PluginNotInstalled = ("app.plugin.not_installed.app_error", NOT_FOUND, NotFound, "The plugin is not installed."),
    PluginInstallId = ("app.plugin.install_id.app_error", BAD_REQUEST, InvalidArgument, "A plugin with that id is already installed."),
    PluginBundleTooLarge = ("app.plugin.bundle_too_large.app_error", PAYLOAD_TOO_LARGE, InvalidArgument, "The bundle is larger than PluginSettings.MaxBundleSizeBytes."),
    PluginExtract = ("app.plugin.extract.app_error", BAD_REQUEST, InvalidArgument, "The plugin bundle could not be unpacked."),
    PluginUploadMultipart = ("api.plugin.upload.multipart.app_error", BAD_REQUEST, InvalidArgument, "The upload must be multipart/form-data."),
    PluginUploadFile = ("api.plugin.upload.file.app_error", BAD_REQUEST, InvalidArgument, "The upload carries no plugin bundle."),
    PluginNotFound = ("app.plugin.not_found.app_error", NOT_FOUND, NotFound, "No plugin with that id is installed."),
    PluginNotRunning = ("app.plugin.not_running.app_error", SERVICE_UNAVAILABLE, Unavailable, "The plugin is installed but not running."),
    PluginNoHttp = ("app.plugin.no_http.app_error", NOT_FOUND, NotFound, "The plugin does not serve HTTP."),
    PluginHttpFailed = ("app.plugin.http_failed.app_error", BAD_GATEWAY, Unavailable, "The plugin failed to answer."),
    PluginHttpTimeout = ("app.plugin.http_timeout.app_error", GATEWAY_TIMEOUT, DeadlineExceeded, "The plugin did not answer in time."),
    PluginWebappFile = ("app.plugin.webapp_file.app_error", NOT_FOUND, NotFound, "No such plugin web file."),
    PluginConfigInvalid = ("app.plugin.config.invalid.app_error", BAD_REQUEST, InvalidArgument, "The plugin's configuration must be a JSON object."),
    KvKeyInvalid = ("model.plugin_key_value.is_valid.key.app_error", BAD_REQUEST, InvalidArgument, "The key is not valid."),
    KvValueTooLarge = ("model.plugin_key_value.is_valid.value.app_error", BAD_REQUEST, InvalidArgument, "The value is too large."),
    WebsocketEventInvalid = ("api.plugin.publish_websocket_event.app_error", BAD_REQUEST, InvalidArgument, "The websocket event is not valid."),

    // Websockets.
    WebsocketOrigin = ("api.web_socket.connect.upgrade.app_error", FORBIDDEN, PermissionDenied, "Websockets cannot be opened from this page's origin."),
    WebsocketTooManyUnauthenticated = ("api.web_socket.connect.too_many_unauthenticated.app_error", SERVICE_UNAVAILABLE, Unavailable, "Too many websockets are waiting to authenticate on this server; try again shortly."),
    WebsocketTooMany = ("api.web_socket.connect.too_many.app_error", TOO_MANY_REQUESTS, ResourceExhausted, "Too many websockets are open."),
    WebsocketBadAction = ("api.web_socket_router.bad_action.app_error", BAD_REQUEST, InvalidArgument, "Unknown websocket action."),
    WebsocketBadRequest = ("api.web_socket_router.bad_request.app_error", BAD_REQUEST, InvalidArgument, "The websocket message is not valid JSON of the form {\"seq\",\"action\",\"data\"}."),
    WebsocketNotAuthenticated = ("api.web_socket_router.not_authenticated.app_error", UNAUTHORIZED, Unauthenticated, "Send an authentication_challenge with a valid token first."),
}

#[cfg(test)]
mod tests {
    use super::Code;
    use std::collections::HashSet;

    #[test]
    fn every_id_names_one_code() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.id()), "{} is used twice", code.id());
            assert!(!code.message().is_empty());
            assert!(
                code.status().is_client_error() || code.status().is_server_error(),
                "{code:?}"
            );
        }
    }
}
