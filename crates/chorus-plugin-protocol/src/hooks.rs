//! The hook table: every hook of `hooks.proto` listed once, in [`for_each_hook!`], and
//! the [`Hook`] names generated from it.
//!
//! The table drives everything that must name each hook: [`Hook`] (the names the
//! plugin reports in `Implemented` and the host checks, and each hook's [`HookKind`]),
//! the SDK's dispatch of the `Hooks` service to its `Plugin` trait, and the SDK test
//! harness's typed hook calls. The host names hooks with [`Hook`] too. Adding a hook
//! therefore touches the proto file, this table and the SDK's `Plugin` trait method
//! (see "Adding a hook" in `docs/plugin-protocol.md`).

/// Calls the macro `$callback` with the hook table, and with `[$($extra)*]` first.
///
/// Each entry of the table, in the order of `hooks.proto`, reads
///
/// ```text
/// unary Variant = "RpcName", rpc_method: Kind, RequestMessage => ResponseMessage,
///     (&ctx, param: ParamType as HarnessType, …) -> Output;
/// ```
///
/// - `unary` or `streaming`: a streaming hook needs code of its own on each side
///   (`ServeHTTP` is the only one); the generated SDK code covers the unary ones.
/// - `Variant` is the [`Hook`] variant, `"RpcName"` the RPC of `hooks.proto` (the name
///   `Implemented` reports), `rpc_method` the generated client and server method and
///   the SDK's `Plugin` method, `Kind` a [`HookKind`] variant.
/// - `RequestMessage` and `ResponseMessage` are the messages of `v1`.
/// - The parenthesis is the `Plugin` method's parameters after the `&Api`: `&ctx,`
///   when it receives the hook's `&Context`, then each parameter with its type, and
///   `as T` where the test harness takes the parameter as `T` instead. `Output` is
///   what the method returns on success. These types are the SDK's names: they are
///   resolved where the callback expands, and the host ignores them.
#[macro_export]
macro_rules! for_each_hook {
    ($callback:ident $(, $($extra:tt)*)?) => {
        $callback! {
            [$($($extra)*)?]
            unary OnActivate = "OnActivate", on_activate: Lifecycle,
                Empty => HookResult, () -> ();
            unary OnDeactivate = "OnDeactivate", on_deactivate: Lifecycle,
                Empty => HookResult, () -> ();
            unary OnConfigurationChange = "OnConfigurationChange", on_configuration_change: Lifecycle,
                Empty => HookResult, () -> ();
            unary MessageWillBePosted = "MessageWillBePosted", message_will_be_posted: Synchronous,
                MessageWillBePostedRequest => MessageWillBePostedResponse,
                (&ctx, post: Post) -> PostDecision;
            unary MessageWillBeUpdated = "MessageWillBeUpdated", message_will_be_updated: Synchronous,
                MessageWillBeUpdatedRequest => MessageWillBePostedResponse,
                (&ctx, new_post: Post, old_post: Post) -> PostDecision;
            unary MessageHasBeenPosted = "MessageHasBeenPosted", message_has_been_posted: Notification,
                PostEvent => Empty, (&ctx, post: Post) -> ();
            unary MessageHasBeenUpdated = "MessageHasBeenUpdated", message_has_been_updated: Notification,
                PostUpdatedEvent => Empty, (&ctx, new_post: Post, old_post: Post) -> ();
            unary MessageHasBeenDeleted = "MessageHasBeenDeleted", message_has_been_deleted: Notification,
                PostEvent => Empty, (&ctx, post: Post) -> ();
            unary ReactionHasBeenAdded = "ReactionHasBeenAdded", reaction_has_been_added: Notification,
                ReactionEvent => Empty, (&ctx, reaction: Reaction) -> ();
            unary ReactionHasBeenRemoved = "ReactionHasBeenRemoved", reaction_has_been_removed: Notification,
                ReactionEvent => Empty, (&ctx, reaction: Reaction) -> ();
            unary FileWillBeUploaded = "FileWillBeUploaded", file_will_be_uploaded: Synchronous,
                FileWillBeUploadedRequest => FileWillBeUploadedResponse,
                (&ctx, info: FileInfo) -> FileDecision;
            unary ChannelHasBeenCreated = "ChannelHasBeenCreated", channel_has_been_created: Notification,
                ChannelEvent => Empty, (&ctx, channel: Channel) -> ();
            unary UserHasBeenCreated = "UserHasBeenCreated", user_has_been_created: Notification,
                UserEvent => Empty, (&ctx, user: User) -> ();
            unary UserHasJoinedChannel = "UserHasJoinedChannel", user_has_joined_channel: Notification,
                ChannelMemberEvent => Empty,
                (&ctx, member: ChannelMember, actor_id: Option<String> as Option<&str>) -> ();
            unary UserHasLeftChannel = "UserHasLeftChannel", user_has_left_channel: Notification,
                ChannelMemberEvent => Empty,
                (&ctx, member: ChannelMember, actor_id: Option<String> as Option<&str>) -> ();
            unary OnInstall = "OnInstall", on_install: Notification,
                InstallEvent => Empty, (&ctx, user_id: String as &str) -> ();
            unary UserHasJoinedTeam = "UserHasJoinedTeam", user_has_joined_team: Notification,
                TeamMemberEvent => Empty,
                (&ctx, member: TeamMember, actor_id: Option<String> as Option<&str>) -> ();
            unary UserHasLeftTeam = "UserHasLeftTeam", user_has_left_team: Notification,
                TeamMemberEvent => Empty,
                (&ctx, member: TeamMember, actor_id: Option<String> as Option<&str>) -> ();
            unary UserHasLoggedIn = "UserHasLoggedIn", user_has_logged_in: Notification,
                UserEvent => Empty, (&ctx, user: User) -> ();
            unary UserWillLogIn = "UserWillLogIn", user_will_log_in: Synchronous,
                UserEvent => UserWillLogInResponse, (&ctx, user: User) -> LoginDecision;
            unary OnWebSocketConnect = "OnWebSocketConnect", on_web_socket_connect: Notification,
                WebSocketConnection => Empty,
                (connection_id: String as &str, user_id: String as &str) -> ();
            unary OnWebSocketDisconnect = "OnWebSocketDisconnect", on_web_socket_disconnect: Notification,
                WebSocketConnection => Empty,
                (connection_id: String as &str, user_id: String as &str) -> ();
            unary ExecuteCommand = "ExecuteCommand", execute_command: Synchronous,
                ExecuteCommandRequest => CommandResponse,
                (&ctx, args: CommandArgs) -> CommandResponse;
            streaming ServeHttp = "ServeHTTP", serve_http: Synchronous,
                HttpRequestPart => HttpResponsePart, (request: HttpRequest) -> HttpResponse;
            unary OnPluginClusterEvent = "OnPluginClusterEvent", on_plugin_cluster_event: Notification,
                PluginClusterEvent => Empty, (event: ClusterEvent) -> ();
        }
    };
}

