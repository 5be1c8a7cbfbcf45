//! The operator commands (`chorus auth`, `chorus plugin`, `chorus cluster`) run as a
//! real process against a real two-node cluster: human and `--json` output, the exit
//! codes scripts rely on, and failures that say what to do.

use crate::support::{chorus_command, start_cluster};
use chorus_testkit::plugins::{plugin_bundle, workspace_root};
use chorus_testkit::Endpoint;
use serde_json::Value;
use std::path::{Path, PathBuf};

const NOOP: &str = "com.chorus.test.noop";

/// The outcome of one `chorus` run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.stdout))
    }

    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout {:?} stderr {:?}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `chorus args…` with its profile file at `profiles`, and nothing else from the
/// environment that could change its behaviour.
async fn chorus(profiles: &Path, args: &[&str]) -> Run {
    let mut command = chorus_command();
    command.env("CHORUS_CLI_CONFIG", profiles).args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("run chorus");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn write_bundle(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_profiles_and_failures() {
    let Some(cluster) = start_cluster(1).await else {
        return;
    };
    let url = cluster.node(0).base_url();
    let (_, _) = cluster.node(0).user("admin").await;
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("cli.json");

    let run = chorus(&profiles, &["cluster", "status"]).await;
    assert_eq!(run.code, 3, "no profile yet: {}", run.stderr);
    assert!(run.stderr.contains("chorus auth login"), "{}", run.stderr);

    let wrong = chorus(
        &profiles,
        &[
            "auth",
            "login",
            &url,
            "--username",
            "admin",
            "--password",
            "nope",
        ],
    )
    .await;
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("error:"), "{}", wrong.stderr);
    assert!(!profiles.exists(), "a failed login stores nothing");

    let run = chorus(
        &profiles,
        &[
            "auth",
            "login",
            &url,
            "--username",
            "admin",
            "--password",
            "password-admin",
            "--name",
            "local",
        ],
    )
    .await
    .ok();
    assert!(
        run.stdout.contains("profile \"local\" is now current"),
        "{}",
        run.stdout
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&profiles).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is private");
    }
    // A second profile, from the password on stdin, through --json.
    let mut command = chorus_command();
    command
        .env("CHORUS_CLI_CONFIG", &profiles)
        .env_remove("CHORUS_PASSWORD")
        .args([
            "--json",
            "auth",
            "login",
            &url,
            "--username",
            "admin",
            "--name",
            "second",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"password-admin\n")
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let login: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(login["profile"], "second");

    let list = chorus(&profiles, &["--json", "auth", "list"])
        .await
        .ok()
        .json();
    let names: Vec<(&str, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["current"].as_bool().unwrap()))
        .collect();
    assert_eq!(names, vec![("local", false), ("second", true)]);
    chorus(&profiles, &["auth", "switch", "local"]).await.ok();
    let human = chorus(&profiles, &["auth", "list"]).await.ok();
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.starts_with('*') && l.contains("local")),
        "{}",
        human.stdout
    );
    let unknown = chorus(&profiles, &["auth", "switch", "nowhere"]).await;
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("local, second"),
        "{}",
        unknown.stderr
    );

    // The current profile is used, and flags override it.
    let status = chorus(&profiles, &["--json", "cluster", "status"])
        .await
        .ok()
        .json();
    assert_eq!(status.as_array().unwrap().len(), 1);
    let bad_token = chorus(&profiles, &["--token", "not-a-token", "cluster", "status"]).await;
    assert_eq!(bad_token.code, 3);
    let free = chorus_testkit::cluster::free_port();
    let unreachable = chorus(
        &profiles,
        &[
            "--url",
            &format!("127.0.0.1:{free}"),
            "--json",
            "cluster",
            "status",
        ],
    )
    .await;
    assert_eq!(unreachable.code, 7);
    assert!(unreachable.json()["error"]
        .as_str()
        .unwrap()
        .contains("cannot reach"));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_commands_drive_a_cluster() {
    let Some(cluster) = start_cluster(2).await else {
        return;
    };
    let (admin, _) = cluster.node(0).user("admin").await;
    let (plain, _) = cluster.node(0).user("plain").await;
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("cli.json");
    let url = cluster.node(1).base_url();
    let as_admin = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = vec![
            "--url".into(),
            url.clone(),
            "--token".into(),
            admin.token().into(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        all
    };
    let run = |args: Vec<String>| {
        let profiles = profiles.clone();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            chorus(&profiles, &refs).await
        }
    };

    let bundle = write_bundle(dir.path(), "noop.tar.gz", &plugin_bundle("noop", "noop"));
    let bundle = bundle.to_str().unwrap();
    let added = run(as_admin(&["--json", "plugin", "add", bundle]))
        .await
        .ok()
        .json();
    assert_eq!(added["id"], NOOP);
    let again = run(as_admin(&["plugin", "add", bundle])).await;
    assert_eq!(
        again.code, 6,
        "a second upload needs --force: {}",
        again.stderr
    );
    assert!(again.stderr.contains("force"), "{}", again.stderr);
    run(as_admin(&["plugin", "add", "--force", bundle]))
        .await
        .ok();

    let not_a_bundle = write_bundle(dir.path(), "junk.tar.gz", b"definitely not gzip");
    let refused = run(as_admin(&["plugin", "add", not_a_bundle.to_str().unwrap()])).await;
    assert_eq!(refused.code, 6, "{}", refused.stderr);
    assert!(refused.stderr.contains(".tar.gz"), "{}", refused.stderr);
    let missing = run(as_admin(&["plugin", "add", "/nonexistent/bundle.tar.gz"])).await;
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("cannot read"), "{}", missing.stderr);

    let enabled = run(as_admin(&["--json", "plugin", "enable", NOOP, "--wait"]))
        .await
        .ok()
        .json();
    let statuses = enabled["statuses"].as_array().unwrap();
    assert_eq!(statuses.len(), 2, "{enabled}");
    assert!(statuses.iter().all(|s| s["state"] == 2), "{enabled}");

    let table = run(as_admin(&["plugin", "status"])).await.ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("PLUGIN"), "{table}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains(NOOP) && l.contains("running"))
            .count(),
        2,
        "one row per node: {table}"
    );
    let listed = run(as_admin(&["--json", "plugin", "list"]))
        .await
        .ok()
        .json();
    assert_eq!(listed["active"][0]["id"], NOOP);

    // A plain user is told it needs an admin.
    let denied = chorus(
        &profiles,
        &[
            "--url",
            &url,
            "--token",
            plain.token(),
            "plugin",
            "disable",
            NOOP,
        ],
    )
    .await;
    assert_eq!(denied.code, 4, "{}", denied.stderr);
    assert!(denied.stderr.contains("admin"), "{}", denied.stderr);

    let disabled = run(as_admin(&["plugin", "disable", NOOP, "--wait"]))
        .await
        .ok();
    assert!(
        disabled.stdout.contains("stopped on 2 node(s)"),
        "{}",
        disabled.stdout
    );
    let nodes = run(as_admin(&["cluster", "status"])).await.ok().stdout;
    assert!(nodes.contains("2 node(s)"), "{nodes}");

    run(as_admin(&["plugin", "delete", NOOP])).await.ok();
    let gone = run(as_admin(&["plugin", "delete", NOOP])).await;
    assert_eq!(gone.code, 5, "{}", gone.stderr);
    let empty = run(as_admin(&["plugin", "status"])).await.ok().stdout;
    assert!(empty.contains("No plugins installed"), "{empty}");
    cluster.shutdown().await;
}

