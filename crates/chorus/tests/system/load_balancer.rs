//! The sample nginx configuration of `docs/examples/nginx-chorus.conf`, run for real in
//! front of a two-node cluster: REST and websocket upgrades pass through, the health
//! endpoint answers, and when a node is killed the load balancer keeps serving from the
//! other one, where clients reconnect.

use chorus_testkit::client::{event_post, id};
use chorus_testkit::cluster::free_port;
use chorus_testkit::{Endpoint, Ws};
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// nginx running the sample configuration; killed when dropped.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Endpoint for Nginx {
    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers, then exits. SIGKILL would leave the
        // workers running, orphaned.
        // SAFETY: signalling the nginx master this test started.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The sample with its upstreams pointed at `nodes` and its listener on `port`.
fn sample_for(nodes: &[u16], port: u16) -> String {
    let sample_path =
        chorus_testkit::plugins::workspace_root().join("docs/examples/nginx-chorus.conf");
    let sample = std::fs::read_to_string(sample_path).expect("the sample exists");
    let mut out = String::new();
    let mut upstreams_written = false;
    for line in sample.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("server 10.0.0.") {
            if !upstreams_written {
                for node in nodes {
                    out.push_str(&line.replace(
                        trimmed.split_whitespace().nth(1).unwrap(),
                        &format!("127.0.0.1:{node}"),
                    ));
                    out.push('\n');
                }
                upstreams_written = true;
            }
            continue;
        }
        if trimmed == "listen 80;" {
            out.push_str(&format!("    listen 127.0.0.1:{port};\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(upstreams_written, "the sample has no upstream servers");
    out
}

fn start_nginx(binary: &Path, nodes: &[u16]) -> Nginx {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let path = dir.path();
    std::fs::write(path.join("chorus.conf"), sample_for(nodes, port)).unwrap();
    let main = format!(
        "daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n\
           fastcgi_temp_path {p}/fastcgi;\n  uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n\
           include {p}/chorus.conf;\n}}\n",
        p = path.display()
    );
    std::fs::write(path.join("nginx.conf"), main).unwrap();
    let child = Command::new(binary)
        .arg("-p")
        .arg(path)
        .arg("-c")
        .arg(path.join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nginx");
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

async fn wait_ping(endpoint: &impl Endpoint) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("{}/api/v4/system/ping", endpoint.base_url());
    loop {
        if reqwest::get(&url)
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            return;
        }
        assert!(Instant::now() < deadline, "nothing answers at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_nginx_configuration_balances_and_fails_over() {
    let Some(binary) = nginx_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx is required under CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED (nginx is not installed)");
        return;
    };
    let Some(mut cluster) = crate::support::start_cluster(2).await else {
        return;
    };
    let ports: Vec<u16> = cluster.nodes().iter().map(|n| n.port).collect();
    let nginx = start_nginx(&binary, &ports);
    wait_ping(&nginx).await;

    // Everything through the load balancer.
    let (admin, _) = nginx.user("admin").await;
    let team_id = id(&admin.team("lb").await);
    let channel_id = id(&admin.channel(&team_id, "lb", "O").await);
    let (alice, alice_user) = nginx.member(&admin, &team_id, "alice").await;
    admin.add_to_channel(&channel_id, &id(&alice_user)).await;
    let mut socket = Ws::ready(&nginx, alice.token()).await;
    let post = admin.create_post(&channel_id, "through nginx").await;
    let event = socket.expect_event("posted").await;
    assert_eq!(event_post(&event)["id"], post["id"]);

    // Requests are spread: both nodes answer pings through nginx.
    let mut seen_nodes = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (status, ping) = nginx.client().get("/system/ping").await;
        assert_eq!(status, StatusCode::OK);
        seen_nodes.insert(ping["node_id"].as_str().unwrap().to_string());
    }
    assert_eq!(seen_nodes.len(), 2, "round robin reaches both nodes");

    // A node dies: the other keeps serving through the same address, and the socket's
    // client reconnects through it.
    cluster.kill(0);
    for _ in 0..20 {
        let (status, me) = alice.get("/users/me").await;
        assert_eq!(
            (status, me["id"].clone()),
            (StatusCode::OK, json!(id(&alice_user)))
        );
    }
    let mut socket = Ws::ready(&nginx, alice.token()).await;
    let post = admin.create_post(&channel_id, "after the failover").await;
    let event = socket.expect_event("posted").await;
    assert_eq!(event_post(&event)["id"], post["id"]);
    let workers = chorus_testkit::plugins::child_processes(nginx.child.id(), "nginx");
    assert!(!workers.is_empty(), "nginx runs workers");
    drop(nginx);
    for worker in workers {
        assert!(
            !chorus_testkit::plugins::process_alive(worker),
            "nginx worker {worker} outlived the test"
        );
    }
    cluster.shutdown().await;
}
