//! `chorus plugin new` as a plugin author uses it: the real binary creates a plugin
//! crate, whose own tests pass under `cargo test`, which `chorus plugin bundle` builds
//! and packs, and which then runs on a real one-node cluster and counts. Plus the
//! refusals scripts rely on (exit code 2, nothing written).
//!
//! The generated crate is built with `CARGO_TARGET_DIR` set to this workspace's target
//! directory: it pins the workspace's dependency versions (its Cargo.lock starts as a
//! copy of the workspace's), so the gRPC stack compiled for the workspace is reused and
//! only the SDK crates and the plugin itself are compiled.

use chorus_testkit::Endpoint;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The outcome of one process run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout {:?} stderr {:?}",
            self.stdout, self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.stdout))
    }
}

/// Runs `command` off the async runtime's threads.
async fn run(mut command: Command) -> Run {
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("start the process");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// The workspace's target directory, where the SDK's dependencies are compiled already.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| chorus_testkit::plugins::workspace_root().join("target"))
}

/// `chorus args…`, with nothing from the environment that could change its behaviour
/// and `CARGO_TARGET_DIR` for the builds `plugin bundle` runs.
fn chorus(scratch: &Path, args: &[&str]) -> Command {
    let mut command = crate::support::chorus_command();
    command
        .env("CHORUS_CLI_CONFIG", scratch.join("cli.json"))
        .env("CARGO_TARGET_DIR", target_dir())
        .args(args);
    command
}

fn cargo(folder: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(folder)
        .env("CARGO_TARGET_DIR", target_dir())
        .args(args);
    command
}

