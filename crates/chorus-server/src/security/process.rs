//! What a plugin process can reach of the server, and what it can leave behind.
//!
//! - The server is made non-dumpable (`PR_SET_DUMPABLE` 0), so that a plugin running
//!   as the same user cannot read `/proc/<server>/environ` (the database password) or
//!   its memory, nor attach a debugger to it.
//! - Each plugin starts in a process group of its own; stopping a plugin ends the whole
//!   group (SIGTERM, then SIGKILL), so the helpers it started go with it.
//! - The `chorus server` process is a child subreaper (`PR_SET_CHILD_SUBREAPER`):
//!   anything a plugin daemonises (double fork, `setsid`) is re-parented to the server
//!   instead of init. [`sweep_orphans`] ends and reaps every child of the server that
//!   is not a running plugin's own process. Only a process that owns all its children
//!   may do that, so it is switched on by [`become_plugin_reaper`], which the `chorus
//!   server` command calls and the in-process test servers do not.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static REAPER: AtomicBool = AtomicBool::new(false);
/// Pids of the plugin processes the supervisors own (they reap them themselves).
static PLUGIN_PIDS: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

/// Makes this process non-dumpable. Called at server start.
pub fn make_non_dumpable() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) only changes this process's dumpable flag.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Makes this process the reaper of everything its plugins leave behind. Only for a
/// process whose every child is a plugin (the `chorus server` command).
pub fn become_plugin_reaper() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) only changes how this process's
        // orphaned descendants are re-parented.
        let done = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if done == 0 {
            REAPER.store(true, Ordering::SeqCst);
        } else {
            tracing::warn!(error = %std::io::Error::last_os_error(), "cannot become a child subreaper; daemonised plugin processes will outlive their plugin");
        }
    }
}

pub fn is_plugin_reaper() -> bool {
    REAPER.load(Ordering::SeqCst)
}

/// Starts a plugin process with `spawn` and records it as owned by its supervisor, in
/// one step under the registry's lock, so that [`sweep_orphans`] (which holds the same
/// lock) can never take a plugin just started for an orphan.
pub fn spawn_plugin<T>(
    spawn: impl FnOnce() -> std::io::Result<T>,
    pid_of: impl FnOnce(&T) -> Option<u32>,
) -> std::io::Result<T> {
    let mut pids = PLUGIN_PIDS.lock().expect("plugin pids");
    let child = spawn()?;
    if let Some(pid) = pid_of(&child) {
        pids.get_or_insert_with(HashSet::new).insert(pid as i32);
    }
    Ok(child)
}

pub fn unregister_plugin_pid(pid: u32) {
    if let Some(pids) = PLUGIN_PIDS.lock().expect("plugin pids").as_mut() {
        pids.remove(&(pid as i32));
    }
}

/// Sends `signal` to the process group a plugin leads (its pid), reaching the helpers
/// it started even after the plugin itself exited.
pub fn signal_group(pgid: u32, signal: i32) {
    if pgid == 0 {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is
    // involved. A group that no longer exists gives ESRCH, which is fine.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), signal);
    }
}

/// Ends and reaps every child of this process that is not a running plugin's own
/// process: the orphans of plugins, re-parented here by the subreaper. Does nothing
/// unless [`become_plugin_reaper`] was called. Answers how many it ended.
pub fn sweep_orphans() -> usize {
    if !is_plugin_reaper() {
        return 0;
    }
    let me = std::process::id() as i32;
    // Held for the whole sweep: no plugin is started meanwhile.
    let registry = PLUGIN_PIDS.lock().expect("plugin pids");
    let owned: HashSet<i32> = registry.clone().unwrap_or_default();
    let mut ended = 0;
    for pid in children_of(me) {
        if owned.contains(&pid) {
            continue;
        }
        // SAFETY: signalling and reaping a child of ours that no supervisor owns; a
        // pid that is ours to wait for cannot be reused until we reap it.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
        }
        ended += 1;
    }
    drop(registry);
    if ended > 0 {
        tracing::warn!(count = ended, "ended processes that plugins left behind");
    }
    ended
}

/// Pids whose parent is `parent`, read from `/proc/<pid>/stat`.
fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect()
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}