#[tokio::test]
async fn deploy_swaps_a_plugin_into_a_directory_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("cli.json");
    let plugins = dir.path().join("plugins");
    let bundle = plugin_bundle("noop", "noop");
    let v1 = write_bundle(dir.path(), "v1.tar.gz", &bundle);
    let deployed = chorus(
        &profiles,
        &[
            "--json",
            "plugin",
            "deploy",
            v1.to_str().unwrap(),
            "--dir",
            plugins.to_str().unwrap(),
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(deployed["plugin_id"], NOOP);
    assert_eq!(deployed["replaced_version"], Value::Null);
    let installed = plugins.join(NOOP);
    assert!(installed.join("plugin.json").is_file());

    // Version 2 of the same plugin, built from the folder with another version.
    let folder = dir.path().join("noop-v2");
    copy_dir(&workspace_root().join("plugins/noop"), &folder);
    let manifest_path = folder.join("plugin.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["version"] = "9.9.9".into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let executable = chorus_testkit::plugins::built_plugin("noop");
    let v2 = dir.path().join("v2.tar.gz");
    chorus(
        &profiles,
        &[
            "plugin",
            "bundle",
            folder.to_str().unwrap(),
            "--executable",
            executable.to_str().unwrap(),
            "-o",
            v2.to_str().unwrap(),
        ],
    )
    .await
    .ok();
    let human = chorus(
        &profiles,
        &[
            "plugin",
            "deploy",
            v2.to_str().unwrap(),
            "--dir",
            plugins.to_str().unwrap(),
        ],
    )
    .await
    .ok();
    assert!(human.stdout.contains("replacing"), "{}", human.stdout);
    let now: Value =
        serde_json::from_str(&std::fs::read_to_string(installed.join("plugin.json")).unwrap())
            .unwrap();
    assert_eq!(now["version"], "9.9.9");

    // A broken bundle changes nothing and leaves no staging folder behind.
    let junk = write_bundle(dir.path(), "junk.tar.gz", b"not a bundle");
    let refused = chorus(
        &profiles,
        &[
            "plugin",
            "deploy",
            junk.to_str().unwrap(),
            "--dir",
            plugins.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("cannot be deployed"),
        "{}",
        refused.stderr
    );
    let entries: Vec<String> = std::fs::read_dir(&plugins)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, vec![NOOP.to_string()]);
    let still: Value =
        serde_json::from_str(&std::fs::read_to_string(installed.join("plugin.json")).unwrap())
            .unwrap();
    assert_eq!(still["version"], "9.9.9");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            // The plugin's own sources are not part of its bundle.
            if entry.file_name() != "src" && entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