/// How the host calls a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookKind {
    /// The plugin's own life: started, stopped, reconfigured (`OnActivate`,
    /// `OnDeactivate`, `OnConfigurationChange`); the answer says whether it worked.
    Lifecycle,
    /// On the path of a request, under the host's deadline; its answer counts (it may
    /// replace or reject a post, answer a command or an HTTP request).
    Synchronous,
    /// Told after the fact (`...Has...`, cluster events), in the background; its
    /// answer is only logged.
    Notification,
}

macro_rules! define_hooks {
    ([] $(
        $shape:ident $variant:ident = $name:literal, $rpc:ident: $kind:ident, $request:ident => $response:ident,
            ($($params:tt)*) -> $output:ty;
    )*) => {
        /// The hooks of the protocol, in the order of `hooks.proto`, named in
        /// [`Hook::name`] as its RPCs are.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Hook {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        const HOOK_COUNT: usize = [$($name),*].len();

        impl Hook {
            /// Every hook, in the order of `hooks.proto`.
            pub const ALL: [Hook; HOOK_COUNT] = [$(Hook::$variant),*];

            /// The name the protocol uses in `Implemented`: the RPC name of `hooks.proto`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Hook::$variant => $name,)*
                }
            }

            /// How the host calls this hook.
            pub const fn kind(self) -> HookKind {
                match self {
                    $(Hook::$variant => HookKind::$kind,)*
                }
            }
        }
    };
}

for_each_hook!(define_hooks);

impl Hook {
    /// The hook with this protocol name.
    pub fn from_name(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|hook| hook.name() == name)
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_names_match_the_proto() {
        assert_eq!(Hook::ServeHttp.name(), "ServeHTTP");
        for hook in Hook::ALL {
            assert_eq!(Hook::from_name(hook.name()), Some(hook));
        }
        assert_eq!(Hook::from_name("Nope"), None);
    }

    #[test]
    fn every_rpc_of_hooks_proto_is_a_hook_in_order() {
        let proto = include_str!("../proto/chorus/plugin/v1/hooks.proto");
        let rpcs: Vec<&str> = proto
            .lines()
            .filter_map(|line| line.trim().strip_prefix("rpc "))
            .filter_map(|rest| rest.split('(').next())
            .filter(|name| *name != "Implemented")
            .collect();
        let names: Vec<&str> = Hook::ALL.iter().map(|hook| hook.name()).collect();
        assert_eq!(rpcs, names);
    }

    #[test]
    fn kinds_follow_the_proto_comment() {
        let synchronous: Vec<Hook> = Hook::ALL
            .into_iter()
            .filter(|hook| hook.kind() == HookKind::Synchronous)
            .collect();
        assert_eq!(
            synchronous,
            [
                Hook::MessageWillBePosted,
                Hook::MessageWillBeUpdated,
                Hook::FileWillBeUploaded,
                Hook::UserWillLogIn,
                Hook::ExecuteCommand,
                Hook::ServeHttp
            ]
        );
        assert!(Hook::ALL
            .iter()
            .filter(|hook| hook.name().contains("Has"))
            .all(|hook| hook.kind() == HookKind::Notification));
    }
}
