//! The Chorus plugin protocol: the generated gRPC code of `proto/chorus/plugin/v1`
//! (the proto files are the spec), the go-plugin-style handshake between host and
//! plugin, and Unix-socket transport helpers shared by the host and the SDK.
//!
//! Handshake: the host starts the plugin executable with [`MAGIC_COOKIE_KEY`] set to
//! [`MAGIC_COOKIE_VALUE`], [`ENV_API_SOCKET`] naming the socket where the host serves
//! this plugin's API, [`ENV_PLUGIN_ID`] and [`ENV_SOCKET_DIR`]. The plugin binds its own
//! Unix socket, serves the `Hooks` service and `grpc.health.v1` (service `"plugin"`) on
//! it, and prints one line `1|1|unix|<socket path>|grpc` on stdout. The plugin exits
//! when its standard input reaches end of file, which happens when the host dies.

pub mod v1 {
    tonic::include_proto!("chorus.plugin.v1");
}

pub mod convert;
pub mod hooks;
pub mod kv;

use std::path::Path;

/// Environment variable carrying the magic cookie, so that a plugin run by hand knows
/// it was not started by a host.
pub const MAGIC_COOKIE_KEY: &str = "CHORUS_PLUGIN";
pub const MAGIC_COOKIE_VALUE: &str = "d1a6c9e3f0b84c27a5e1chorus";
/// go-plugin's core protocol version (the first handshake field).
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The version of this protocol (the second handshake field).
pub const APP_PROTOCOL_VERSION: u32 = 1;
/// Protocol versions the host supports, comma-separated, as go-plugin passes them.
pub const ENV_PROTOCOL_VERSIONS: &str = "PLUGIN_PROTOCOL_VERSIONS";
/// Where the host serves the plugin API to this plugin.
pub const ENV_API_SOCKET: &str = "CHORUS_PLUGIN_API_SOCKET";
pub const ENV_PLUGIN_ID: &str = "CHORUS_PLUGIN_ID";
/// Where the plugin should create its own socket.
pub const ENV_SOCKET_DIR: &str = "PLUGIN_UNIX_SOCKET_DIR";
/// The name under which a healthy plugin reports SERVING.
pub const HEALTH_SERVICE: &str = "plugin";

/// The line a plugin prints once it serves: `CORE|APP|NETWORK|ADDRESS|PROTOCOL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub core_version: u32,
    pub app_version: u32,
    pub network: String,
    pub address: String,
    pub protocol: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandshakeError {
    #[error(
        "the plugin printed {0:?} instead of a handshake line CORE|APP|NETWORK|ADDRESS|PROTOCOL"
    )]
    Malformed(String),
    #[error("the plugin speaks core protocol {0}, the host speaks {CORE_PROTOCOL_VERSION}")]
    CoreVersion(u32),
    #[error("the plugin speaks plugin protocol {0}, the host speaks {APP_PROTOCOL_VERSION}")]
    AppVersion(u32),
    #[error("the plugin serves over {0:?}; only \"unix\" is supported")]
    Network(String),
    #[error("the plugin speaks {0:?}; only \"grpc\" is supported")]
    Protocol(String),
}

impl Handshake {
    pub fn unix(socket: &Path) -> Handshake {
        Handshake {
            core_version: CORE_PROTOCOL_VERSION,
            app_version: APP_PROTOCOL_VERSION,
            network: "unix".into(),
            address: socket.display().to_string(),
            protocol: "grpc".into(),
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.core_version, self.app_version, self.network, self.address, self.protocol
        )
    }

