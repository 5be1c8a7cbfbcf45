//! The process supervisor: starts a plugin's executable, performs the handshake,
//! watches the process, restarts it with exponential backoff when it crashes or stops
//! answering health checks, gives up with "failed to stay running" when it keeps
//! crashing, and stops it politely (OnDeactivate, end of stdin, SIGTERM, then kill).
//!
//! One supervisor task runs per enabled plugin per node. It alone owns the child
//! process; the rest of the server reaches the plugin through the shared
//! [`RunningPlugin`] it publishes in the plugin's slot while the process is up.

use super::host_api::{spawn_api_server, ApiServer};
use super::{PluginSlot, SharedContext};
use crate::security::confine::{Confinement, Prepared};
use crate::security::process;
use chorus_model::PluginState;
use chorus_plugin_protocol::hooks::Hook;
use chorus_plugin_protocol::v1::hooks_client::HooksClient;
use chorus_plugin_protocol::UnixConnection;
use chorus_plugin_protocol::{v1, Handshake};
use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;
use tonic::codegen::http::Uri;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// Health checks missed in a row before a plugin counts as crashed.
const HEALTH_FAILURES_ALLOWED: u32 = 3;
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
const DEACTIVATE_TIMEOUT: Duration = Duration::from_secs(5);
/// Grace after closing stdin, and again after SIGTERM.
const EXIT_GRACE: Duration = Duration::from_secs(2);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A run at least this long counts as healthy: the next crash restarts after
/// `FIRST_BACKOFF` again instead of an ever longer wait. (Crashes still count towards
/// "failed to stay running" for the whole crash window.)
const STABLE_RUN: Duration = Duration::from_secs(5);
/// Longest log line kept from a plugin's output; the rest is cut.
const MAX_LOG_LINE: usize = 4096;
/// Log lines a plugin may emit per second on each of stdout and stderr, on average,
/// and in one burst. Beyond that lines are counted and dropped, so a plugin printing
/// gigabytes cannot fill the server's disk or drown its log; the pipe is still read to
/// the end, so the plugin never blocks on a full pipe.
const LOG_LINES_PER_SECOND: f64 = 200.0;
const LOG_BURST: f64 = 1000.0;

/// A plugin process that completed its handshake and activation.
pub struct RunningPlugin {
    pub plugin_id: String,
    pub hooks: HooksClient<UnixConnection>,
    pub implemented: HashSet<String>,
    pub pid: u32,
}

impl RunningPlugin {
    pub fn implements(&self, hook: Hook) -> bool {
        self.implemented.contains(hook.name())
    }
}

/// Everything one launch of a plugin owns.
struct Launch {
    running: Arc<RunningPlugin>,
    child: Child,
    stdin: Option<ChildStdin>,
    health: HealthClient<UnixConnection>,
    api: ApiServer,
    socket_dir: PathBuf,
}

enum Outcome {
    StopRequested,
    Crashed(String),
}

