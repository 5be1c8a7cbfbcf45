//! `chorus user|team|channel|post` as an operator runs them: the real binary as a
//! subprocess against a one-node cluster, checked by what it prints, its exit code,
//! and what the REST API shows afterwards. Each test shares one cluster across many
//! commands, because starting one costs about a second.

use chorus_testkit::client::{id, strings};
use chorus_testkit::{Api, Cluster, Endpoint, Node};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// What one run of `chorus` did.
struct Run {
    args: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "`chorus {}` exited {}\nstdout:\n{}\nstderr:\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    fn ok(&self) -> &Run {
        self.expect_code(0)
    }

    /// stdout as the one JSON document `--json` promises.
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "`chorus {}` printed no JSON ({e}):\n{}",
                self.args, self.stdout
            )
        })
    }
}

/// Runs `chorus` against one server, with a profile file of its own so that no
/// profile of the person running the tests is read or written.
struct Chorus {
    url: String,
    config: tempfile::TempDir,
}

impl Chorus {
    fn new(node: &Node) -> Chorus {
        Chorus {
            url: node.base_url(),
            config: tempfile::tempdir().expect("config folder"),
        }
    }

    /// `chorus --url <node> --token <token> <args>`; `token` None leaves both out.
    async fn run(&self, token: Option<&str>, args: &[&str]) -> Run {
        // The caller's CHORUS_URL or CHORUS_TOKEN would otherwise change the outcome.
        let mut command = tokio::process::Command::from(crate::support::chorus_command());
        command
            .env("CHORUS_CLI_CONFIG", self.config.path().join("cli.json"))
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        if let Some(token) = token {
            command.args(["--url", &self.url, "--token", token]);
        }
        command.args(args);
        let output = tokio::time::timeout(Duration::from_secs(60), command.output())
            .await
            .unwrap_or_else(|_| panic!("`chorus {}` did not finish in 60 s", args.join(" ")))
            .expect("run chorus");
        Run {
            args: args.join(" "),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

async fn start_cluster() -> Option<Cluster> {
    crate::support::start_cluster(1).await
}

async fn get_ok(api: &Api, path: &str) -> Value {
    let (status, body) = api.get(path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

async fn team_member_ids(api: &Api, team_id: &str) -> Vec<String> {
    let members = get_ok(api, &format!("/teams/{team_id}/members")).await;
    members
        .as_array()
        .expect("member list")
        .iter()
        .map(|m| m["user_id"].as_str().unwrap().to_string())
        .collect()
}

/// An admin builds a team from nothing with the CLI alone: users, a team, a private
/// channel, memberships and a thread, in text and in JSON, and the REST API (and a
/// created user's own login) sees all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sets_up_a_team_with_the_cli() {
    let Some(cluster) = start_cluster().await else {
        return;
    };
    let node = cluster.node(0);
    let (admin, admin_user) = node.user("admin").await;
    let chorus = Chorus::new(node);
    let token = Some(admin.token());

    // Users, in text and in JSON.
    let run = chorus
        .run(
            token,
            &[
                "user",
                "create",
                "--username",
                "alice",
                "--email",
                "alice@example.com",
                "--password",
                "password-alice",
            ],
        )
        .await;
    run.ok();
    let alice = get_ok(&admin, "/users/username/alice").await;
    assert!(run.stdout.contains("@alice"), "{}", run.stdout);
    assert!(run.stdout.contains(&id(&alice)), "{}", run.stdout);
    let bob = chorus
        .run(
            token,
            &[
                "--json",
                "user",
                "create",
                "--username",
                "bob",
                "--email",
                "bob@example.com",
                "--password",
                "password-bob",
            ],
        )
        .await
        .ok()
        .json();
    assert_eq!(bob["username"], "bob");
    assert_eq!(id(&get_ok(&admin, "/users/username/bob").await), id(&bob));

    let run = chorus.run(token, &["user", "list"]).await;
    run.ok();
    let header = run.stdout.lines().next().unwrap_or_default();
    for column in ["ID", "USERNAME", "EMAIL", "ROLES"] {
        assert!(header.contains(column), "{}", run.stdout);
    }
    for name in ["admin", "alice", "bob", "alice@example.com", "system_admin"] {
        assert!(run.stdout.contains(name), "{name} missing:\n{}", run.stdout);
    }
    let page = chorus
        .run(
            token,
            &["--json", "user", "list", "--page", "1", "--per-page", "2"],
        )
        .await
        .ok()
        .json();
    assert_eq!(page.as_array().map(Vec::len), Some(1), "{page}");
    let all = chorus
        .run(
            token,
            &["--json", "user", "list", "--all", "--per-page", "2"],
        )
        .await
        .ok()
        .json();
    let mut names = strings(&Value::Array(
        all.as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].clone())
            .collect(),
    ));
    names.sort();
    assert_eq!(names, ["admin", "alice", "bob"]);

    // Teams: the display name defaults to the name; --private means invite only.
    let run = chorus
        .run(token, &["team", "create", "--name", "dev"])
        .await;
    run.ok();
    let dev = get_ok(&admin, "/teams/name/dev").await;
    assert_eq!(dev["display_name"], "dev");
    assert_eq!(dev["type"], "O");
    assert!(run.stdout.contains(&id(&dev)), "{}", run.stdout);
    let secret = chorus
        .run(
            token,
            &[
                "--json",
                "team",
                "create",
                "--name",
                "secret",
                "--display-name",
                "Secret Team",
                "--private",
            ],
        )
        .await
        .ok()
        .json();
    assert_eq!(secret["type"], "I");
    assert_eq!(secret["display_name"], "Secret Team");
    assert_eq!(id(&get_ok(&admin, "/teams/name/secret").await), id(&secret));

    // Members, by plain and by @-prefixed username.
    let run = chorus
        .run(token, &["team", "add", "dev", "alice", "@bob"])
        .await;
    run.ok();
    assert!(
        run.stdout.contains("Added @alice, @bob to team dev"),
        "{}",
        run.stdout
    );
    let members = team_member_ids(&admin, &id(&dev)).await;
    assert!(
        members.contains(&id(&alice)) && members.contains(&id(&bob)),
        "{members:?}"
    );

    // A private channel, with alice only.
    let run = chorus
        .run(
            token,
            &[
                "channel",
                "create",
                "--team",
                "dev",
                "--name",
                "plans",
                "--private",
            ],
        )
        .await;
    run.ok();
    let plans = get_ok(&admin, &format!("/teams/{}/channels/name/plans", id(&dev))).await;
    assert_eq!(plans["type"], "P");
    assert_eq!(plans["display_name"], "plans");
    assert!(run.stdout.contains("dev:plans"), "{}", run.stdout);
    let added = chorus
        .run(token, &["--json", "channel", "add", "dev:plans", "alice"])
        .await
        .ok()
        .json();
    assert_eq!(added["channel"]["id"], plans["id"]);
    assert_eq!(added["added"][0]["user_id"], alice["id"]);
    let mut expected = vec![id(&admin_user), id(&alice)];
    expected.sort();
    assert_eq!(admin.channel_member_ids(&id(&plans)).await, expected);

    // A post and a reply in its thread.
    let post = chorus
        .run(
            token,
            &[
                "--json",
                "post",
                "create",
                "dev:plans",
                "--message",
                "hello from the cli",
            ],
        )
        .await
        .ok()
        .json();
    let post_id = id(&post);
    let stored = get_ok(&admin, &format!("/posts/{post_id}")).await;
    assert_eq!(stored["message"], "hello from the cli");
    assert_eq!(stored["channel_id"], plans["id"]);
    assert_eq!(stored["user_id"], admin_user["id"]);
    let run = chorus
        .run(
            token,
            &[
                "post",
                "create",
                "dev:plans",
                "-m",
                "a reply",
                "--reply-to",
                &post_id,
            ],
        )
        .await;
    run.ok();
    assert!(run.stdout.starts_with("Posted "), "{}", run.stdout);
    let thread = get_ok(&admin, &format!("/posts/{post_id}/thread")).await;
    assert_eq!(
        thread["order"].as_array().map(Vec::len),
        Some(2),
        "{thread}"
    );

    // Alice signs in with the password the CLI gave her and reads the channel.
    let alice_api = node.client().login("alice", "password-alice").await;
    assert!(alice_api.post_order(&id(&plans)).await.contains(&post_id));

    cluster.shutdown().await;
}

/// Failures: exit codes scripts can branch on, and messages that name the culprit
/// and say what to do, in text and in JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_name_the_culprit_and_exit_with_its_code() {
    let Some(cluster) = start_cluster().await else {
        return;
    };
    let node = cluster.node(0);
    let (admin, _) = node.user("admin").await;
    let (carol, carol_user) = node.user("carol").await;
    let (_, dave_user) = node.user("dave").await;
    let dev = admin.team("dev").await;
    let chorus = Chorus::new(node);
    let token = Some(admin.token());

    // Unknown names: exit 5 (not found), naming what is missing.
    let run = chorus.run(token, &["team", "add", "nosuch", "carol"]).await;
    run.expect_code(5);
    assert!(
        run.stderr.contains("no team named \"nosuch\""),
        "{}",
        run.stderr
    );
    let error = chorus
        .run(token, &["--json", "team", "add", "nosuch", "carol"])
        .await
        .expect_code(5)
        .json();
    assert_eq!(error["exit_code"], 5);
    assert_eq!(error["status_code"], 404);
    assert!(
        error["error"].as_str().unwrap().contains("nosuch"),
        "{error}"
    );

    // A missing user stops the command before anyone is added.
    let run = chorus
        .run(token, &["team", "add", "dev", "carol", "ghost"])
        .await;
    run.expect_code(5);
    assert!(run.stderr.contains("\"ghost\""), "{}", run.stderr);
    assert!(run.stderr.contains("nobody was added"), "{}", run.stderr);
    assert!(!team_member_ids(&admin, &id(&dev))
        .await
        .contains(&id(&carol_user)));

    let run = chorus
        .run(token, &["post", "create", "dev:nowhere", "-m", "hi"])
        .await;
    run.expect_code(5);
    assert!(run.stderr.contains("\"nowhere\""), "{}", run.stderr);

    // Malformed arguments: exit 2 (usage) before any request.
    for args in [
        &["channel", "add", "devplans", "carol"][..],
        &["post", "create", "dev:", "-m", "hi"],
        &[
            "post",
            "create",
            "dev:town-square",
            "-m",
            "hi",
            "--reply-to",
            "x",
        ],
    ] {
        let run = chorus.run(token, args).await;
        run.expect_code(2);
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    }
    let run = chorus
        .run(token, &["channel", "add", "devplans", "carol"])
        .await;
    assert!(run.stderr.contains("<team>:<channel>"), "{}", run.stderr);

    // Adding someone who is not on the team says how to fix it (exit 6, refused).
    chorus
        .run(
            token,
            &["channel", "create", "--team", "dev", "--name", "plans"],
        )
        .await
        .ok();
    let run = chorus
        .run(token, &["channel", "add", "dev:plans", "carol"])
        .await;
    run.expect_code(6);
    assert!(
        run.stderr.contains("chorus team add dev carol"),
        "{}",
        run.stderr
    );

    // A plain user: may list users (without others' emails) and join the open team
    // herself, but not add others: exit 4, saying who was added before that.
    let run = chorus.run(Some(carol.token()), &["user", "list"]).await;
    run.ok();
    assert!(run.stdout.contains("admin"), "{}", run.stdout);
    assert!(!run.stdout.contains("admin@example.com"), "{}", run.stdout);
    let run = chorus
        .run(
            Some(carol.token()),
            &["team", "add", "dev", "carol", "dave"],
        )
        .await;
    run.expect_code(4);
    assert!(run.stderr.contains("cannot add @dave"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Added before that: @carol"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    let members = team_member_ids(&admin, &id(&dev)).await;
    assert!(members.contains(&id(&carol_user)), "{members:?}");
    assert!(!members.contains(&id(&dave_user)), "{members:?}");

    // A bad token, and no server at all: exit 3, pointing at `chorus auth login`.
    let run = chorus
        .run(Some("notavalidtokennotavalidtok"), &["user", "list"])
        .await;
    run.expect_code(3);
    assert!(run.stderr.contains("chorus auth login"), "{}", run.stderr);
    let run = chorus.run(None, &["user", "list"]).await;
    run.expect_code(3);
    assert!(run.stderr.contains("chorus auth login"), "{}", run.stderr);

    cluster.shutdown().await;
}