    /// Parses and checks a handshake line (a sixth certificate field is ignored).
    pub fn parse(line: &str) -> Result<Handshake, HandshakeError> {
        let line = line.trim();
        let fields: Vec<&str> = line.split('|').collect();
        if fields.len() < 5 || fields.len() > 6 {
            return Err(HandshakeError::Malformed(line.chars().take(200).collect()));
        }
        let number = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| HandshakeError::Malformed(line.into()))
        };
        let handshake = Handshake {
            core_version: number(fields[0])?,
            app_version: number(fields[1])?,
            network: fields[2].to_string(),
            address: fields[3].to_string(),
            protocol: fields[4].to_string(),
        };
        if handshake.core_version != CORE_PROTOCOL_VERSION {
            return Err(HandshakeError::CoreVersion(handshake.core_version));
        }
        if handshake.app_version != APP_PROTOCOL_VERSION {
            return Err(HandshakeError::AppVersion(handshake.app_version));
        }
        if handshake.network != "unix" {
            return Err(HandshakeError::Network(handshake.network));
        }
        if handshake.protocol != "grpc" {
            return Err(HandshakeError::Protocol(handshake.protocol));
        }
        if handshake.address.is_empty() {
            return Err(HandshakeError::Malformed(line.into()));
        }
        Ok(handshake)
    }
}

/// A gRPC channel to a Unix socket. The URI is a placeholder tonic requires; the
/// connector ignores it.
pub async fn connect_unix(
    path: impl AsRef<Path>,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    let path = path.as_ref().to_path_buf();
    tonic::transport::Endpoint::from_static("http://plugin.invalid")
        .connect_with_connector(tower::service_fn(move |_| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
}

/// A gRPC client transport over one HTTP/2 connection on a Unix socket, without
/// tonic's `Channel` (whose request buffer adds a task hand-off to every call): calls go
/// straight to hyper's connection. Use it with a generated client's `with_origin`
/// (see [`connect_unix_direct`]). Cheap to clone; clones share the connection.
#[derive(Clone, Debug)]
pub struct UnixConnection {
    sender: hyper::client::conn::http2::SendRequest<tonic::body::Body>,
}

/// The origin to give generated clients over a [`UnixConnection`]: HTTP/2 requests
/// need a scheme and authority, which a Unix socket does not have.
pub const UNIX_ORIGIN: &str = "http://plugin.invalid";

type ResponseFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<http::Response<hyper::body::Incoming>, hyper::Error>,
            > + Send,
    >,
>;

impl tower::Service<http::Request<tonic::body::Body>> for UnixConnection {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = ResponseFuture;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), hyper::Error>> {
        self.sender.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.sender.send_request(request))
    }
}

impl UnixConnection {
    /// False once the connection is gone (the peer exited).
    pub fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }
}

/// Opens a [`UnixConnection`]; the connection's driver runs as a task of its own and
/// ends when every clone is dropped or the peer goes away.
pub async fn connect_unix_direct(path: impl AsRef<Path>) -> std::io::Result<UnixConnection> {
    let stream = tokio::net::UnixStream::connect(path).await?;
    let (sender, connection) =
        hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
            .initial_stream_window_size(2 * 1024 * 1024)
            .initial_connection_window_size(8 * 1024 * 1024)
            .handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(UnixConnection { sender })
}

/// The incoming-connection stream of a Unix listener, for `Server::serve_with_incoming`.
pub fn unix_incoming(
    listener: tokio::net::UnixListener,
) -> tokio_stream::wrappers::UnixListenerStream {
    tokio_stream::wrappers::UnixListenerStream::new(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_round_trips_and_checks_versions() {
        let handshake = Handshake::unix(Path::new("/tmp/p.sock"));
        assert_eq!(handshake.line(), "1|1|unix|/tmp/p.sock|grpc");
        assert_eq!(Handshake::parse(&handshake.line()), Ok(handshake));
        assert!(Handshake::parse("1|1|unix|/tmp/p.sock|grpc|Y2VydA").is_ok());
        assert_eq!(
            Handshake::parse("2|1|unix|/x|grpc"),
            Err(HandshakeError::CoreVersion(2))
        );
        assert_eq!(
            Handshake::parse("1|7|unix|/x|grpc"),
            Err(HandshakeError::AppVersion(7))
        );
        assert_eq!(
            Handshake::parse("1|1|tcp|127.0.0.1:1|grpc"),
            Err(HandshakeError::Network("tcp".into()))
        );
        assert_eq!(
            Handshake::parse("1|1|unix|/x|netrpc"),
            Err(HandshakeError::Protocol("netrpc".into()))
        );
        assert!(matches!(
            Handshake::parse("hello"),
            Err(HandshakeError::Malformed(_))
        ));
    }
}
