//! `chorus server` as a user runs it: a real process, its stdout line, its files, its
//! exit on SIGTERM, and its refusal of bad configuration.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn chorus() -> Command {
    crate::support::chorus_command()
}

/// A started server that is killed when the test ends, also when an assertion fails.
struct Running(Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for the "listening" line and returns the URL it names.
fn listening_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read stdout");
    line.trim()
        .strip_prefix("Chorus server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string()
}

fn http_get(url: &str, path: &str) -> String {
    let address = url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read reply");
    reply
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().ok();
    panic!("the server did not stop within 10 s of SIGTERM");
}

#[test]
fn starts_on_embedded_sqlite_serves_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Running(
        chorus()
            .arg("server")
            .current_dir(dir.path())
            // Port 0 instead of 8065 so that the test never collides with a running server.
            .env("CHORUS_SERVICESETTINGS_LISTENADDRESS", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chorus"),
    );
    let url = listening_url(&mut child);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let reply = http_get(&url, "/api/v4/system/ping");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"status\":\"OK\""), "{reply}");
    assert!(
        dir.path().join("data/chorus.db").exists(),
        "the default database file ./data/chorus.db was not created"
    );
    let status = terminate(&mut child);
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[test]
fn config_file_is_read_and_env_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"ServiceSettings":{"ListenAddress":"127.0.0.1:1"},"SqlSettings":{"DataSource":"custom/chat.db"}}"#,
    )
    .unwrap();
    let mut child = Running(
        chorus()
            .args(["server", "--config"])
            .arg(&config)
            .current_dir(dir.path())
            .env("CHORUS_SERVICESETTINGS_LISTENADDRESS", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chorus"),
    );
    let url = listening_url(&mut child);
    assert!(
        !url.ends_with(":1"),
        "the environment should override the file: {url}"
    );
    assert!(
        dir.path().join("custom/chat.db").exists(),
        "DataSource from the file was not used"
    );
    assert!(terminate(&mut child).success());
}

#[test]
fn bad_configuration_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = chorus()
        .arg("server")
        .current_dir(dir.path())
        .env("CHORUS_SQLSETTINGS_DRIVERNAME", "oracle")
        .output()
        .expect("run chorus");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SqlSettings.DriverName"), "{stderr}");

    let missing = chorus()
        .args(["server", "--config", "does-not-exist.json"])
        .current_dir(dir.path())
        .output()
        .expect("run chorus");
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("does-not-exist.json"), "{stderr}");
}

