//! [`Harness`]: a plugin served in-process with a [`TestServer`] as its API, and one
//! method per hook, generated from the hook table, to call it as the server would.

use super::{serve_on, SocketDir, TestServer};
use crate::api::Api;
use crate::http::{HttpRequest, HttpResponse};
use crate::plugin::{FileDecision, Hook, LoginDecision, Plugin, PostDecision};
use crate::server::{hooks_server, server_builder};
use crate::wire::{HarnessArg, HookReply, HookRequest};
use crate::{
    Channel, ChannelMember, ClusterEvent, CommandArgs, CommandResponse, Context, FileInfo, Post,
    Reaction, TeamMember, User,
};
use chorus_model::new_id;
use chorus_plugin_protocol::v1::{self, hooks_client::HooksClient};
use std::future::Future;
use std::sync::Arc;
use tonic::transport::Channel as GrpcChannel;
use tonic::{Response, Status};

/// Why a [`Harness`] hook call failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HarnessError {
    /// The plugin does not list the hook in [`Plugin::implemented`], so a real server
    /// would never call it.
    #[error("{0} is not in the plugin's implemented() list, so the server would never call it")]
    NotImplemented(Hook),
    /// The hook returned an error (or the call failed).
    #[error("the hook failed: {0}")]
    Failed(String),
}

impl From<Status> for HarnessError {
    fn from(status: Status) -> Self {
        HarnessError::Failed(status.message().to_string())
    }
}

/// A plugin served in-process on a Unix socket, with a [`TestServer`] as its API, and
/// one method per hook to call it as the server would (over gRPC, through the SDK's
/// conversions). Every call carries a [`Context`] with a fresh `request_id`, `node_id`
/// `"test-node"` and, as `user_id`, the user the event is about (the post's author,
/// the command's caller, the member, ...).
///
/// Calling a hook the plugin does not list in [`Plugin::implemented`] fails with
/// [`HarnessError::NotImplemented`], as the real server would never call it.
pub struct Harness<P> {
    server: TestServer,
    hooks: HooksClient<GrpcChannel>,
    implemented: Vec<Hook>,
    plugin: std::marker::PhantomData<fn() -> P>,
    task: tokio::task::JoinHandle<()>,
}

