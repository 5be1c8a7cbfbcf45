//! Files: the upload and download throughput of a 50 MB file through a node, beside
//! `curl` moving the same file through nginx (a PUT into its DAV module, a GET of a
//! static file) in the same run, and the node's peak memory while 8 clients upload 50
//! MB each at once (uploads stream, so it should stay flat). Every transfer is made by
//! the same `curl`, so the client's cost is the same on both sides.

use crate::memory::rss_mib;
use crate::report::{Report, Row, Target};
use chorus_testkit::{Endpoint, Node};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FILE_BYTES: usize = 50 * 1000 * 1000;
const CONCURRENT_UPLOADS: usize = 8;
/// The memory target above idle during the concurrent uploads.
const RSS_TARGET_MIB: f64 = 64.0;
const RUNS: usize = 3;

/// nginx serving `root` on a port of its own; stopped when dropped.
struct Nginx {
    child: Child,
    port: u16,
}

impl Drop for Nginx {
    /// SIGTERM, not SIGKILL: nginx's master stops its workers only when it is asked
    /// to stop, and a killed master leaves them running.
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signalling the nginx master this run started.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_nginx(dir: &Path) -> Result<Nginx, String> {
    let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or("nginx is not installed (apt-get install nginx-light)")?;
    let port = free_port();
    let root = dir.join("www");
    std::fs::create_dir_all(root.join("upload")).map_err(|e| e.to_string())?;
    let d = dir.display();
    // Run as root, nginx's workers would be `nobody`, who cannot write into this
    // run's private folder.
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root;\n"
    } else {
        ""
    };
    let config = format!(
        "{user}daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    client_max_body_size 200m;\n\
             location /upload/ {{ dav_methods PUT; create_full_put_path on; }}\n  }}\n}}\n",
        root = root.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    let child = Command::new(binary)
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start nginx: {e}"))?;
    let nginx = Nginx { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(nginx);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err("nginx did not start listening".into())
}

/// One `curl` transfer; answers its seconds, or why it failed.
fn curl(args: &[&str]) -> Result<f64, String> {
    let started = Instant::now();
    let out = Command::new("curl")
        .args(["-sS", "-f", "-o", "/dev/null"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "curl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The best of [`RUNS`] transfers, in MB/s.
fn best_rate(transfer: impl Fn() -> Result<f64, String>) -> Result<f64, String> {
    let mut best = f64::MAX;
    for _ in 0..RUNS {
        best = best.min(transfer()?);
    }
    Ok(FILE_BYTES as f64 / 1e6 / best)
}

pub async fn run(report: &mut Report, node: &Node, label: &str) {
    let result = measure(report, node, label).await;
    if let Err(err) = result {
        report.skipped.push(format!("files ({label}): {err}"));
    }
}

async fn measure(report: &mut Report, node: &Node, label: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("fifty.bin");
    let data: Vec<u8> = (0..FILE_BYTES).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).map_err(|e| e.to_string())?;
    drop(data);
    let file_arg = format!("@{}", file.display());
    let nginx = start_nginx(dir.path())?;
    std::fs::copy(&file, dir.path().join("www/fifty.bin")).map_err(|e| e.to_string())?;

    let (admin, _) = node.user("filer").await;
    let team = chorus_testkit::client::id(&admin.team("transfers").await);
    let channel = chorus_testkit::client::id(&admin.channel(&team, "drop", "O").await);
    let auth = format!("Authorization: Bearer {}", admin.token());
    let upload_url = format!(
        "{}/api/v4/files?channel_id={channel}&filename=fifty.bin",
        node.base_url()
    );
    let reference_put = format!("http://127.0.0.1:{}/upload/fifty.bin", nginx.port);
    let reference_get = format!("http://127.0.0.1:{}/fifty.bin", nginx.port);

    let nginx_up = best_rate(|| curl(&["-T", &file.display().to_string(), &reference_put]))?;
    let chorus_up = best_rate(|| {
        curl(&[
            "-H",
            &auth,
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &file_arg,
            &upload_url,
        ])
    })?;
    report.add(
        Row::new(
            "files",
            format!("{label}: upload of a 50 MB file (raw body)"),
            chorus_up,
            "MB/s",
        )
        .against("curl PUT through nginx", nginx_up),
    );

    let (_, uploaded) = admin
        .upload_file(
            &channel,
            "fifty.bin",
            std::fs::read(&file).map_err(|e| e.to_string())?,
        )
        .await;
    let file_id = chorus_testkit::client::id(&uploaded["file_infos"][0]);
    let download_url = format!("{}/api/v4/files/{file_id}", node.base_url());
    let nginx_down = best_rate(|| curl(&[&reference_get]))?;
    let chorus_down = best_rate(|| curl(&["-H", &auth, &download_url]))?;
    report.add(
        Row::new(
            "files",
            format!("{label}: download of a 50 MB file"),
            chorus_down,
            "MB/s",
        )
        .against("curl GET through nginx", nginx_down),
    );

    // Peak memory during 8 concurrent uploads, sampled while they run.
    let pid = node.pid().ok_or("the node is not running")?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_mib(pid);
    let uploads: Vec<Child> = (0..CONCURRENT_UPLOADS)
        .map(|_| {
            Command::new("curl")
                .args(["-sS", "-f", "-o", "/dev/null", "-H", &auth])
                .args(["-H", "Content-Type: application/octet-stream"])
                .args(["--data-binary", &file_arg, &upload_url])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run curl: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let mut peak = idle;
    let mut uploads = uploads;
    loop {
        peak = peak.max(rss_mib(pid));
        let mut running = 0;
        for child in &mut uploads {
            if child.try_wait().map_err(|e| e.to_string())?.is_none() {
                running += 1;
            }
        }
        if running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for child in &mut uploads {
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("one of the concurrent uploads failed".into());
        }
    }
    report.add(
        Row::new(
            "files",
            format!(
                "{label}: peak RSS above idle during {CONCURRENT_UPLOADS} concurrent 50 MB uploads"
            ),
            peak - idle,
            "MiB",
        )
        .target(Target::AtMost(RSS_TARGET_MIB)),
    );
    drop(nginx);
    Ok(())
}
