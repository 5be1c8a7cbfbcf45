//! The hook messages of the protocol as the [`Plugin`](crate::Plugin) trait's
//! arguments and results, both ways. [`HookRequest`] unpacks a request into the
//! arguments (the dispatch of `server.rs`) and packs arguments into a request (the test
//! harness); [`HookReply`] does the same for answers. Which message each hook uses is
//! the hook table's business (`chorus_plugin_protocol::for_each_hook!`); the model types
//! inside the messages convert with `chorus_plugin_protocol::convert`.

use crate::plugin::{FileDecision, HookError, LoginDecision, PostDecision};
use crate::{
    Channel, ChannelMember, ClusterEvent, CommandArgs, CommandResponse, Context, FileInfo, Post,
    Reaction, TeamMember, User,
};
use chorus_plugin_protocol::v1;
use tonic::Status;

/// A hook's request message and the `Plugin` method's arguments after `&Api` and
/// `&Context`, as a tuple.
pub(crate) trait HookRequest: Sized {
    type Args;
    /// The hook's context (empty for hooks without one) and arguments.
    fn into_args(self) -> (Context, Self::Args);
    fn from_args(context: Context, args: Self::Args) -> Self;
    /// Who caused the event, as the test harness names in the context it sends.
    fn acting_user(args: &Self::Args) -> &str;
}

/// A hook's answer message and what the `Plugin` method returns on success.
pub(crate) trait HookReply: Sized {
    type Output;
    /// The plugin's result as the answer on the wire.
    fn from_result(result: Result<Self::Output, HookError>) -> Result<Self, Status>;
    /// The answer as the plugin's result; `Err` carries the failure the hook reported.
    fn into_output(self) -> Result<Self::Output, String>;
}

/// How the test harness takes a hook parameter: as the trait's own type, or (`as T` in
/// the hook table) as a handier one.
pub(crate) trait HarnessArg<T> {
    fn into_arg(self) -> T;
}

impl<T> HarnessArg<T> for T {
    fn into_arg(self) -> T {
        self
    }
}

impl HarnessArg<String> for &str {
    fn into_arg(self) -> String {
        self.to_string()
    }
}

impl HarnessArg<Option<String>> for Option<&str> {
    fn into_arg(self) -> Option<String> {
        self.map(str::to_string)
    }
}

fn context(context: Option<v1::Context>) -> Context {
    context.map(Context::from).unwrap_or_default()
}

fn actor(actor_id: String) -> Option<String> {
    Some(actor_id).filter(|id| !id.is_empty())
}

/// Requests of a context and model values, the user who acted being one field of the
/// first value.
macro_rules! context_and_values {
    ($($message:ident { $($field:ident: $ty:ty),* } acting $acting:ident;)*) => {$(
        impl HookRequest for v1::$message {
            type Args = ($($ty,)*);

            fn into_args(self) -> (Context, Self::Args) {
                let values = ($(self.$field.map(Into::into).unwrap_or_default(),)*);
                (context(self.context), values)
            }

            fn from_args(context: Context, ($($field,)*): Self::Args) -> Self {
                v1::$message {
                    context: Some(context.into()),
                    $($field: Some($field.into()),)*
                }
            }

            fn acting_user(args: &Self::Args) -> &str {
                &args.0.$acting
            }
        }
    )*};
}

context_and_values! {
    MessageWillBePostedRequest { post: Post } acting user_id;
    MessageWillBeUpdatedRequest { new_post: Post, old_post: Post } acting user_id;
    PostEvent { post: Post } acting user_id;
    ReactionEvent { reaction: Reaction } acting user_id;
    PostUpdatedEvent { new_post: Post, old_post: Post } acting user_id;
    ChannelEvent { channel: Channel } acting creator_id;
    UserEvent { user: User } acting id;
    FileWillBeUploadedRequest { info: FileInfo } acting user_id;
}

/// The lifecycle hooks: no context, no arguments.
impl HookRequest for v1::Empty {
    type Args = ();

    fn into_args(self) -> (Context, ()) {
        (Context::default(), ())
    }

