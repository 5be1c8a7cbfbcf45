//! Plugins as tests and benchmarks use them: built from the workspace's `plugins/`
//! packages (once per run), bundled as `chorus plugin bundle` would.

/// The workspace's root folder.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Builds a plugin package of the workspace (once per run) and returns its
/// executable. Plugins are real programs: tests and benchmarks run them as the server
/// would. Optimised builds of this harness (benchmarks) build optimised plugins.
pub fn built_plugin(package: &str) -> std::path::PathBuf {
    built_package(package)
}

/// Builds a binary package of the workspace once per run, in this build's profile,
/// and returns its executable.
pub fn built_package(package: &str) -> std::path::PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let release = !cfg!(debug_assertions);
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let executable = target
        .join(if release { "release" } else { "debug" })
        .join(package);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !built.iter().any(|p| p == package) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command
            .args(["build", "--quiet", "-p", package])
            .current_dir(&root);
        if release {
            command.arg("--release");
        }
        let status = command.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p {package} failed");
        built.push(package.to_string());
    }
    executable
}

/// A bundle of `plugins/<folder>` with the freshly built executable of `package`.
pub fn plugin_bundle(folder: &str, package: &str) -> Vec<u8> {
    let executable = built_plugin(package);
    chorus_server::plugins::bundle::bundle_folder(
        &workspace_root().join("plugins").join(folder),
        Some(&executable),
    )
    .expect("bundle the plugin")
}

/// Whether a process is alive (signal 0 probes without touching it).
pub fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

/// A memory field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`, …) in bytes, or `None`
/// when the process or the field is not there.
pub fn process_memory_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Pids of the live children of `parent` whose command line contains `name` (every
/// child when `name` is empty): how tests find the plugin processes a server started.
pub fn child_processes(parent: u32, name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: Vec<u32> = entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_string_lossy().parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The parent pid is the second field after the parenthesised command name.
            let ppid: u32 = stat[stat.rfind(')')? + 1..]
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).ok()?;
            (ppid == parent && cmdline.contains(name) && process_alive(pid)).then_some(pid)
        })
        .collect();
    children.sort_unstable();
    children
}
