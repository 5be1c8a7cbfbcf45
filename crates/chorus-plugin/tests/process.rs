//! The plugin process protocol with a real child process: the `minimal` example is
//! started as the server starts plugins, and checked for the cookie rule, the
//! handshake line, health, `Implemented`, hook calls, API calls back to a server,
//! and exit on stdin EOF or SIGTERM.

use chorus_plugin::protocol::v1::{self, hooks_client::HooksClient};
use chorus_plugin::protocol::{
    connect_unix, Handshake, ENV_API_SOCKET, ENV_PLUGIN_ID, ENV_PROTOCOL_VERSIONS, ENV_SOCKET_DIR,
    HEALTH_SERVICE, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE,
};
use chorus_plugin::testing::TestServer;
use chorus_plugin::NOT_STARTED_BY_SERVER;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

const PATIENCE: Duration = Duration::from_secs(30);

/// `cargo test` builds the examples next to the test binaries' folder.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test -p chorus-plugin` (which builds the examples) \
         or build it with `cargo build -p chorus-plugin --example {name}`",
        path.display()
    );
    path
}

struct Plugin {
    child: Child,
    handshake: Handshake,
}

async fn start_minimal(socket_dir: &Path, api_socket: &Path) -> Plugin {
    let mut child = Command::new(example("minimal"))
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env(ENV_PROTOCOL_VERSIONS, "1")
        .env(ENV_SOCKET_DIR, socket_dir)
        .env(ENV_API_SOCKET, api_socket)
        .env(ENV_PLUGIN_ID, "com.chorus.minimal")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the minimal example");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("no handshake line in time")
        .expect("read the handshake line")
        .expect("the plugin closed stdout without a handshake line");
    let handshake =
        Handshake::parse(&line).unwrap_or_else(|e| panic!("bad handshake line {line:?}: {e}"));
    Plugin { child, handshake }
}

async fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("the plugin did not exit in time")
        .expect("wait")
}

#[test]
fn without_the_cookie_it_refuses_to_run() {
    let output = std::process::Command::new(example("minimal"))
        .env_remove(MAGIC_COOKIE_KEY)
        .stdin(Stdio::null())
        .output()
        .expect("run the minimal example");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "no handshake without the cookie");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        NOT_STARTED_BY_SERVER
    );

    let wrong = std::process::Command::new(example("minimal"))
        .env(MAGIC_COOKIE_KEY, "not-the-cookie")
        .stdin(Stdio::null())
        .output()
        .expect("run the minimal example");
    assert_eq!(wrong.status.code(), Some(1));
}

#[test]
fn a_host_without_our_protocol_version_is_refused() {
    let output = std::process::Command::new(example("minimal"))
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env(ENV_PROTOCOL_VERSIONS, "2,3")
        .stdin(Stdio::null())
        .output()
        .expect("run the minimal example");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("2,3"));
}

#[tokio::test]
async fn handshake_health_hooks_api_and_exit_on_stdin_eof() {
    let sockets = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let mut plugin = start_minimal(sockets.path(), server.socket_path()).await;

    let socket = PathBuf::from(&plugin.handshake.address);
    assert_eq!(
        socket.parent(),
        Some(sockets.path()),
        "the socket goes in PLUGIN_UNIX_SOCKET_DIR"
    );
    let channel = connect_unix(&socket)
        .await
        .expect("connect to the plugin's socket");

    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: HEALTH_SERVICE.into(),
        })
        .await
        .expect("health check")
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    let mut hooks = HooksClient::new(channel);
    let implemented = hooks
        .implemented(v1::Empty {})
        .await
        .unwrap()
        .into_inner()
        .hooks;
    assert_eq!(implemented, ["MessageWillBePosted", "MessageHasBeenPosted"]);

    let post = |message: &str| v1::Post {
        id: "p1".into(),
        message: message.into(),
        ..v1::Post::default()
    };
    let request = |message: &str| v1::MessageWillBePostedRequest {
        context: None,
        post: Some(post(message)),
    };
    let replaced = hooks
        .message_will_be_posted(request("ping"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replaced.post.map(|p| p.message).as_deref(), Some("pong"));
    let unchanged = hooks
        .message_will_be_posted(request("hello"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        unchanged,
        v1::MessageWillBePostedResponse::default(),
        "unset post and reason: unchanged"
    );

    // The plugin calls back into the API socket it was given.
    hooks
        .message_has_been_posted(v1::PostEvent {
            context: None,
            post: Some(post("hello")),
        })
        .await
        .unwrap();
    assert_eq!(server.kv_value("seen:p1").as_deref(), Some(&b"hello"[..]));

    drop(plugin.child.stdin.take());
    let status = wait_for_exit(&mut plugin.child).await;
    assert!(status.success(), "exit on stdin EOF: {status}");
    assert!(
        !socket.exists(),
        "the plugin removes its socket when it exits"
    );
}

#[tokio::test]
async fn sigterm_stops_it_and_removes_its_socket() {
    let sockets = tempfile::tempdir().unwrap();
    let mut plugin = start_minimal(sockets.path(), Path::new("/nonexistent/api.sock")).await;
    let socket = PathBuf::from(&plugin.handshake.address);
    assert!(socket.exists());

    let pid = plugin.child.id().expect("the plugin runs").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let status = wait_for_exit(&mut plugin.child).await;
    assert!(status.success(), "exit on SIGTERM: {status}");
    assert!(
        !socket.exists(),
        "the plugin removes its socket when it exits"
    );
}
