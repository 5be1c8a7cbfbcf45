//! docs/plugin-guide.md, executed: every `sh` block of the guide runs, in order, in one
//! bash session in a fresh folder, with `chorus` on the PATH, a real PostgreSQL for
//! `check-ha`, and a real server to install on. If the guide's commands stop working,
//! this fails.

use chorus_testkit::database::postgres_admin_url;
use chorus_testkit::plugins::workspace_root;
use chorus_testkit::Endpoint;

/// The `sh` blocks of a Markdown text, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start() == "```sh" => current = Some(String::new()),
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_guide_works_as_written() {
    let guide = std::fs::read_to_string(workspace_root().join("docs/plugin-guide.md")).unwrap();
    let blocks = shell_blocks(&guide);
    assert!(blocks.len() >= 5, "the guide lost its commands: {blocks:?}");
    let Some(cluster) = crate::support::start_cluster(1).await else {
        return;
    };
    // The guide's admin, with the password the guide's reader types.
    cluster.node(0).user("admin").await;

    let dir = tempfile::tempdir().unwrap();
    let script = format!("set -euo pipefail\n{}", blocks.join("\n"));
    let binary_dir = std::path::Path::new(env!("CARGO_BIN_EXE_chorus"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        binary_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = std::process::Command::new("bash");
    for (key, _) in std::env::vars() {
        if key.starts_with("CHORUS_") {
            command.env_remove(key);
        }
    }
    command
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        // Reuse this workspace's compiled dependencies: same versions, far less work.
        .env("CARGO_TARGET_DIR", workspace_root().join("target"))
        .env("CHORUS_CLI_CONFIG", dir.path().join("cli.json"))
        .env("CHORUS_CHECK_DATABASE", postgres_admin_url())
        .env("CHORUS_SERVER", cluster.node(0).base_url())
        .env("CHORUS_PASSWORD", "password-admin");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the guide failed:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("PASSED"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("com.example.hello-counter") && l.contains("running")),
        "the plugin runs after the guide: {stdout}"
    );
    cluster.shutdown().await;
}

#[test]
fn shell_blocks_are_found_in_order() {
    let text = "intro\n```sh\na\nb\n```\n```yaml\nno\n```\n```sh\nc\n```\n";
    assert_eq!(
        shell_blocks(text),
        vec!["a\nb\n".to_string(), "c\n".to_string()]
    );
}