    fn from_args(_: Context, (): ()) -> Self {
        v1::Empty {}
    }

    fn acting_user(_: &()) -> &str {
        ""
    }
}

impl HookRequest for v1::ChannelMemberEvent {
    type Args = (ChannelMember, Option<String>);

    fn into_args(self) -> (Context, Self::Args) {
        let member = self.member.map(Into::into).unwrap_or_default();
        (context(self.context), (member, actor(self.actor_id)))
    }

    fn from_args(context: Context, (member, actor_id): Self::Args) -> Self {
        v1::ChannelMemberEvent {
            context: Some(context.into()),
            member: Some(member.into()),
            actor_id: actor_id.unwrap_or_default(),
        }
    }

    fn acting_user((member, actor_id): &Self::Args) -> &str {
        actor_id.as_deref().unwrap_or(&member.user_id)
    }
}

impl HookRequest for v1::TeamMemberEvent {
    type Args = (TeamMember, Option<String>);

    fn into_args(self) -> (Context, Self::Args) {
        let member = TeamMember::from(&self);
        (context(self.context), (member, actor(self.actor_id)))
    }

    fn from_args(context: Context, (member, actor_id): Self::Args) -> Self {
        v1::TeamMemberEvent {
            context: Some(context.into()),
            team_id: member.team_id,
            user_id: member.user_id,
            actor_id: actor_id.unwrap_or_default(),
        }
    }

    fn acting_user((member, actor_id): &Self::Args) -> &str {
        actor_id.as_deref().unwrap_or(&member.user_id)
    }
}

impl HookRequest for v1::InstallEvent {
    type Args = (String,);

    fn into_args(self) -> (Context, Self::Args) {
        (context(self.context), (self.user_id,))
    }

    fn from_args(context: Context, (user_id,): Self::Args) -> Self {
        v1::InstallEvent {
            context: Some(context.into()),
            user_id,
        }
    }

    fn acting_user((user_id,): &Self::Args) -> &str {
        user_id
    }
}

impl HookRequest for v1::ExecuteCommandRequest {
    type Args = (CommandArgs,);

    fn into_args(self) -> (Context, Self::Args) {
        let args = self.args.map(Into::into).unwrap_or_default();
        (context(self.context), (args,))
    }

    /// An empty `trigger` is filled from the command line, as the server would.
    fn from_args(context: Context, (mut args,): Self::Args) -> Self {
        if args.trigger.is_empty() {
            let first = args.command.split_whitespace().next().unwrap_or_default();
            args.trigger = first.trim_start_matches('/').to_string();
        }
        v1::ExecuteCommandRequest {
            context: Some(context.into()),
            args: Some(args.into()),
        }
    }

    fn acting_user((args,): &Self::Args) -> &str {
        &args.user_id
    }
}

/// Websocket connections carry no context: the user is the connection's.
impl HookRequest for v1::WebSocketConnection {
    type Args = (String, String);

    fn into_args(self) -> (Context, Self::Args) {
        (Context::default(), (self.connection_id, self.user_id))
    }

    fn from_args(_: Context, (connection_id, user_id): Self::Args) -> Self {
        v1::WebSocketConnection {
            connection_id,
            user_id,
        }
    }

    fn acting_user((_, user_id): &Self::Args) -> &str {
        user_id
    }
}

impl HookReply for v1::UserWillLogInResponse {
    type Output = LoginDecision;

    fn from_result(result: Result<LoginDecision, HookError>) -> Result<Self, Status> {
        Ok(match result.map_err(failed)? {
            LoginDecision::Allow => v1::UserWillLogInResponse::default(),
            // An empty reason would read as "let them in".
            LoginDecision::Reject(reason) if reason.is_empty() => v1::UserWillLogInResponse {
                rejection_reason: "rejected by a plugin".into(),
            },
            LoginDecision::Reject(reason) => v1::UserWillLogInResponse {
                rejection_reason: reason,
            },
        })
    }

    fn into_output(self) -> Result<LoginDecision, String> {
        Ok(match self.rejection_reason {
            reason if reason.is_empty() => LoginDecision::Allow,
            reason => LoginDecision::Reject(reason),
        })
    }
}

