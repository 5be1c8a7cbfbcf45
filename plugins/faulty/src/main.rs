//! A plugin that misbehaves on request, for the server's fault tests:
//!
//! - a post containing `hang-hook` makes `MessageWillBePosted` sleep for a minute;
//! - a post containing `crash-now` makes the process exit inside `MessageWillBePosted`;
//! - `POST /crash` exits the process; `POST /crash-loop` stores a flag that makes every
//!   later start fail in `OnActivate` by exiting, so the plugin crash-loops;
//! - `GET /pid` answers the process id, to tell a restarted process from the old one;
//! - `POST /api-flood?calls=<n>&op=<set|get|cas>` makes `n` plugin API calls (KV
//!   writes by default), 64 at a time, and answers how many succeeded and how long
//!   they took (the KV benchmark of `chorus-bench` uses it);
//! - `POST /flood?mb=<n>` prints `n` MiB of log lines on stdout and stderr as fast as it
//!   can (in the background; it answers at once);
//! - `POST /kv/incr/<key>` increments a counter with compare-and-set retries and
//!   answers the new value; `GET /kv/<key>` reads it;
//! - `GET /echo` answers the query string and headers it was given (to show what the
//!   server lets through);
//! - `GET /status/<n>` answers with status `n`, whatever it is (101 included);
//! - `POST /helpers` starts two `sleep` processes, one its own child and one
//!   daemonised (double fork and `setsid`, re-parented away from the plugin), and
//!   answers both pids: what the server must end when the plugin stops;
//! - `POST /probe` with `{"read": [paths], "write": [paths]}` tries to read each file
//!   and to create (then remove) each file, and answers what the OS said for each:
//!   what the server's confinement lets a plugin reach.

use chorus_plugin::{
    Api, Context, Hook, HookError, HttpRequest, HttpResponse, Plugin, Post, PostDecision,
};
use std::time::Duration;

const CRASH_LOOP_FLAG: &str = "crash-loop";

struct Faulty;

async fn increment(api: &Api, key: &str) -> Result<u64, chorus_plugin::ApiError> {
    loop {
        let old = api.kv_get(key).await?;
        let current: u64 = old
            .as_deref()
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|text| text.parse().ok())
            .unwrap_or(0);
        let next = current + 1;
        if api
            .kv_compare_and_set(key, old.as_deref(), next.to_string())
            .await?
        {
            return Ok(next);
        }
    }
}

impl Plugin for Faulty {
    fn implemented(&self) -> Vec<Hook> {
        vec![Hook::OnActivate, Hook::MessageWillBePosted, Hook::ServeHttp]
    }

    async fn on_activate(&self, api: &Api) -> Result<(), HookError> {
        if api.kv_get(CRASH_LOOP_FLAG).await?.is_some() {
            std::process::exit(4);
        }
        Ok(())
    }

