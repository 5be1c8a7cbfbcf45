//! The plugin's side of the process protocol: [`serve`] (cookie check, runtime, socket,
//! handshake line, shutdown on stdin EOF or SIGTERM) and the adapter that serves a
//! [`Plugin`] as the generated `Hooks` gRPC service.

use crate::api::{self, Api};
use crate::http::HttpRequest;
use crate::plugin::Plugin;
use crate::wire::{HookReply, HookRequest};
use chorus_plugin_protocol::v1::{self, hooks_server::Hooks, hooks_server::HooksServer};
use chorus_plugin_protocol::{
    Handshake, APP_PROTOCOL_VERSION, ENV_API_SOCKET, ENV_PROTOCOL_VERSIONS, ENV_SOCKET_DIR,
    HEALTH_SERVICE, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE,
};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status, Streaming};

/// What a plugin run by hand prints before exiting with status 1.
pub const NOT_STARTED_BY_SERVER: &str =
    "This binary is a Chorus plugin; it is started by the Chorus server, not by hand.";

/// How long in-flight calls may run on after the plugin was told to stop. The host
/// waits 2 s after SIGTERM before it kills the plugin, so this stays below that.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(1500);

/// Runs `plugin` as a Chorus plugin process and never returns; call it from `main`:
///
/// ```no_run
/// struct MyPlugin;
/// impl chorus_plugin::Plugin for MyPlugin {
///     fn implemented(&self) -> Vec<chorus_plugin::Hook> {
///         Vec::new()
///     }
/// }
///
/// fn main() {
///     chorus_plugin::serve(MyPlugin)
/// }
/// ```
///
/// - Without the magic cookie (`CHORUS_PLUGIN` set to the protocol's value) it prints
///   [`NOT_STARTED_BY_SERVER`] to standard error and exits with status 1; likewise if
///   `PLUGIN_PROTOCOL_VERSIONS` is set and does not include this protocol's version.
/// - It binds a Unix socket with a unique name in `$PLUGIN_UNIX_SOCKET_DIR` (else the
///   system temporary folder), serves the `Hooks` service and `grpc.health.v1` (with
///   service `"plugin"` SERVING) on it, and prints the handshake line
///   `1|1|unix|<socket path>|grpc` on standard output.
/// - [`Api`] calls go to `$CHORUS_PLUGIN_API_SOCKET`, connected on first use (a slow
///   server end does not delay the handshake); without it they fail with
///   [`crate::ApiError::Unavailable`].
/// - It stops when standard input reaches end of file (the server holds the other
///   end, so EOF means the server died), or on SIGTERM or SIGINT: it lets running
///   calls finish for up to 1.5 s, removes its socket and exits with status 0. It
///   exits with status 1 if it cannot start (socket, runtime).
///
/// Hooks run on a single-threaded tokio runtime. The server's benchmark is a
/// `MessageWillBePosted` round trip within 3× a raw Unix-socket ping-pong; with one
/// thread, the socket read, the hook and the reply happen on the thread that was
/// woken, without handing work to another thread (each cross-thread wake-up costs
/// microseconds, a sizeable share of a ~20 µs round trip). Hooks still run
/// concurrently, interleaved at `.await` points; a hook that needs CPU for long
/// should use `tokio::task::spawn_blocking` so that it does not hold up the others.
pub fn serve<P: Plugin>(plugin: P) -> ! {
    if std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        eprintln!("{NOT_STARTED_BY_SERVER}");
        std::process::exit(1);
    }
    if let Err(message) =
        check_protocol_versions(std::env::var(ENV_PROTOCOL_VERSIONS).ok().as_deref())
    {
        eprintln!("{message}");
        std::process::exit(1);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chorus plugin: could not start the tokio runtime: {error}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(run(plugin)) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("chorus plugin: {error}");
            1
        }
    };
    // Calls still running after the drain are abandoned rather than waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    std::process::exit(code)
}

/// The host lists the protocol versions it speaks (go-plugin's convention); a plugin
/// that speaks none of them must not start.
fn check_protocol_versions(versions: Option<&str>) -> Result<(), String> {
    let Some(versions) = versions.filter(|v| !v.trim().is_empty()) else {
        return Ok(());
    };
    let speaks = versions
        .split(',')
        .any(|v| v.trim().parse::<u32>() == Ok(APP_PROTOCOL_VERSION));
    if speaks {
        Ok(())
    } else {
        Err(format!(
            "the Chorus server speaks plugin protocol versions {versions}; this plugin speaks {APP_PROTOCOL_VERSION}"
        ))
    }
}