#[test]
fn runs_on_postgres_when_configured() {
    let url = std::env::var("CHORUS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let dir = tempfile::tempdir().unwrap();
    let database = format!("chorus_cli_{}", std::process::id());
    let psql = |sql: &str| {
        Command::new("psql")
            .args([url.as_str(), "-qAtc", sql])
            .output()
    };
    match psql(&format!("CREATE DATABASE {database}")) {
        Ok(out) if out.status.success() => {}
        other => {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL (and psql) are required under CI: {other:?}");
            }
            eprintln!("SKIPPED: cannot create a PostgreSQL database with psql: {other:?}");
            return;
        }
    }
    let database_url = match url.rfind('/') {
        Some(at) => format!("{}/{database}", &url[..at]),
        None => unreachable!(),
    };
    let mut child = Running(
        chorus()
            .arg("server")
            .current_dir(dir.path())
            .env("CHORUS_SERVICESETTINGS_LISTENADDRESS", "127.0.0.1:0")
            .env("CHORUS_SQLSETTINGS_DRIVERNAME", "postgres")
            .env("CHORUS_SQLSETTINGS_DATASOURCE", &database_url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chorus"),
    );
    let server = listening_url(&mut child);
    let reply = http_get(&server, "/api/v4/system/ping?get_server_status=true");
    assert!(reply.contains("\"database_status\":\"OK\""), "{reply}");
    assert!(terminate(&mut child).success());
    let tables = Command::new("psql")
        .args([
            database_url.as_str(),
            "-qAtc",
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'posts'",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&tables.stdout).trim(),
        "1",
        "migrations did not run on PostgreSQL"
    );
    assert!(
        !dir.path().join("data").exists(),
        "no SQLite file should be created on PostgreSQL"
    );
    let _ = psql(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
}

/// Builds the `faulty` test plugin and lays it out in `plugins_dir` as an operator
/// would unpack it (PluginSettings.Directory).
fn unpack_faulty_plugin(plugins_dir: &std::path::Path) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "faulty"])
        .current_dir(&root)
        .status()
        .expect("cargo build");
    assert!(status.success());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let folder = plugins_dir.join("com.chorus.test.faulty");
    std::fs::create_dir_all(folder.join("server/dist")).unwrap();
    std::fs::copy(
        root.join("plugins/faulty/plugin.json"),
        folder.join("plugin.json"),
    )
    .unwrap();
    std::fs::copy(
        target.join("debug/faulty"),
        folder.join("server/dist/plugin"),
    )
    .unwrap();
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

#[test]
fn operator_unpacked_plugins_start_and_die_with_a_killed_server() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    unpack_faulty_plugin(&plugins);
    let mut child = Running(
        chorus()
            .arg("server")
            .current_dir(dir.path())
            .env("CHORUS_SERVICESETTINGS_LISTENADDRESS", "127.0.0.1:0")
            // The default, relative `./plugins`: paths inside it must resolve once,
            // not again from the plugin's own working folder.
            .env_remove("CHORUS_PLUGINSETTINGS_DIRECTORY")
            .env(
                "CHORUS_PLUGINSETTINGS_PLUGINSTATES",
                r#"{"com.chorus.test.faulty": {"Enable": true}}"#,
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chorus"),
    );
    let url = listening_url(&mut child);
    let server_pid = child.id();
    let mut plugin_pids = Vec::new();
    for _ in 0..200 {
        plugin_pids = chorus_testkit::plugins::child_processes(server_pid, "");
        if !plugin_pids.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        plugin_pids.len(),
        1,
        "the enabled plugin should run as a child of the server"
    );
    // The process exists before its handshake completes; wait until it serves.
    let mut reply = String::new();
    for _ in 0..200 {
        reply = http_get(&url, "/plugins/com.chorus.test.faulty/pid");
        if reply.starts_with("HTTP/1.1 200") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply.contains(&format!("\"pid\":{}", plugin_pids[0])),
        "{reply}"
    );

    child.kill().expect("kill -9 the server");
    child.wait().unwrap();
    let plugin = plugin_pids[0];
    for _ in 0..100 {
        if !alive(plugin) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("plugin process {plugin} outlived its killed server");
}

#[test]
fn plugin_bundle_packs_manifest_and_executable_and_refuses_non_plugins() {
    let dir = tempfile::tempdir().unwrap();
    unpack_faulty_plugin(&dir.path().join("built"));
    let executable = dir
        .path()
        .join("built/com.chorus.test.faulty/server/dist/plugin");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = dir.path().join("faulty.tar.gz");
    let run = chorus()
        .args(["plugin", "bundle"])
        .arg(root.join("plugins/faulty"))
        .arg("--executable")
        .arg(&executable)
        .arg("-o")
        .arg(&output)
        .output()
        .expect("run chorus plugin bundle");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(&output)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("com.chorus.test.faulty/plugin.json"),
        "{listing}"
    );
    assert!(
        listing.contains("com.chorus.test.faulty/server/dist/plugin"),
        "{listing}"
    );

    let not_a_plugin = chorus()
        .args(["plugin", "bundle"])
        .arg(dir.path())
        .output()
        .expect("run chorus plugin bundle");
    assert!(!not_a_plugin.status.success());
    let stderr = String::from_utf8_lossy(&not_a_plugin.stderr);
    assert!(
        stderr.contains("not a plugin folder") && stderr.contains("no manifest"),
        "{stderr}"
    );
}