impl<P: Plugin> Harness<P> {
    /// Serves `plugin` and a fresh [`TestServer`]. Call it inside a tokio runtime;
    /// everything stops when the harness is dropped. Does not call `OnActivate`: call
    /// [`Harness::on_activate`] when your test wants it.
    pub async fn start(plugin: P) -> Harness<P> {
        let dir = Arc::new(
            SocketDir::create().expect("could not create a temporary folder for the test sockets"),
        );
        let server = TestServer::start_in(dir.clone()).await;
        let implemented = plugin.implemented();
        let socket = dir.0.join("hooks.sock");
        let router = server_builder().add_service(hooks_server(plugin, server.api().clone()));
        let task = serve_on(&socket, router, "hooks");
        let channel = chorus_plugin_protocol::connect_unix(&socket)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "could not connect to the plugin at {}: {e}",
                    socket.display()
                )
            });
        Harness {
            server,
            hooks: HooksClient::new(channel),
            implemented,
            plugin: std::marker::PhantomData,
            task,
        }
    }

    /// The test server: register users and channels, inspect what the plugin did.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// An [`Api`] connected to the test server, as the plugin has.
    pub fn api(&self) -> &Api {
        self.server.api()
    }

    /// A raw gRPC client of the plugin's `Hooks` service, for what the typed methods
    /// do not cover.
    pub fn hooks_client(&self) -> HooksClient<GrpcChannel> {
        self.hooks.clone()
    }

    fn check(&self, hook: Hook) -> Result<HooksClient<GrpcChannel>, HarnessError> {
        if self.implemented.contains(&hook) {
            Ok(self.hooks.clone())
        } else {
            Err(HarnessError::NotImplemented(hook))
        }
    }

    /// Calls a unary hook as the server would: `args` packed into its request with a
    /// context naming the user who acted, the answer unpacked.
    async fn call<R, A, F, Fut>(
        &self,
        hook: Hook,
        args: R::Args,
        send: F,
    ) -> Result<A::Output, HarnessError>
    where
        R: HookRequest,
        A: HookReply,
        F: FnOnce(HooksClient<GrpcChannel>, R) -> Fut,
        Fut: Future<Output = Result<Response<A>, Status>>,
    {
        let hooks = self.check(hook)?;
        let context = Context {
            request_id: new_id(),
            user_id: R::acting_user(&args).to_string(),
            session_id: String::new(),
            node_id: "test-node".into(),
        };
        let reply = send(hooks, R::from_args(context, args)).await?;
        reply
            .into_inner()
            .into_output()
            .map_err(HarnessError::Failed)
    }

    /// The hook names the plugin reports through the `Implemented` RPC.
    pub async fn implemented(&self) -> Result<Vec<String>, HarnessError> {
        Ok(self
            .hooks
            .clone()
            .implemented(v1::Empty {})
            .await?
            .into_inner()
            .hooks)
    }

    /// Sends an HTTP request through `ServeHTTP` (streamed in chunks, as the server
    /// does) and collects the streamed response.
    pub async fn serve_http(&self, request: HttpRequest) -> Result<HttpResponse, HarnessError> {
        let mut hooks = self.check(Hook::ServeHttp)?;
        let parts = tokio_stream::iter(request.into_parts());
        let mut stream = hooks.serve_http(parts).await?.into_inner();
        let mut received = Vec::new();
        while let Some(part) = stream.message().await? {
            received.push(part);
        }
        HttpResponse::from_parts(received).ok_or_else(|| {
            HarnessError::Failed("ServeHTTP answered without a response head".into())
        })
    }
}

/// A harness type of a hook parameter: the one after `as` in the hook table, else the
/// `Plugin` method's own.
macro_rules! harness_type {
    ($harness:ty; $own:ty) => {
        $harness
    };
    (; $own:ty) => {
        $own
    };
}

/// One method per unary hook of the hook table, calling it through [`Harness::call`].
/// (`ServeHTTP`, the streaming hook, is [`Harness::serve_http`].)
macro_rules! harness_calls {
    (@munch [$($done:tt)*]) => {
        impl<P: Plugin> Harness<P> {
            $($done)*
        }
    };
    (@munch [$($done:tt)*] streaming $variant:ident = $name:literal, $rpc:ident: $kind:ident,
        $request:ident => $response:ident, ($($params:tt)*) -> $output:ty; $($rest:tt)*) => {
        harness_calls! { @munch [$($done)*] $($rest)* }
    };
    (@munch [$($done:tt)*] unary $variant:ident = $name:literal, $rpc:ident: $kind:ident,
        $request:ident => $response:ident,
        ($(&$ctx:ident,)? $($arg:ident: $ty:ty $(as $harness_ty:ty)?),*) -> $output:ty;
        $($rest:tt)*) => {
        harness_calls! { @munch [$($done)*
            #[doc = concat!("Calls `", $name, "` as the server would (see [`Harness`]).")]
            pub async fn $rpc(
                &self,
                $($arg: harness_type!($($harness_ty)?; $ty)),*
            ) -> Result<$output, HarnessError> {
                let args = ($(<_ as HarnessArg<$ty>>::into_arg($arg),)*);
                self.call::<v1::$request, v1::$response, _, _>(
                    Hook::$variant,
                    args,
                    |mut hooks, request| async move { hooks.$rpc(request).await },
                )
                .await
            }
        ] $($rest)* }
    };
    ([] $($table:tt)*) => {
        harness_calls! { @munch [] $($table)* }
    };
}

chorus_plugin_protocol::for_each_hook!(harness_calls);

impl<P> Drop for Harness<P> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<P> std::fmt::Debug for Harness<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("server", &self.server)
            .field("implemented", &self.implemented)
            .finish()
    }
}
