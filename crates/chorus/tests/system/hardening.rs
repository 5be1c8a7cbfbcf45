//! Hardening, measured on real `chorus server` processes: memory under a login flood
//! and under maximum-size posts to hundreds of sockets (read from `/proc`, never
//! timed), and plugin helpers (children and daemonised grandchildren) ended with their
//! plugin and with the server.

use crate::support::cluster_builder;
use chorus_testkit::client::id;
use chorus_testkit::plugins::{plugin_bundle, process_alive, process_memory_bytes};
use chorus_testkit::{Endpoint, Node, Ws};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;
const FAULTY: &str = "com.chorus.test.faulty";

/// A field of `/proc/<pid>/status` in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(pid: u32, field: &str) -> u64 {
    process_memory_bytes(pid, field).unwrap_or_else(|| panic!("no {field} for process {pid}"))
}

/// Waits (bounded) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_stays_within_bounded_memory() {
    let cluster = cluster_builder(1).sqlite().start().await.unwrap();
    let node = cluster.node(0);
    let pid = node.pid().unwrap();
    node.user("alice").await;
    node.user("bob").await;
    // Warm up: one login of each kind.
    let anonymous = node.client();
    anonymous.login("alice", "password-alice").await;
    let before = status_bytes(pid, "VmRSS");
    let peak_before = status_bytes(pid, "VmHWM");
    let floods = (0..200).map(|n| {
        let http = reqwest::Client::new();
        let url = format!("{}/api/v4/users/login", node.base_url());
        async move {
            http.post(url)
                .json(&json!({"login_id": if n % 2 == 0 { "bob" } else { "nobody" }, "password": "a-wrong-password"}))
                .send()
                .await
                .map(|reply| reply.status())
        }
    });
    let statuses = futures_util::future::join_all(floods).await;
    let mut refused_busy = 0;
    for status in &statuses {
        let status = status.as_ref().expect("the server answered every login");
        match *status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => refused_busy += 1,
            other => panic!("unexpected {other}"),
        }
    }
    let peak = status_bytes(pid, "VmHWM").max(peak_before);
    let grown_at_peak = peak.saturating_sub(before);
    eprintln!(
        "login flood: RSS {} MiB before, peak +{} MiB, {refused_busy} of 200 refused as busy",
        before / MIB,
        grown_at_peak / MIB
    );
    // Unbounded, 200 Argon2id hashes of 19 MiB at once took gigabytes.
    assert!(
        grown_at_peak < 150 * MIB,
        "a 200-login flood grew the server by {} MiB at its peak",
        grown_at_peak / MIB
    );
    // Freed hashing memory goes back to the system after the burst.
    let mut after = status_bytes(pid, "VmRSS");
    let deadline = Instant::now() + Duration::from_secs(10);
    while after > before + 100 * MIB && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = status_bytes(pid, "VmRSS");
    }
    assert!(
        after < before + 100 * MIB,
        "the server kept {} MiB after the flood",
        (after - before) / MIB
    );
    // The attacked account is locked now; anybody else still gets in.
    let (status, locked) = anonymous
        .post(
            "/users/login",
            json!({"login_id": "bob", "password": "password-bob"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        locked["id"],
        "api.user.check_user_login_attempts.too_many.app_error"
    );
    anonymous.login("alice", "password-alice").await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn maximum_size_posts_to_hundreds_of_sockets_stay_within_bounded_memory() {
    let cluster = cluster_builder(1)
        .sqlite()
        .env("CHORUS_SERVICESETTINGS_MAXIMUMWEBSOCKETSPERUSER", "1000")
        .env("CHORUS_SERVICESETTINGS_MAXIMUMWEBSOCKETSPERSESSION", "1000")
        .start()
        .await
        .unwrap();
    let node = cluster.node(0);
    let pid = node.pid().unwrap();
    let (admin, _) = node.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    let (bob, _) = node.member(&admin, &team_id, "bob").await;
    let mut sockets = Vec::new();
    for _ in 0..200 {
        sockets.push(Ws::try_ready(node, bob.token()).await.expect("socket"));
    }
    // Half of them drop, leaving resume state behind.
    let dropped: Vec<Ws> = sockets.drain(..100).collect();
    for socket in dropped {
        socket.close().await;
    }
    let before = status_bytes(pid, "VmRSS");
    // The longest message there is: 16,383 characters of four bytes each.
    let message = "\u{1F600}".repeat(16_383);
    for _ in 0..30 {
        admin.create_post(&town, &message).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = status_bytes(pid, "VmRSS");
    let grown = after.saturating_sub(before);
    eprintln!(
        "30 posts of 64 KiB to 200 sockets (100 dropped): RSS {} MiB before, +{} MiB after",
        before / MIB,
        grown / MIB
    );
    // Each of 200 connections used to keep its own formatted copy of every event.
    assert!(grown < 100 * MIB, "the node grew by {} MiB", grown / MIB);
    // The live sockets still got every post.
    let mut live = sockets.pop().unwrap();
    for _ in 0..30 {
        let posted = live.expect_event("posted").await;
        assert!(posted["data"]["post"]
            .as_str()
            .unwrap()
            .contains("\u{1F600}\u{1F600}"));
    }
    drop(sockets);
    cluster.shutdown().await;
}

async fn start_helpers(node: &Node, admin: &chorus_testkit::Api) -> (u32, u32) {
    let (status, pids) = admin
        .send(admin.plugin_request(Method::POST, FAULTY, "/helpers"))
        .await;
    assert_eq!(status, StatusCode::OK, "{pids} {}", node.log());
    let pid = |key: &str| pids[key].as_u64().unwrap() as u32;
    (pid("child"), pid("daemon"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_helpers_end_with_the_plugin_and_the_server() {
    let mut cluster = cluster_builder(1).sqlite().start().await.unwrap();
    let node = cluster.node(0);
    let (admin, _) = node.user("admin").await;
    admin
        .install_plugin(plugin_bundle("faulty", "faulty"))
        .await;

    let (child, daemon) = start_helpers(node, &admin).await;
    assert!(process_alive(child), "the helper did not start");
    // A daemonised process is re-parented to the server, which ends it.
    eventually("the daemonised helper is ended", || !process_alive(daemon)).await;
    assert!(
        process_alive(child),
        "the plugin's own child lives while the plugin runs"
    );
    let (status, body) = admin
        .send(admin.request(Method::POST, &format!("/plugins/{FAULTY}/disable")))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    eventually("the plugin's child ends with it", || !process_alive(child)).await;

    // Again, and this time the server stops.
    let (status, _) = admin
        .send(admin.request(Method::POST, &format!("/plugins/{FAULTY}/enable")))
        .await;
    assert_eq!(status, StatusCode::OK);
    admin.wait_for_plugin_state(FAULTY, 2).await;
    let (child, _) = start_helpers(node, &admin).await;
    assert!(process_alive(child));
    cluster.stop(0).await;
    assert!(
        !process_alive(child),
        "a plugin's child outlived the server"
    );
    cluster.shutdown().await;
}

/// The user the environment test runs its processes as.
const NOBODY: &str = "65534";

/// `setpriv` running `program` as user and group `nobody`.
fn as_nobody(program: &str) -> std::process::Command {
    let mut command = std::process::Command::new("setpriv");
    command.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
        program,
    ]);
    command
}

/// Whether another process of user `nobody` can read `/proc/<pid>/environ`.
fn environ_readable_by_nobody(pid: u32) -> bool {
    as_nobody("cat")
        .arg(format!("/proc/{pid}/environ"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("setpriv (util-linux) runs")
        .success()
}

/// A plugin runs as the server's user; when that is not root (root reads everything
/// anyway), the server's environment, with its database credentials, must stay
/// unreadable to it. The server runs as `nobody` here, and so does the reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_environment_cannot_be_read_by_its_plugins() {
    use std::io::BufRead;
    // The control: an ordinary process of that user is readable.
    let mut control = as_nobody("sleep").arg("30").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        environ_readable_by_nobody(control.id()),
        "the control process was unreadable"
    );
    control.kill().unwrap();
    control.wait().unwrap();

    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let port = chorus_testkit::cluster::free_port();
    let mut server = as_nobody(env!("CARGO_BIN_EXE_chorus"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CHORUS_") {
            server.env_remove(key);
        }
    }
    let mut server = server
        .arg("server")
        .current_dir(dir.path())
        .env(
            "CHORUS_SERVICESETTINGS_LISTENADDRESS",
            format!("127.0.0.1:{port}"),
        )
        .env(
            "CHORUS_SQLSETTINGS_DATASOURCE",
            dir.path().join("chorus.db"),
        )
        .env(
            "CHORUS_PLUGINSETTINGS_DIRECTORY",
            dir.path().join("plugins"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    assert!(
        first_line.contains("listening"),
        "the server did not start as nobody: {first_line:?}"
    );
    // setpriv execs the server in place, so its pid is the server's.
    let readable = environ_readable_by_nobody(server.id());
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        !readable,
        "/proc/<server>/environ (the database credentials) is readable by the server's user"
    );
}

/// Where the kernel has Landlock (always under CI here), a plugin reaches neither the
/// SQLite files nor other plugins' folders, and writes only in its own folder and its
/// temporary folder; it still reads the system's files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_confined_to_their_own_files() {
    // SAFETY: asking for the Landlock ABI version passes no memory.
    let abi = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, 0usize, 0usize, 1u32) };
    if abi < 1 {
        assert!(
            std::env::var_os("CI").is_none(),
            "this kernel has no Landlock"
        );
        eprintln!("SKIPPED: this kernel has no Landlock");
        return;
    }
    let cluster = cluster_builder(1).sqlite().start().await.unwrap();
    let node = cluster.node(0);
    let (admin, _) = node.user("admin").await;
    admin
        .install_plugin(plugin_bundle("faulty", "faulty"))
        .await;
    let plugin_root = node.plugin_dir();
    let own = plugin_root.join(FAULTY);
    // A neighbour's folder, as an operator would have deployed it.
    let neighbour = plugin_root.join("com.example.neighbour");
    std::fs::create_dir_all(&neighbour).unwrap();
    std::fs::write(neighbour.join("plugin.json"), "{}").unwrap();
    let database = node.plugin_dir().parent().unwrap().join("chorus.db");
    assert!(database.exists(), "{}", database.display());
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let (status, seen) = admin
        .send(
            admin
                .plugin_request(Method::POST, FAULTY, "/probe")
                .json(&json!({
                    "read": [path(&database), path(&neighbour.join("plugin.json")), "/etc/hostname", path(&own.join("plugin.json"))],
                    "write": [path(&database.with_extension("evil")), path(&neighbour.join("server")), path(&own.join("scratch"))],
                })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let verdict =
        |kind: &str, p: &std::path::Path| seen[kind][path(p)].as_str().unwrap().to_string();
    for refused in [
        verdict("read", &database),
        verdict("read", &neighbour.join("plugin.json")),
        verdict("write", &database.with_extension("evil")),
        verdict("write", &neighbour.join("server")),
    ] {
        assert!(refused.contains("ermission denied"), "reached: {seen}");
    }
    assert_eq!(seen["read"]["/etc/hostname"], "ok", "{seen}");
    assert_eq!(verdict("read", &own.join("plugin.json")), "ok", "{seen}");
    assert_eq!(verdict("write", &own.join("scratch")), "ok", "{seen}");
    assert!(!database.with_extension("evil").exists());
    cluster.shutdown().await;
}