/// The plugin's HTTP reply to a signed-in user.
async fn counter(api: &chorus_testkit::Api, method: Method, plugin_id: &str) -> Value {
    let (status, body) = api
        .send(api.plugin_request(method, plugin_id, "/api/v1/counter"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_new_creates_a_crate_that_tests_bundles_and_runs() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().to_str().unwrap();
    // A name of its own: the executable lands in the shared target directory.
    let name = "chorus-new-plugin-check";
    let plugin_id = format!("com.example.{name}");

    let created = run(chorus(
        scratch.path(),
        &["--json", "plugin", "new", name, "--web", "--dir", dir],
    ))
    .await
    .ok()
    .json();
    let folder = scratch.path().join(name);
    assert_eq!(created["plugin_id"], plugin_id.as_str());
    assert_eq!(
        Path::new(created["path"].as_str().unwrap()),
        folder.canonicalize().unwrap()
    );
    let files: Vec<&str> = created["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for expected in [
        "Cargo.toml",
        "plugin.json",
        "src/main.rs",
        "README.md",
        ".gitignore",
        "webapp/main.js",
    ] {
        assert!(
            files.contains(&expected),
            "{expected} missing from {files:?}"
        );
    }
    for file in &files {
        assert!(folder.join(file).is_file(), "{file} was not written");
    }
    let manifest = chorus_server::plugins::manifest::read_manifest(&folder).unwrap();
    assert_eq!(manifest.id, plugin_id);
    assert_eq!(manifest.version, "0.1.0");
    assert_eq!(
        manifest.server.as_ref().unwrap().executable,
        "server/dist/plugin"
    );
    assert_eq!(manifest.webapp.unwrap().bundle_path, "webapp/main.js");
    let web = std::fs::read_to_string(folder.join("webapp/main.js")).unwrap();
    assert!(
        web.contains(&format!("const PLUGIN_ID = '{plugin_id}';"))
            && web.contains("window.registerPlugin(PLUGIN_ID, {"),
        "{web}"
    );

    // The generated unit tests, on the SDK's harness.
    let tested = run(cargo(&folder, &["test"])).await.ok();
    eprintln!(
        "cargo test of the generated plugin took {:.1} s",
        tested.took.as_secs_f64()
    );
    assert!(
        tested.stdout.contains("test result: ok. 2 passed"),
        "{}",
        tested.stdout
    );

    // `chorus plugin bundle` builds it in release mode and packs it.
    let bundle = scratch.path().join("p.tar.gz");
    let bundled = run(chorus(
        scratch.path(),
        &[
            "--json",
            "plugin",
            "bundle",
            folder.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
        ],
    ))
    .await
    .ok();
    eprintln!(
        "chorus plugin bundle (cargo build --release included) took {:.1} s",
        bundled.took.as_secs_f64()
    );
    assert_eq!(bundled.json()["plugin_id"], plugin_id.as_str());
    assert!(bundle.is_file());

    // Installed on a real server, it counts per user, in the KV store.
    let Some(cluster) = crate::support::start_cluster(1).await else {
        return;
    };
    let (admin, _) = cluster.node(0).user("admin").await;
    let installed = admin.install_plugin(std::fs::read(&bundle).unwrap()).await;
    assert_eq!(installed["id"], plugin_id.as_str());
    assert_eq!(counter(&admin, Method::GET, &plugin_id).await["count"], 0);
    assert_eq!(counter(&admin, Method::POST, &plugin_id).await["count"], 1);
    assert_eq!(counter(&admin, Method::POST, &plugin_id).await["count"], 2);
    assert_eq!(counter(&admin, Method::GET, &plugin_id).await["count"], 2);
    // The web app finds the web part where it discovers plugins, and can load it.
    let (status, webapps) = admin.get("/plugins/webapp").await;
    assert_eq!(status, StatusCode::OK, "{webapps}");
    let listed = webapps
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == plugin_id.as_str())
        .unwrap_or_else(|| panic!("{plugin_id} not in {webapps}"));
    let script = reqwest::get(format!(
        "{}{}",
        cluster.node(0).base_url(),
        listed["webapp"]["bundle_path"].as_str().unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(script.text().await.unwrap(), web);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_new_refuses_an_existing_folder_and_bad_names() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().to_str().unwrap();

    std::fs::create_dir(scratch.path().join("taken")).unwrap();
    let existing = run(chorus(
        scratch.path(),
        &["plugin", "new", "taken", "--dir", dir],
    ))
    .await;
    assert_eq!(existing.code, 2, "{}", existing.stderr);
    assert!(
        existing.stderr.contains("exists already"),
        "{}",
        existing.stderr
    );
    assert_eq!(
        std::fs::read_dir(scratch.path().join("taken"))
            .unwrap()
            .count(),
        0,
        "nothing is written into an existing folder"
    );

    let bad_id = run(chorus(
        scratch.path(),
        &[
            "--json",
            "plugin",
            "new",
            "fine",
            "--id",
            "no spaces!",
            "--dir",
            dir,
        ],
    ))
    .await;
    assert_eq!(bad_id.code, 2, "{}", bad_id.stderr);
    // In JSON mode the error is a JSON document on stdout, for scripts.
    let error = bad_id.json();
    assert_eq!(error["exit_code"], 2);
    assert!(
        error["error"].as_str().unwrap().contains("plugin id"),
        "{error}"
    );
    let too_short = run(chorus(
        scratch.path(),
        &["plugin", "new", "fine", "--id", "ab", "--dir", dir],
    ))
    .await;
    assert_eq!(too_short.code, 2, "{}", too_short.stderr);
    assert!(
        !scratch.path().join("fine").exists(),
        "a refusal writes nothing"
    );

    for bad_name in ["Upper", "1st", "has space", "../escape", "self"] {
        let refused = run(chorus(
            scratch.path(),
            &["plugin", "new", bad_name, "--dir", dir],
        ))
        .await;
        assert_eq!(refused.code, 2, "{bad_name}: {}", refused.stderr);
        assert!(refused.stderr.contains("crate name"), "{}", refused.stderr);
    }

    let no_sdk = run(chorus(
        scratch.path(),
        &["plugin", "new", "fine", "--sdk-path", dir, "--dir", dir],
    ))
    .await;
    assert_eq!(no_sdk.code, 2, "{}", no_sdk.stderr);
    assert!(no_sdk.stderr.contains("--sdk-path"), "{}", no_sdk.stderr);
    assert_eq!(
        std::fs::read_dir(scratch.path()).unwrap().count(),
        1,
        "only the folder this test made"
    );
}
