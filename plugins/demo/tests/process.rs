//! The demo as the server runs it: the real executable, started with the magic
//! cookie, its API pointed at the SDK's in-memory test server, driven over its socket.

use chorus_plugin::protocol::v1::{self, hooks_client::HooksClient};
use chorus_plugin::protocol::{
    connect_unix, Handshake, ENV_API_SOCKET, ENV_SOCKET_DIR, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE,
};
use chorus_plugin::testing::TestServer;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn the_demo_executable_activates_moderates_and_records() {
    let server = TestServer::start().await;
    let sockets = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_demo"))
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env(ENV_SOCKET_DIR, sockets.path())
        .env(ENV_API_SOCKET, server.socket_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the demo");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let handshake = Handshake::parse(&line).unwrap();
    let mut hooks = HooksClient::new(connect_unix(&handshake.address).await.unwrap());

    assert_eq!(
        hooks
            .implemented(v1::Empty {})
            .await
            .unwrap()
            .into_inner()
            .hooks
            .len(),
        chorus_plugin::Hook::ALL.len(),
        "every hook"
    );
    let activated = hooks.on_activate(v1::Empty {}).await.unwrap().into_inner();
    assert_eq!(activated.error, "");
    assert!(server
        .users()
        .iter()
        .any(|u| u.username == "demo-bot" && u.is_bot));
    assert_eq!(server.commands()[0].trigger, "demo");

    let post = |message: &str| v1::Post {
        id: "p1".into(),
        message: message.into(),
        ..v1::Post::default()
    };
    let rejected = hooks
        .message_will_be_posted(v1::MessageWillBePostedRequest {
            context: None,
            post: Some(post("so forbidden")),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(rejected.rejection_reason.contains("forbidden"));

    hooks
        .message_has_been_posted(v1::PostEvent {
            context: None,
            post: Some(post("hi")),
        })
        .await
        .unwrap();
    assert_eq!(
        server.kv_json("hook:MessageHasBeenPosted:p1").unwrap()["post"]["message"],
        "hi"
    );

    drop(child.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}
