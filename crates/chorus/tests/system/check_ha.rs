//! `chorus plugin check-ha` on the two plugins made for it: trigger-alert, which keeps
//! its state in the KV store, passes; stateful-trigger, which keeps the same state in a
//! variable, is caught, with the node-dependent steps named.

use chorus_testkit::database::postgres_admin_url;
use chorus_testkit::plugins::{plugin_bundle, workspace_root};
use serde_json::Value;
use std::path::Path;

fn check_ha(bundle: &Path, scenario: &Path) -> (i32, Value, String) {
    let mut command = crate::support::chorus_command();
    let output = command
        .args(["--json", "plugin", "check-ha"])
        .arg(bundle)
        .args(["--database", &postgres_admin_url(), "--scenario"])
        .arg(scenario)
        .output()
        .expect("run chorus");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout:?}; stderr {stderr}"));
    (output.status.code().unwrap_or(-1), report, stderr)
}

fn postgres_available() -> bool {
    let reachable = std::net::TcpStream::connect("127.0.0.1:5432").is_ok();
    assert!(
        reachable || std::env::var_os("CI").is_none(),
        "PostgreSQL is required under CI"
    );
    reachable
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ha_passes_trigger_alert_and_catches_the_stateful_plugin() {
    if !postgres_available() {
        eprintln!("SKIPPED (PostgreSQL unreachable)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = workspace_root().join("plugins/trigger-alert/check-ha.yaml");
    let good = dir.path().join("trigger-alert.tar.gz");
    std::fs::write(&good, plugin_bundle("trigger-alert", "trigger-alert")).unwrap();
    let bad = dir.path().join("stateful.tar.gz");
    std::fs::write(&bad, plugin_bundle("stateful-trigger", "stateful-trigger")).unwrap();

    let (good_scenario, bad_scenario) = (scenario.clone(), scenario.clone());
    let good_run = tokio::task::spawn_blocking(move || check_ha(&good, &good_scenario));
    let bad_run = tokio::task::spawn_blocking(move || check_ha(&bad, &bad_scenario));
    let (code, report, stderr) = good_run.await.unwrap();
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["nodes"], 3);
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert!(steps.iter().all(|s| s["ok"] == true), "{report}");
    let nodes: Vec<i64> = steps[..3]
        .iter()
        .map(|s| s["node"].as_i64().unwrap())
        .collect();
    assert_eq!(nodes, vec![1, 2, 3], "steps go round robin");
    assert!(steps[0]["kv"]["added"].as_u64().unwrap() > 0, "{report}");

    let (code, report, _) = bad_run.await.unwrap();
    assert_eq!(code, 8, "{report}");
    assert_eq!(report["passed"], false);
    assert_eq!(report["kv_writes"], 0);
    assert_eq!(report["state_outside_kv_suspected"], true);
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(
        steps[0]["ok"], true,
        "setting the word works on the node asked"
    );
    let listing = steps[1]["problem"].as_str().unwrap();
    assert!(listing.contains("depends on the node"), "{listing}");
    assert_eq!(steps[3]["ok"], false, "no alert across nodes: {report}");
}

#[test]
fn check_ha_refuses_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("bad.yaml");
    std::fs::write(
        &scenario,
        "users: [alice]\nsteps:\n  - post: {as: mallory, message: hi}\n",
    )
    .unwrap();
    let bundle = dir.path().join("missing.tar.gz");
    let database = "postgres://postgres@127.0.0.1:1/postgres";
    // The same check-ha call each time; only the scenario file's text changes.
    let check = || {
        crate::support::chorus_command()
            .args(["plugin", "check-ha"])
            .arg(&bundle)
            .args(["--database", database, "--scenario"])
            .arg(&scenario)
            .output()
            .unwrap()
    };
    let output = check();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mallory"), "{stderr}");
    std::fs::write(&scenario, "users: [alice]\nsteps: []\n").unwrap();
    let output = check();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));
}
