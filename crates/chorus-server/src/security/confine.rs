//! Landlock confinement of plugin processes, where the kernel has Landlock (Linux 5.13
//! and later; on older kernels plugins run unconfined and the server says so once).
//!
//! A plugin may read and run anything on the machine except what is the server's: the
//! SQLite data folder, the other plugins' folders and the server's plugin sockets. It
//! may write only in its own folder, in its own socket folder (its `TMPDIR`), and to
//! `/dev/null` and friends.
//!
//! Landlock only grants, so "everything but these folders" is built by granting every
//! sibling along the path to each excluded folder: for `/srv/chorus/data` that is every
//! entry of `/` but `srv`, every entry of `/srv` but `chorus`, and every entry of
//! `/srv/chorus` but `data`. Entries created later in those ancestor folders are not
//! readable to the plugin; everything below a granted entry is.
//!
//! The rules are built before the fork; the child only calls `prctl` and
//! `landlock_restrict_self` (no allocation after `fork` in a threaded process).

use landlock::{
    Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, ABI,
};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Once;

/// The kernel ABI the rules are written for; older kernels get what they support.
const TARGET_ABI: ABI = ABI::V5;
/// Device files every program may write to.
const WRITABLE_DEVICES: [&str; 6] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
];

/// What one plugin launch may reach.
pub struct Confinement<'a> {
    /// The plugin's own folder (read, write, run).
    pub plugin_dir: &'a Path,
    /// Its socket folder, also its `TMPDIR` (read, write).
    pub socket_dir: &'a Path,
    /// Folders it must not reach at all (the data folder, every plugin's folder, the
    /// server's socket folders); its own two folders inside them stay reachable.
    pub hidden: Vec<PathBuf>,
}

/// A ruleset ready to be applied in the child, or `None` where the kernel has no
/// Landlock.
pub struct Prepared(Option<OwnedFd>);

impl Confinement<'_> {
    pub fn prepare(&self) -> std::io::Result<Prepared> {
        let read = AccessFs::from_read(TARGET_ABI);
        let all = AccessFs::from_all(TARGET_ABI);
        let mut ruleset = Ruleset::default()
            .handle_access(all)
            .map_err(std::io::Error::other)?
            .create()
            .map_err(std::io::Error::other)?;
        let own: Vec<PathBuf> = [self.plugin_dir, self.socket_dir]
            .iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect();
        let hidden: Vec<PathBuf> = self
            .hidden
            .iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect();
        let mut readable = Vec::new();
        grant_all_but(Path::new("/"), &hidden, &mut readable);
        for path in readable {
            if let Ok(fd) = PathFd::new(&path) {
                ruleset = ruleset
                    .add_rule(PathBeneath::new(fd, read))
                    .map_err(std::io::Error::other)?;
            }
        }
        for path in &own {
            let fd = PathFd::new(path).map_err(std::io::Error::other)?;
            ruleset = ruleset
                .add_rule(PathBeneath::new(fd, all))
                .map_err(std::io::Error::other)?;
        }
        for device in WRITABLE_DEVICES {
            if let Ok(fd) = PathFd::new(device) {
                let file_access = AccessFs::from_file(TARGET_ABI);
                ruleset = ruleset
                    .add_rule(PathBeneath::new(fd, file_access))
                    .map_err(std::io::Error::other)?;
            }
        }
        let fd: Option<OwnedFd> = ruleset.into();
        if fd.is_none() {
            static WARNED: Once = Once::new();
            WARNED.call_once(|| {
                tracing::warn!(
                    "this kernel has no Landlock: plugins run with the server's file access"
                );
            });
        }
        Ok(Prepared(fd))
    }
}

impl Prepared {
    /// Applies the ruleset to the calling process. Only for the forked child before
    /// `exec`: it calls nothing but two system calls.
    ///
    /// # Safety
    /// Must run in the child between `fork` and `exec` (a `pre_exec` hook), while the
    /// ruleset's file descriptor is still open in the parent.
    pub unsafe fn apply_in_child(fd: i32) -> std::io::Result<()> {
        if fd < 0 {
            return Ok(());
        }
        // SAFETY: prctl with integer arguments only changes this process's flags.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is the open ruleset the parent prepared (the caller's contract).
        if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, fd, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The descriptor to pass to [`Prepared::apply_in_child`] (-1: nothing to apply).
    pub fn raw_fd(&self) -> i32 {
        self.0.as_ref().map_or(-1, |fd| fd.as_raw_fd())
    }
}

/// Pushes onto `out` every entry below `dir` except the `hidden` folders, walking
/// into the folders that lie on the way to one. (The plugin's own folders inside a
/// hidden one are granted separately.)
fn grant_all_but(dir: &Path, hidden: &[PathBuf], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if hidden.iter().any(|h| real.starts_with(h)) {
            continue;
        }
        if hidden.iter().any(|h| h.starts_with(&real)) {
            // A symbolic link to an ancestor of a hidden folder is left out; the real
            // folder is walked where it is.
            if real == path {
                grant_all_but(&path, hidden, out);
            }
            continue;
        }
        out.push(path);
    }
}