/// Removes the plugin's socket however `run` ends.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A socket path no other plugin process uses: pid, time and a counter.
pub(crate) fn unique_socket_path(dir: &Path, stem: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{stem}-{}-{nanos:x}-{n}.sock", std::process::id()))
}

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("could not listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not print the handshake line: {0}")]
    Handshake(std::io::Error),
    #[error("could not watch for SIGTERM: {0}")]
    Signal(std::io::Error),
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

async fn run<P: Plugin>(plugin: P) -> Result<(), ServeError> {
    let dir = std::env::var_os(ENV_SOCKET_DIR)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = unique_socket_path(&dir, "chorus-plugin");
    let listener = tokio::net::UnixListener::bind(&path).map_err(|source| ServeError::Bind {
        path: path.clone(),
        source,
    })?;
    let _socket_file = SocketFile(path.clone());

    let api = match std::env::var_os(ENV_API_SOCKET) {
        Some(socket) if !socket.is_empty() => Api::connect_lazy(socket),
        _ => Api::unconnected(),
    };
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status(HEALTH_SERVICE, tonic_health::ServingStatus::Serving)
        .await;

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(ServeError::Signal)?;
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(ServeError::Signal)?;
    let stdin_closed = watch_stdin();

    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(
        server_builder()
            .add_service(health_service)
            .add_service(hooks_server(plugin, api))
            .serve_with_incoming_shutdown(chorus_plugin_protocol::unix_incoming(listener), async {
                let _ = server_stopped.await;
            }),
    );

    // The listener is bound and served: connections the host makes now are accepted.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", Handshake::unix(&path).line()).map_err(ServeError::Handshake)?;
    stdout.flush().map_err(ServeError::Handshake)?;
    drop(stdout);

    tokio::select! {
        _ = stdin_closed => {}
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
        result = &mut server => {
            return match result {
                Ok(result) => result.map_err(ServeError::from),
                Err(join_error) => panic!("the gRPC server task failed: {join_error}"),
            };
        }
    }
    health_reporter
        .set_service_status(HEALTH_SERVICE, tonic_health::ServingStatus::NotServing)
        .await;
    let _ = stop_server.send(());
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, server).await;
    Ok(())
}

/// Resolves when standard input reaches end of file (or fails). A plain thread does
/// the blocking read, so that nothing in the runtime waits on it at exit.
fn watch_stdin() -> tokio::sync::oneshot::Receiver<()> {
    let (closed, receiver) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buffer = [0u8; 256];
            loop {
                match stdin.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            let _ = closed.send(());
        });
    if let Err(error) = spawned {
        // Without the watcher the plugin would outlive a dead host; refuse to run.
        eprintln!("chorus plugin: could not start the stdin watcher: {error}");
        std::process::exit(1);
    }
    receiver
}

/// The gRPC server settings of the plugin's socket (see [`api::endpoint`] for why).
pub(crate) fn server_builder() -> tonic::transport::Server {
    tonic::transport::Server::builder()
        .http2_adaptive_window(Some(false))
        .initial_stream_window_size(api::STREAM_WINDOW)
        .initial_connection_window_size(api::CONNECTION_WINDOW)
}

pub(crate) fn hooks_server<P: Plugin>(plugin: P, api: Api) -> HooksServer<HooksService<P>> {
    HooksServer::new(HooksService {
        plugin: Arc::new(plugin),
        api,
    })
}

/// Serves a [`Plugin`] as the generated `Hooks` service: converts the protocol's
/// messages into the SDK's types and back.
pub(crate) struct HooksService<P> {
    plugin: Arc<P>,
    api: Api,
}