/// Runs until the plugin is stopped for good (asked to stop, failed to start, or
/// failed to stay running).
pub async fn supervise(
    slot: Arc<PluginSlot>,
    context: Arc<SharedContext>,
    mut stop: watch::Receiver<bool>,
) {
    if slot.manifest.server.is_none() {
        // A web-only plugin has no process: it is running while enabled.
        slot.set_status(PluginState::Running, "");
        let _ = stop.wait_for(|stopped| *stopped).await;
        slot.set_status(PluginState::NotRunning, "");
        return;
    }
    let settings = &context.settings;
    let window = Duration::from_secs(settings.crash_window_seconds);
    let mut crashes: VecDeque<Instant> = VecDeque::new();
    let mut backoff = FIRST_BACKOFF;
    let mut ever_started = false;
    loop {
        if *stop.borrow() {
            slot.set_status(PluginState::NotRunning, "");
            return;
        }
        slot.set_status(PluginState::Starting, "");
        let launched = tokio::select! {
            launched = launch(&slot, &context) => launched,
            _ = stop.changed() => {
                slot.set_status(PluginState::NotRunning, "");
                return;
            }
        };
        let reason = match launched {
            Err(reason) if !ever_started => {
                tracing::warn!(plugin_id = %slot.manifest.id, %reason, "plugin failed to start");
                slot.set_status(PluginState::FailedToStart, &reason);
                return;
            }
            Err(reason) => reason,
            Ok(mut launch) => {
                ever_started = true;
                slot.set_running(Some(launch.running.clone()));
                slot.set_status(PluginState::Running, "");
                tracing::info!(plugin_id = %slot.manifest.id, pid = launch.running.pid, "plugin running");
                let running_since = Instant::now();
                let outcome = watch_process(&mut launch, &mut stop, &context).await;
                if running_since.elapsed() >= STABLE_RUN {
                    backoff = FIRST_BACKOFF;
                }
                slot.set_running(None);
                context.plugin_stopped(&slot);
                match outcome {
                    Outcome::StopRequested => {
                        slot.set_status(PluginState::Stopping, "");
                        shut_down(launch).await;
                        slot.set_status(PluginState::NotRunning, "");
                        tracing::info!(plugin_id = %slot.manifest.id, "plugin stopped");
                        return;
                    }
                    Outcome::Crashed(reason) => {
                        kill(launch).await;
                        reason
                    }
                }
            }
        };
        let now = Instant::now();
        while crashes
            .front()
            .is_some_and(|at| now.duration_since(*at) > window)
        {
            crashes.pop_front();
        }
        crashes.push_back(now);
        slot.crashes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if crashes.len() > settings.max_restarts as usize {
            let message = format!(
                "crashed {} times within {} s; last: {reason}. Enable the plugin again to retry.",
                crashes.len(),
                settings.crash_window_seconds
            );
            tracing::error!(plugin_id = %slot.manifest.id, %message, "plugin failed to stay running");
            slot.set_status(PluginState::FailedToStayRunning, &message);
            return;
        }
        tracing::warn!(plugin_id = %slot.manifest.id, %reason, backoff_ms = backoff.as_millis() as u64, "plugin crashed; restarting");
        slot.set_status(PluginState::Starting, &reason);
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => {
                slot.set_status(PluginState::NotRunning, "");
                return;
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn watch_process(
    launch: &mut Launch,
    stop: &mut watch::Receiver<bool>,
    context: &SharedContext,
) -> Outcome {
    let interval = Duration::from_secs(context.settings.health_check_interval_seconds.max(1));
    let mut failures = 0;
    loop {
        tokio::select! {
            status = launch.child.wait() => {
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                return Outcome::Crashed(format!("the plugin process exited ({status})"));
            }
            _ = stop.changed() => return Outcome::StopRequested,
            _ = tokio::time::sleep(interval) => {
                if healthy(&mut launch.health).await {
                    failures = 0;
                } else {
                    failures += 1;
                    if failures >= HEALTH_FAILURES_ALLOWED {
                        return Outcome::Crashed(format!("the plugin missed {failures} health checks in a row"));
                    }
                }
            }
        }
    }
}

async fn healthy(health: &mut HealthClient<UnixConnection>) -> bool {
    let request = HealthCheckRequest {
        service: chorus_plugin_protocol::HEALTH_SERVICE.into(),
    };
    matches!(
        tokio::time::timeout(HEALTH_TIMEOUT, health.check(request)).await,
        Ok(Ok(reply)) if reply.get_ref().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    )
}

async fn launch(slot: &Arc<PluginSlot>, context: &SharedContext) -> Result<Launch, String> {
    let manifest = &slot.manifest;
    let executable = super::manifest::executable_for_host(manifest).ok_or_else(|| {
        format!(
            "the manifest declares no server executable for {}",
            super::manifest::host_platform()
        )
    })?;
    let program = slot.path.join(&executable);
    if !program.is_file() {
        return Err(format!(
            "the executable {executable} is missing from the plugin folder"
        ));
    }
    let number = context.next_launch_number();
    let socket_dir = context.socket_root.join(format!("p{number}"));
    std::fs::create_dir_all(&socket_dir)
        .map_err(|e| format!("cannot create the socket folder: {e}"))?;
    let api_socket = socket_dir.join("api.sock");
    let api = spawn_api_server(&api_socket, &manifest.id, context)
        .map_err(|e| format!("cannot serve the plugin API: {e}"))?;
    let mut command = Command::new(&program);
    command
        .current_dir(&slot.path)
        .env_clear()
        .env(
            chorus_plugin_protocol::MAGIC_COOKIE_KEY,
            chorus_plugin_protocol::MAGIC_COOKIE_VALUE,
        )
        .env(
            chorus_plugin_protocol::ENV_PROTOCOL_VERSIONS,
            chorus_plugin_protocol::APP_PROTOCOL_VERSION.to_string(),
        )
        .env(chorus_plugin_protocol::ENV_API_SOCKET, &api_socket)
        .env(chorus_plugin_protocol::ENV_PLUGIN_ID, &manifest.id)
        .env(chorus_plugin_protocol::ENV_SOCKET_DIR, &socket_dir)
        // Its own temporary folder, inside what the confinement lets it write.
        .env("TMPDIR", &socket_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that stopping the plugin ends its helpers too.
        .process_group(0)
        .kill_on_drop(true);
    // Only what a program needs to run; never the server's configuration or secrets.
    for key in ["PATH", "HOME", "LANG", "TZ"] {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    let confinement = if context.settings.confine_file_access {
        let mut hidden = context.confidential.clone();
        hidden.push(context.plugin_root.clone());
        hidden.push(context.socket_root.clone());
        let rules = Confinement {
            plugin_dir: &slot.path,
            socket_dir: &socket_dir,
            hidden,
        }
        .prepare();
        match rules {
            Ok(rules) => Some(rules),
            Err(err) => {
                api.stop().await;
                let _ = std::fs::remove_dir_all(&socket_dir);
                return Err(format!("cannot prepare the plugin's confinement: {err}"));
            }
        }
    } else {
        None
    };
    if let Some(rules) = &confinement {
        let fd = rules.raw_fd();
        // SAFETY: the hook runs in the child between fork and exec and makes only the
        // two system calls of `apply_in_child`; `rules` keeps the descriptor open in
        // the parent until `spawn` has returned.
        unsafe {
            command.pre_exec(move || Prepared::apply_in_child(fd));
        }
    }
    let mut child = match process::spawn_plugin(|| command.spawn(), |child| child.id()) {
        Ok(child) => child,
        Err(err) => {
            api.stop().await;
            let _ = std::fs::remove_dir_all(&socket_dir);
            return Err(format!("cannot start {executable}: {err}"));
        }
    };
    drop(confinement);
    let pid = child.id().unwrap_or(0);
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("stdout piped");
    let stderr = child.stderr.take().expect("stderr piped");
    let plugin_id = manifest.id.clone();
    tokio::spawn(forward_lines(stderr, slot.clone(), true, None));
    let (handshake_tx, handshake_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(forward_lines(
        stdout,
        slot.clone(),
        false,
        Some(handshake_tx),
    ));

    let start_timeout = Duration::from_secs(context.settings.start_timeout_seconds.max(1));
    let result = async {
        let line = tokio::time::timeout(start_timeout, handshake_rx)
            .await
            .map_err(|_| format!("no handshake line within {} s", start_timeout.as_secs()))?
            .map_err(|_| "the plugin exited before its handshake".to_string())?;
        let handshake = Handshake::parse(&line).map_err(|e| e.to_string())?;
        let connection = tokio::time::timeout(
            start_timeout,
            chorus_plugin_protocol::connect_unix_direct(&handshake.address),
        )
        .await
        .map_err(|_| "timed out connecting to the plugin".to_string())?
        .map_err(|e| format!("cannot connect to the plugin at {}: {e}", handshake.address))?;
        let origin = Uri::from_static(chorus_plugin_protocol::UNIX_ORIGIN);
        let mut hooks = HooksClient::with_origin(connection.clone(), origin.clone());
        let implemented = tokio::time::timeout(start_timeout, hooks.implemented(v1::Empty {}))
            .await
            .map_err(|_| "the plugin did not answer Implemented in time".to_string())?
            .map_err(|e| format!("Implemented failed: {}", e.message()))?
            .into_inner()
            .hooks
            .into_iter()
            .collect::<HashSet<String>>();
        if implemented.contains(Hook::OnActivate.name()) {
            let result = tokio::time::timeout(start_timeout, hooks.on_activate(v1::Empty {}))
                .await
                .map_err(|_| "OnActivate did not finish in time".to_string())?
                .map_err(|e| format!("OnActivate failed: {}", e.message()))?
                .into_inner();
            if !result.error.is_empty() {
                return Err(format!("OnActivate refused to start: {}", result.error));
            }
        }
        Ok((
            hooks,
            implemented,
            HealthClient::with_origin(connection, origin),
        ))
    }
    .await;
    match result {
        Ok((hooks, implemented, health)) => Ok(Launch {
            running: Arc::new(RunningPlugin {
                plugin_id,
                hooks,
                implemented,
                pid,
            }),
            child,
            stdin,
            health,
            api,
            socket_dir,
        }),
        Err(reason) => {
            process::signal_group(pid, libc::SIGKILL);
            let _ = child.start_kill();
            let _ = child.wait().await;
            process::unregister_plugin_pid(pid);
            api.stop().await;
            let _ = std::fs::remove_dir_all(&socket_dir);
            Err(reason)
        }
    }
}

/// Polite stop: OnDeactivate, close stdin, SIGTERM to the plugin's process group, then
/// SIGKILL to what is left of it.
async fn shut_down(mut launch: Launch) {
    let pid = launch.running.pid;
    if launch.running.implements(Hook::OnDeactivate) {
        let mut hooks = launch.running.hooks.clone();
        let _ = tokio::time::timeout(DEACTIVATE_TIMEOUT, hooks.on_deactivate(v1::Empty {})).await;
    }
    drop(launch.stdin.take());
    if tokio::time::timeout(EXIT_GRACE, launch.child.wait())
        .await
        .is_err()
    {
        process::signal_group(pid, libc::SIGTERM);
        if tokio::time::timeout(EXIT_GRACE, launch.child.wait())
            .await
            .is_err()
        {
            let _ = launch.child.start_kill();
            let _ = launch.child.wait().await;
        }
    } else {
        // The plugin left on its own; give its helpers the same grace.
        process::signal_group(pid, libc::SIGTERM);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    finish(launch).await;
}

async fn kill(mut launch: Launch) {
    process::signal_group(launch.running.pid, libc::SIGKILL);
    let _ = launch.child.start_kill();
    let _ = launch.child.wait().await;
    finish(launch).await;
}

/// After the plugin's own process is reaped: nothing of its group survives, orphans it
/// daemonised are ended, and its sockets go.
async fn finish(launch: Launch) {
    let pid = launch.running.pid;
    process::signal_group(pid, libc::SIGKILL);
    process::unregister_plugin_pid(pid);
    let _ = tokio::task::spawn_blocking(process::sweep_orphans).await;
    launch.api.stop().await;
    let _ = std::fs::remove_dir_all(&launch.socket_dir);
}

/// Turns a plugin's output into log lines tagged with its id. The first stdout line is
/// the handshake, handed to `handshake`. Lines are cut at `MAX_LOG_LINE` so that a
/// plugin printing without newlines cannot make the server buffer without bound, and
/// rate-limited (a token bucket of `LOG_BURST` lines refilled at `LOG_LINES_PER_SECOND`);
/// dropped lines are counted on the slot and summarised in the log.
async fn forward_lines(
    mut output: impl AsyncRead + Unpin,
    slot: Arc<PluginSlot>,
    is_stderr: bool,
    mut handshake: Option<tokio::sync::oneshot::Sender<String>>,
) {
    let plugin_id = slot.manifest.id.clone();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut line: Vec<u8> = Vec::new();
    let mut truncated = false;
    let mut tokens = LOG_BURST;
    let mut refilled = Instant::now();
    let mut dropped_since_report = 0u64;
    loop {
        let read = match output.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &buffer[..read] {
            if byte != b'\n' {
                if line.len() < MAX_LOG_LINE {
                    line.push(byte);
                } else {
                    truncated = true;
                }
                continue;
            }
            if let Some(sender) = handshake.take() {
                let _ = sender.send(String::from_utf8_lossy(&line).trim_end().to_string());
            } else {
                let now = Instant::now();
                tokens = (tokens
                    + now.duration_since(refilled).as_secs_f64() * LOG_LINES_PER_SECOND)
                    .min(LOG_BURST);
                refilled = now;
                if tokens >= 1.0 {
                    tokens -= 1.0;
                    if dropped_since_report > 0 {
                        tracing::warn!(plugin_id = %plugin_id, dropped = dropped_since_report, "plugin output over {LOG_LINES_PER_SECOND} lines/s; lines were dropped");
                        dropped_since_report = 0;
                    }
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end();
                    if is_stderr {
                        tracing::warn!(plugin_id = %plugin_id, truncated, "{text}");
                    } else {
                        tracing::info!(plugin_id = %plugin_id, truncated, "{text}");
                    }
                } else {
                    dropped_since_report += 1;
                    slot.log_lines_dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            line.clear();
            truncated = false;
        }
    }
    if dropped_since_report > 0 {
        tracing::warn!(plugin_id = %plugin_id, dropped = dropped_since_report, "plugin output over {LOG_LINES_PER_SECOND} lines/s; lines were dropped");
    }
}
