//! A throwaway PostgreSQL server owned by one test: its own data directory in a fresh
//! `/tmp/chorus-pg-*` folder, its own free port on 127.0.0.1 and its own socket
//! directory. Fault tests stop, start and restart it at will; they must never do that
//! to the machine's shared server (127.0.0.1:5432, see `database`), which other tests
//! use in parallel.
//!
//! The binaries come from `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`. PostgreSQL refuses to run as root, so when the tests run
//! as root `initdb` and `pg_ctl` run as the `postgres` system user (via `runuser`, else
//! `su`) and the folder is handed to that user. Outside CI a machine without PostgreSQL
//! skips the test loudly; under `CI` it fails it.
//!
//! Every method runs `initdb`/`pg_ctl` with [`std::process::Command`] and so blocks the
//! calling thread (around a second for a start, less for a stop). `pg_ctl -w` already
//! waits until the server accepts connections or is gone, so there is nothing left to
//! wait for asynchronously.

use chorus_launcher::free_port;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The superuser `initdb` creates, and the system user PostgreSQL runs as under root.
const SUPERUSER: &str = "postgres";

/// How many free ports `start` tries: another process may grab the port between our
/// probe and the postmaster's bind.
const PORT_ATTEMPTS: usize = 5;

pub struct PrivatePostgres {
    bin: PathBuf,
    runner: Runner,
    /// Holds `data/`, `sockets/` and `pg.log`; removed on drop.
    dir: tempfile::TempDir,
    data: PathBuf,
    sockets: PathBuf,
    log: PathBuf,
    port: u16,
}

/// How `initdb` and `pg_ctl` are run: directly, or as the `postgres` user when we are root.
enum Runner {
    Direct,
    Runuser(PathBuf),
    Su(PathBuf),
}