/// Cluster events carry no context: they come from another copy of the plugin.
impl HookRequest for v1::PluginClusterEvent {
    type Args = (ClusterEvent,);

    fn into_args(self) -> (Context, Self::Args) {
        (Context::default(), (self.into(),))
    }

    fn from_args(_: Context, (event,): Self::Args) -> Self {
        event.into()
    }

    fn acting_user(_: &Self::Args) -> &str {
        ""
    }
}

/// Lifecycle hooks report failure in the answer (`OnActivate`'s is why the plugin does
/// not start), not as a gRPC error.
impl HookReply for v1::HookResult {
    type Output = ();

    fn from_result(result: Result<(), HookError>) -> Result<Self, Status> {
        Ok(v1::HookResult {
            error: result.err().map(|e| e.to_string()).unwrap_or_default(),
        })
    }

    fn into_output(self) -> Result<(), String> {
        match self.error {
            error if error.is_empty() => Ok(()),
            error => Err(error),
        }
    }
}

fn failed(error: HookError) -> Status {
    Status::internal(error.to_string())
}

impl HookReply for v1::Empty {
    type Output = ();

    fn from_result(result: Result<(), HookError>) -> Result<Self, Status> {
        result.map(|()| v1::Empty {}).map_err(failed)
    }

    fn into_output(self) -> Result<(), String> {
        Ok(())
    }
}

impl HookReply for v1::MessageWillBePostedResponse {
    type Output = PostDecision;

    fn from_result(result: Result<PostDecision, HookError>) -> Result<Self, Status> {
        Ok(match result.map_err(failed)? {
            PostDecision::Accept => v1::MessageWillBePostedResponse::default(),
            PostDecision::Replace(post) => v1::MessageWillBePostedResponse {
                post: Some(post.into()),
                ..Default::default()
            },
            // An empty reason would read as "let it through"; a rejection must say something.
            PostDecision::Reject(reason) if reason.is_empty() => v1::MessageWillBePostedResponse {
                rejection_reason: "rejected by a plugin".into(),
                ..Default::default()
            },
            PostDecision::Reject(reason) => v1::MessageWillBePostedResponse {
                rejection_reason: reason,
                ..Default::default()
            },
        })
    }

    fn into_output(self) -> Result<PostDecision, String> {
        Ok(match (self.post, self.rejection_reason) {
            (_, reason) if !reason.is_empty() => PostDecision::Reject(reason),
            (Some(post), _) => PostDecision::Replace(post.into()),
            (None, _) => PostDecision::Accept,
        })
    }
}

impl HookReply for v1::FileWillBeUploadedResponse {
    type Output = FileDecision;

    fn from_result(result: Result<FileDecision, HookError>) -> Result<Self, Status> {
        Ok(match result.map_err(failed)? {
            FileDecision::Accept => v1::FileWillBeUploadedResponse::default(),
            FileDecision::Rename(name) => v1::FileWillBeUploadedResponse {
                info: Some(v1::FileInfo {
                    name,
                    ..Default::default()
                }),
                ..Default::default()
            },
            FileDecision::Reject(reason) if reason.is_empty() => v1::FileWillBeUploadedResponse {
                rejection_reason: "rejected by a plugin".into(),
                ..Default::default()
            },
            FileDecision::Reject(reason) => v1::FileWillBeUploadedResponse {
                rejection_reason: reason,
                ..Default::default()
            },
        })
    }

    fn into_output(self) -> Result<FileDecision, String> {
        Ok(match (self.info, self.rejection_reason) {
            (_, reason) if !reason.is_empty() => FileDecision::Reject(reason),
            (Some(info), _) if !info.name.is_empty() => FileDecision::Rename(info.name),
            _ => FileDecision::Accept,
        })
    }
}

impl HookReply for v1::CommandResponse {
    type Output = CommandResponse;

    fn from_result(result: Result<CommandResponse, HookError>) -> Result<Self, Status> {
        result.map(Into::into).map_err(failed)
    }

    fn into_output(self) -> Result<CommandResponse, String> {
        Ok(self.into())
    }
}