    async fn message_will_be_posted(
        &self,
        _api: &Api,
        _ctx: &Context,
        post: Post,
    ) -> Result<PostDecision, HookError> {
        if post.message.contains("hang-hook") {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        if post.message.contains("crash-now") {
            std::process::exit(3);
        }
        Ok(PostDecision::Accept)
    }

    async fn serve_http(&self, api: &Api, request: HttpRequest) -> HttpResponse {
        let path = request.path.clone();
        match (request.method.as_str(), path.as_str()) {
            ("GET", "/pid") => {
                HttpResponse::json(200, &serde_json::json!({"pid": std::process::id()}))
            }
            ("POST", "/crash") => std::process::exit(5),
            ("GET", "/echo") => HttpResponse::json(
                200,
                &serde_json::json!({
                    "query": request.query,
                    "headers": request.headers.iter().map(|(name, value)| format!("{name}: {value}")).collect::<Vec<_>>(),
                }),
            ),
            ("GET", _) if path.starts_with("/status/") => {
                let status = path["/status/".len()..].parse().unwrap_or(500);
                HttpResponse::text(status, "as asked")
            }
            ("POST", "/probe") => probe(&request.body),
            ("POST", "/helpers") => match start_helpers() {
                Ok((child, daemon)) => {
                    HttpResponse::json(200, &serde_json::json!({"child": child, "daemon": daemon}))
                }
                Err(err) => HttpResponse::text(500, err.to_string()),
            },
            ("POST", "/api-flood") => {
                let param = |name: &str| {
                    request.query.split('&').find_map(|pair| {
                        pair.strip_prefix(name)
                            .and_then(|rest| rest.strip_prefix('='))
                            .map(str::to_string)
                    })
                };
                let calls: usize = param("calls").and_then(|n| n.parse().ok()).unwrap_or(1000);
                let op = match param("op").as_deref() {
                    None | Some("set") => KvOp::Set,
                    Some("get") => KvOp::Get,
                    Some("cas") => KvOp::CompareAndSet,
                    Some(other) => {
                        return HttpResponse::text(400, format!("unknown op {other}"));
                    }
                };
                let started = std::time::Instant::now();
                let (succeeded, failed) = api_flood(api, calls, op).await;
                HttpResponse::json(
                    200,
                    &serde_json::json!({
                        "succeeded": succeeded,
                        "failed": failed,
                        "seconds": started.elapsed().as_secs_f64(),
                    }),
                )
            }
            ("POST", "/flood") => {
                let mebibytes: usize = request
                    .query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix("mb="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(16);
                std::thread::spawn(move || flood(mebibytes));
                HttpResponse::json(202, &serde_json::json!({"flooding_mb": mebibytes}))
            }
            ("POST", "/crash-loop") => match api.kv_set(CRASH_LOOP_FLAG, "on").await {
                Ok(()) => std::process::exit(6),
                Err(err) => HttpResponse::text(500, err.to_string()),
            },
            ("POST", _) if path.starts_with("/kv/incr/") => {
                match increment(api, &path["/kv/incr/".len()..]).await {
                    Ok(value) => HttpResponse::json(200, &serde_json::json!({"value": value})),
                    Err(err) => HttpResponse::text(500, err.to_string()),
                }
            }
            ("GET", _) if path.starts_with("/kv/") => match api.kv_get(&path["/kv/".len()..]).await
            {
                Ok(Some(bytes)) => {
                    HttpResponse::text(200, String::from_utf8_lossy(&bytes).into_owned())
                }
                Ok(None) => HttpResponse::not_found(),
                Err(err) => HttpResponse::text(500, err.to_string()),
            },
            _ => HttpResponse::not_found(),
        }
    }
}

#[derive(Clone, Copy)]
enum KvOp {
    Set,
    Get,
    CompareAndSet,
}

/// `calls` KV calls on 256 keys, 64 in flight. Gets and compare-and-sets find their
/// keys present (seeded first, outside the count), so each is a real read or update.
async fn api_flood(api: &Api, calls: usize, op: KvOp) -> (usize, usize) {
    const KEYS: usize = 256;
    if !matches!(op, KvOp::Set) {
        for key in 0..KEYS {
            if api.kv_set(format!("flood-{key}"), "seed").await.is_err() {
                return (0, calls);
            }
        }
    }
    let mut succeeded = 0;
    let mut failed = 0;
    let mut next = 0;
    while next < calls {
        let batch: Vec<_> = (next..calls.min(next + 64))
            .map(|i| {
                let api = api.clone();
                let key = format!("flood-{}", i % KEYS);
                tokio::spawn(async move {
                    match op {
                        KvOp::Set => api.kv_set(key, i.to_string()).await,
                        KvOp::Get => api.kv_get(key).await.map(drop),
                        KvOp::CompareAndSet => api
                            .kv_compare_and_set(key, Some(b"seed".as_slice()), "seed")
                            .await
                            .map(drop),
                    }
                })
            })
            .collect();
        next += batch.len();
        for call in batch {
            match call.await {
                Ok(Ok(())) => succeeded += 1,
                _ => failed += 1,
            }
        }
    }
    (succeeded, failed)
}

fn probe(body: &[u8]) -> HttpResponse {
    let Ok(asked) = serde_json::from_slice::<serde_json::Value>(body) else {
        return HttpResponse::text(400, "expected {\"read\": [...], \"write\": [...]}");
    };
    let paths = |key: &str| -> Vec<String> {
        asked[key]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let outcome = |result: std::io::Result<()>| match result {
        Ok(()) => "ok".to_string(),
        Err(err) => err.to_string(),
    };
    let mut read = serde_json::Map::new();
    for path in paths("read") {
        let result = std::fs::read(&path).map(|_| ());
        read.insert(path, outcome(result).into());
    }
    let mut write = serde_json::Map::new();
    for path in paths("write") {
        let result = std::fs::write(&path, b"probe").and_then(|()| std::fs::remove_file(&path));
        write.insert(path, outcome(result).into());
    }
    HttpResponse::json(200, &serde_json::json!({"read": read, "write": write}))
}

/// A `sleep` child of the plugin, and a `sleep` the shell daemonises (its parent shell
/// exits at once, and `setsid` gives it a session of its own): answers both pids.
fn start_helpers() -> std::io::Result<(u32, u32)> {
    let child = std::process::Command::new("sleep").arg("600").spawn()?;
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("setsid sleep 601 >/dev/null 2>&1 < /dev/null & echo $!")
        .output()?;
    let daemon = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| std::io::Error::other("no daemon pid"))?;
    let pid = child.id();
    // Deliberately not waited for: the server must clean it up.
    std::mem::forget(child);
    Ok((pid, daemon))
}

/// Writes `mebibytes` MiB of 100-byte lines, alternating stdout and stderr.
fn flood(mebibytes: usize) {
    use std::io::Write;
    let line = format!("{}\n", "flood ".repeat(16));
    let lines = mebibytes * 1024 * 1024 / line.len();
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for i in 0..lines {
        let written = if i % 2 == 0 {
            out.write_all(line.as_bytes())
        } else {
            err.write_all(line.as_bytes())
        };
        if written.is_err() {
            return;
        }
    }
    let _ = out.flush();
}

fn main() {
    chorus_plugin::serve(Faulty)
}