impl PrivatePostgres {
    /// Creates a cluster with `initdb` (trust auth, superuser `postgres`) and starts it on
    /// a free port, returning once it accepts connections. Blocks. `None`, with a loud
    /// message, when PostgreSQL is not installed, except under `CI`, where that panics.
    /// Panics when PostgreSQL is installed but fails to initialize or start.
    pub fn start() -> Option<Self> {
        let unavailable = |why: &str| -> Option<Self> {
            if std::env::var_os("CI").is_some() {
                panic!("a private PostgreSQL server is required under CI but {why}");
            }
            eprintln!("SKIPPED (no private PostgreSQL server: {why})");
            None
        };
        let Some(bin) = find_bindir() else {
            return unavailable(
                "initdb, pg_ctl and postgres were found neither in `pg_config --bindir` \
                 nor under /usr/lib/postgresql/*/bin",
            );
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let (runner, owner) = if root {
            let Some(owner) = system_user_ids(SUPERUSER) else {
                return unavailable("the tests run as root and there is no `postgres` user");
            };
            let runner = if let Some(runuser) = find_program("runuser") {
                Runner::Runuser(runuser)
            } else if let Some(su) = find_program("su") {
                Runner::Su(su)
            } else {
                return unavailable("the tests run as root and neither runuser nor su exists");
            };
            (runner, Some(owner))
        } else {
            (Runner::Direct, None)
        };

        let dir = tempfile::Builder::new()
            .prefix("chorus-pg-")
            .tempdir_in("/tmp")
            .expect("create the private PostgreSQL folder");
        let data = dir.path().join("data");
        let sockets = dir.path().join("sockets");
        fs::create_dir(&data).expect("create the data directory");
        fs::create_dir(&sockets).expect("create the socket directory");
        // PostgreSQL insists on owning its data directory with mode 0700; the folder
        // itself must also belong to it so that `pg_ctl` can write `pg.log` there.
        for path in [dir.path(), &data, &sockets] {
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))
                    .unwrap_or_else(|err| panic!("chown {} to postgres: {err}", path.display()));
            }
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .unwrap_or_else(|err| panic!("chmod 0700 {}: {err}", path.display()));
        }

        let mut pg = PrivatePostgres {
            bin,
            runner,
            log: dir.path().join("pg.log"),
            dir,
            data,
            sockets,
            port: 0,
        };
        // `--locale=C` keeps initdb independent of whatever locale the environment names
        // (a missing one, or one whose encoding clashes with UTF8, would make it fail).
        let data = pg.data.display().to_string();
        let initdb = pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        if !initdb.status.success() {
            panic!(
                "initdb failed in {}:\n{}",
                pg.data.display(),
                describe(&initdb)
            );
        }

        // `pg` exists before the first start so that its drop stops whatever a failed or
        // timed-out start may have left running.
        for attempt in 1..=PORT_ATTEMPTS {
            pg.port = free_port();
            let log_before = fs::metadata(&pg.log).map(|m| m.len()).unwrap_or(0);
            match pg.pg_ctl_start() {
                Ok(()) => return Some(pg),
                Err(output) => {
                    let log = fs::read(&pg.log).unwrap_or_default();
                    let new_log =
                        String::from_utf8_lossy(log.get(log_before as usize..).unwrap_or(&[]));
                    if attempt < PORT_ATTEMPTS && new_log.contains("already in use") {
                        continue;
                    }
                    panic!(
                        "private PostgreSQL did not start on port {}:\n{}\n{}",
                        pg.port,
                        describe(&output),
                        pg.log_tail()
                    );
                }
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth, no password).
    pub fn admin_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The TCP port on 127.0.0.1; it stays the same across stops and starts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server like an orderly shutdown (`pg_ctl stop -m fast`): sessions are
    /// terminated, the data is checkpointed, and this returns once the server is gone.
    /// Blocks. Panics when it is not running.
    pub fn stop(&self) {
        let data = self.data.display().to_string();
        let output = self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
        if !output.status.success() {
            panic!(
                "private PostgreSQL on port {} did not stop:\n{}\n{}",
                self.port,
                describe(&output),
                self.log_tail()
            );
        }
    }

    /// Starts the stopped server again on the same port and data, returning once it
    /// accepts connections. Blocks. Panics when it does not come up (for instance when
    /// something else took the port meanwhile).
    pub fn start_again(&self) {
        if let Err(output) = self.pg_ctl_start() {
            panic!(
                "private PostgreSQL did not start again on port {}:\n{}\n{}",
                self.port,
                describe(&output),
                self.log_tail()
            );
        }
    }

    /// [`stop`](Self::stop) then [`start_again`](Self::start_again). Blocks.
    pub fn restart(&self) {
        self.stop();
        self.start_again();
    }

    fn pg_ctl_start(&self) -> Result<(), Output> {
        // fsync=off: the data is thrown away anyway, and durability across an orderly
        // stop does not need it. Only 127.0.0.1 and a private socket directory, so
        // nothing collides with the shared server's port or /var/run/postgresql.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.sockets.display()
        );
        let data = self.data.display().to_string();
        let log = self.log.display().to_string();
        let output = self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
        if output.status.success() {
            Ok(())
        } else {
            Err(output)
        }
    }

    /// Runs one of the PostgreSQL binaries, as `postgres` when we are root, from inside
    /// our folder (the `postgres` user may not be allowed into the caller's directory).
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin.join(program);
        let mut command = match &self.runner {
            Runner::Direct => {
                let mut command = Command::new(&program);
                command.args(args);
                command
            }
            Runner::Runuser(runuser) => {
                let mut command = Command::new(runuser);
                command
                    .args(["-u", SUPERUSER, "--"])
                    .arg(&program)
                    .args(args);
                command
            }
            Runner::Su(su) => {
                let line = std::iter::once(program.display().to_string().as_str())
                    .chain(args.iter().copied())
                    .map(shell_quote)
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut command = Command::new(su);
                command.args([SUPERUSER, "-s", "/bin/sh", "-c", &line]);
                command
            }
        };
        // pg_ctl hands the postmaster the log file as its output, so capturing ours
        // cannot hang on a pipe the server keeps open.
        command
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("run {}: {err}", program.display()))
    }

    fn log_tail(&self) -> String {
        let log = fs::read(&self.log).unwrap_or_default();
        let log = String::from_utf8_lossy(&log);
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("--- {} (tail) ---\n{tail}", self.log.display())
    }
}

impl Drop for PrivatePostgres {
    /// Stops the server without a checkpoint (`-m immediate`, the data is going away),
    /// waiting until it is gone, then the folder is removed (root may remove files owned
    /// by `postgres`). Failing to stop a server that is not running is fine.
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

/// `pg_config --bindir` when it holds the server binaries (Debian's `pg_config` from
/// libpq-dev alone answers `/usr/bin`, which does not), else the newest
/// `/usr/lib/postgresql/<version>/bin` that does.
fn find_bindir() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|binary| dir.join(binary).is_file())
    };
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if output.status.success() && complete(&dir) {
            return Some(dir);
        }
    }
    fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: Vec<u32> = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<_>>()?;
            let bin = entry.path().join("bin");
            complete(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// `name` on `PATH`, or in the sbin directories a non-login root `PATH` may lack.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The uid and gid of a system user, from the password database.
fn system_user_ids(name: &str) -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam_r only writes into `passwd` and `buffer`, both alive and sized as
    // declared; the reentrant variant keeps parallel tests from racing on static storage.
    unsafe {
        let mut passwd: libc::passwd = std::mem::zeroed();
        let mut buffer = vec![0 as libc::c_char; 16 * 1024];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            name.as_ptr(),
            &mut passwd,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        );
        (rc == 0 && !found.is_null()).then_some((passwd.pw_uid, passwd.pw_gid))
    }
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