/// The `Hooks` service's methods for the unary hooks of the hook table, each
/// unpacking its request ([`HookRequest`]), calling the `Plugin` method of the same
/// name and packing its result ([`HookReply`]); the tokens in brackets are the
/// service's other methods.
macro_rules! hooks_service {
    (@munch [$($done:tt)*]) => {
        #[tonic::async_trait]
        impl<P: Plugin> Hooks for HooksService<P> {
            $($done)*
        }
    };
    (@munch [$($done:tt)*] streaming $variant:ident = $name:literal, $rpc:ident: $kind:ident,
        $request:ident => $response:ident, ($($params:tt)*) -> $output:ty; $($rest:tt)*) => {
        hooks_service! { @munch [$($done)*] $($rest)* }
    };
    (@munch [$($done:tt)*] unary $variant:ident = $name:literal, $rpc:ident: $kind:ident,
        $request:ident => $response:ident,
        ($(&$ctx:ident,)? $($arg:ident: $ty:ty $(as $harness_ty:ty)?),*) -> $output:ty;
        $($rest:tt)*) => {
        hooks_service! { @munch [$($done)*
            async fn $rpc(
                &self,
                request: Request<v1::$request>,
            ) -> Result<Response<v1::$response>, Status> {
                let (_context, ($($arg,)*)) = HookRequest::into_args(request.into_inner());
                $(let $ctx = _context;)?
                let result = self.plugin.$rpc(&self.api, $(&$ctx,)? $($arg),*).await;
                <v1::$response as HookReply>::from_result(result).map(Response::new)
            }
        ] $($rest)* }
    };
    ([$($other:tt)*] $($table:tt)*) => {
        hooks_service! { @munch [$($other)*] $($table)* }
    };
}

chorus_plugin_protocol::for_each_hook! { hooks_service,
    async fn implemented(
        &self,
        _: Request<v1::Empty>,
    ) -> Result<Response<v1::ImplementedResponse>, Status> {
        Ok(Response::new(self.implemented_hooks()))
    }

    type ServeHTTPStream = HttpResponseStream;

    async fn serve_http(
        &self,
        request: Request<Streaming<v1::HttpRequestPart>>,
    ) -> Result<Response<HttpResponseStream>, Status> {
        self.serve_http_parts(request.into_inner()).await
    }
}

type HttpResponseStream =
    tokio_stream::Iter<std::vec::IntoIter<Result<v1::HttpResponsePart, Status>>>;

impl<P: Plugin> HooksService<P> {
    /// The names of the hooks the plugin lists, each once, in the order of the table.
    fn implemented_hooks(&self) -> v1::ImplementedResponse {
        let mut hooks = self.plugin.implemented();
        hooks.sort();
        hooks.dedup();
        let hooks = hooks
            .into_iter()
            .map(|hook| hook.name().to_string())
            .collect();
        v1::ImplementedResponse { hooks }
    }

    /// `ServeHTTP`: collects the request (head first, then body chunks), calls the
    /// plugin, and streams the response back in chunks.
    async fn serve_http_parts(
        &self,
        mut parts: Streaming<v1::HttpRequestPart>,
    ) -> Result<Response<HttpResponseStream>, Status> {
        let mut http_request: Option<HttpRequest> = None;
        while let Some(part) = parts.message().await? {
            if let (Some(head), None) = (part.head, &http_request) {
                http_request = Some(HttpRequest::from_head(head));
            }
            match http_request.as_mut() {
                Some(http_request) => http_request.body.extend_from_slice(&part.body),
                None => {
                    return Err(Status::invalid_argument(
                        "the first ServeHTTP message must carry the request head",
                    ))
                }
            }
        }
        let http_request = http_request
            .ok_or_else(|| Status::invalid_argument("ServeHTTP received no request"))?;
        let response = self.plugin.serve_http(&self.api, http_request).await;
        let parts: Vec<_> = response.into_parts().into_iter().map(Ok).collect();
        Ok(Response::new(tokio_stream::iter(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions_are_checked_when_given() {
        assert!(check_protocol_versions(None).is_ok());
        assert!(check_protocol_versions(Some("")).is_ok());
        assert!(check_protocol_versions(Some("1")).is_ok());
        assert!(check_protocol_versions(Some("2, 1")).is_ok());
        assert!(check_protocol_versions(Some("2,3"))
            .unwrap_err()
            .contains("2,3"));
    }

    #[test]
    fn socket_paths_are_unique() {
        let dir = Path::new("/tmp");
        assert_ne!(unique_socket_path(dir, "p"), unique_socket_path(dir, "p"));
    }
}
