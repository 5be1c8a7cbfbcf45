//! Real bot frameworks against a real server: `relay_bot.py`, written with the
//! unmodified `mmpy_bot` from PyPI (pinned in `bots/requirements.txt`, installed by
//! `scripts/test`), signs in with a bot's personal access token, hears a message over
//! the websocket, answers in its thread with a file attached and reacts to it.

use chorus_testkit::client::id;
use chorus_testkit::{Cluster, Endpoint};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn bots_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bots")
}

/// Whether `python3` can import mmpy_bot; under CI its absence fails the test.
fn mmpy_bot_installed() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import mmpy_bot"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "mmpy_bot is required under CI (scripts/test installs crates/chorus/tests/bots/requirements.txt)"
        );
        eprintln!("SKIPPED: mmpy_bot is not installed (pip install -r crates/chorus/tests/bots/requirements.txt)");
    }
    found
}

/// The bot process, killed when dropped.
struct BotProcess(Child);

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mmpy_bot_replies_in_a_thread_reacts_and_attaches_a_file() {
    if !mmpy_bot_installed() {
        return;
    }
    let cluster = Cluster::builder()
        .sqlite()
        .binary(env!("CARGO_BIN_EXE_chorus"))
        .env("CHORUS_SERVICESETTINGS_ENABLEUSERACCESSTOKENS", "true")
        .env("CHORUS_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION", "true")
        .start()
        .await
        .expect("a SQLite node always starts");
    let node = cluster.node(0);
    let (admin, _) = node.user("admin").await;
    let team = id(&admin.team("bots").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    let (alice, alice_user) = node.member(&admin, &team, "alice").await;
    admin.add_to_channel(&channel, &id(&alice_user)).await;
    let (status, bot) = admin
        .post(
            "/bots",
            json!({"username": "relay", "display_name": "Relay"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    let bot_id = bot["user_id"].as_str().unwrap().to_string();
    admin.add_to_team(&team, &bot_id).await;
    admin.add_to_channel(&channel, &bot_id).await;
    let (status, token) = admin
        .post(
            &format!("/users/{bot_id}/tokens"),
            json!({"description": "mmpy_bot"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");

    let dir = tempfile::tempdir().unwrap();
    let attachment: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 253) as u8).collect();
    let file = dir.path().join("report.bin");
    std::fs::write(&file, &attachment).unwrap();
    let url = node.base_url();
    let port = url.rsplit(':').next().unwrap().to_string();
    let log = std::fs::File::create(dir.path().join("bot.log")).unwrap();
    let _bot = BotProcess(
        Command::new("python3")
            .arg(bots_dir().join("relay_bot.py"))
            .env("MATTERMOST_URL", "http://127.0.0.1")
            .env("MATTERMOST_PORT", &port)
            .env("BOT_TOKEN", token["token"].as_str().unwrap())
            .env("BOT_TEAM", "bots")
            .env("RELAY_FILE", &file)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start python3"),
    );

    // The bot hears messages once its websocket is up: ask until it answers.
    let mut asked = Vec::new();
    let mut reply: Option<Value> = None;
    'waiting: for attempt in 0..60 {
        if attempt % 10 == 0 {
            asked.push(
                alice
                    .create_post(&channel, &format!("ping w{attempt}"))
                    .await,
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        for question in &asked {
            let (_, thread) = alice.get(&format!("/posts/{}/thread", id(question))).await;
            let answer = thread["posts"]
                .as_object()
                .into_iter()
                .flat_map(|posts| posts.values())
                .find(|p| p["user_id"] == json!(bot_id));
            if let Some(answer) = answer {
                reply = Some(answer.clone());
                break 'waiting;
            }
        }
    }
    let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap_or_default();
    let reply = reply.unwrap_or_else(|| panic!("the bot never answered; its log:\n{log}"));
    let question = asked
        .iter()
        .find(|q| q["id"] == reply["root_id"])
        .expect("the answer is in the thread of a question");
    let word = question["message"]
        .as_str()
        .unwrap()
        .trim_start_matches("ping ");
    assert_eq!(reply["message"], json!(format!("pong {word}")));

    // The attached file downloads back byte for byte.
    let files = reply["metadata"]["files"]
        .as_array()
        .expect("files in metadata");
    assert_eq!(files.len(), 1, "{reply}");
    assert_eq!(files[0]["name"], "report.bin");
    let download = alice.download(&format!("/files/{}", id(&files[0]))).await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(download.body == attachment, "the file came back different");

    // And the question got its reaction.
    let mut reacted = false;
    for _ in 0..40 {
        let (_, reactions) = alice
            .get(&format!("/posts/{}/reactions", id(question)))
            .await;
        if reactions.as_array().is_some_and(|list| {
            list.iter()
                .any(|r| r["user_id"] == json!(bot_id) && r["emoji_name"] == "white_check_mark")
        }) {
            reacted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(reacted, "the bot did not react; its log:\n{log}");
    cluster.shutdown().await;
}
