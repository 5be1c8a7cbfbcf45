//! Plugin bundles: unpacking a `.tar.gz` safely into a staging folder, finding and
//! validating its manifest, and swapping it into place.
//!
//! Safety rules, all checked before a byte is written: only regular files and folders
//! (no symlinks, hard links, devices or FIFOs); every path relative, made only of
//! normal components (compared component by component, never by string prefix); a cap
//! on the number of entries and on the bytes actually unpacked (so a compression bomb
//! stops at the cap, whatever its headers claim). Unpacking happens in a staging
//! folder beside the plugins; an installed plugin is replaced only after the new one
//! is fully unpacked and its manifest validated, by renaming folders, so a failed
//! install leaves the previous version untouched.

use super::manifest::{executable_for_host, find_manifest, read_manifest, ManifestError};
use chorus_model::Manifest;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Limits on what one bundle may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct BundleLimits {
    pub max_unpacked_bytes: u64,
    pub max_entries: usize,
}

impl Default for BundleLimits {
    fn default() -> Self {
        BundleLimits {
            max_unpacked_bytes: 256 * 1024 * 1024,
            max_entries: 10_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not a readable .tar.gz archive: {0}")]
    Archive(String),
    #[error(
        "the bundle entry {path:?} is {kind}; bundles may hold only regular files and folders"
    )]
    ForbiddenEntry { path: String, kind: &'static str },
    #[error("the bundle entry {0:?} has an unsafe path (absolute, or with '..'); every path must stay inside the plugin folder")]
    UnsafePath(String),
    #[error("the bundle unpacks to more than {0} bytes")]
    TooLarge(u64),
    #[error("the bundle has more than {0} entries")]
    TooManyEntries(usize),
    #[error("the bundle is empty")]
    Empty,
    #[error("the bundle has no plugin.json, plugin.yaml or plugin.yml at its root or in a single top-level folder")]
    NoManifest,
    #[error("invalid manifest: {0}")]
    Manifest(#[from] ManifestError),
    #[error("the manifest names the executable {0:?}, which is not in the bundle")]
    MissingExecutable(String),
    #[error("the plugin declares no server executable for this platform ({0}) and no fallback server.executable")]
    WrongPlatform(String),
    #[error("a plugin with id {0:?} is already installed; use force to replace it")]
    AlreadyInstalled(String),
    #[error("file system error while installing: {0}")]
    Io(#[from] std::io::Error),
}

/// A bundle unpacked and validated in a staging folder, not yet installed.
#[derive(Debug)]
pub struct StagedPlugin {
    /// The folder holding the manifest.
    pub root: PathBuf,
    /// The staging folder to remove afterwards (contains `root`).
    pub staging: PathBuf,
    pub manifest: Manifest,
}

impl StagedPlugin {
    /// Removes the staging folder (after a failed or finished install).
    pub fn discard(&self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// Unpacks `archive` (gzip-compressed tar) into a new staging folder under
/// `plugins_dir` and validates it. On any error nothing is left behind.
pub fn stage_bundle(
    archive: impl Read,
    plugins_dir: &Path,
    limits: BundleLimits,
) -> Result<StagedPlugin, BundleError> {
    std::fs::create_dir_all(plugins_dir)?;
    let staging = plugins_dir.join(format!(".staging-{}", chorus_model::new_id()));
    std::fs::create_dir(&staging)?;
    match unpack_and_validate(archive, &staging, limits) {
        Ok((root, manifest)) => Ok(StagedPlugin {
            root,
            staging,
            manifest,
        }),
        Err(err) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(err)
        }
    }
}

fn unpack_and_validate(
    archive: impl Read,
    staging: &Path,
    limits: BundleLimits,
) -> Result<(PathBuf, Manifest), BundleError> {
    unpack(archive, staging, limits)?;
    let root = plugin_root(staging)?;
    let manifest = read_manifest(&root)?;
    if manifest.server.is_some() {
        let executable = executable_for_host(&manifest)
            .ok_or_else(|| BundleError::WrongPlatform(super::manifest::host_platform()))?;
        let path = root.join(&executable);
        if !path.is_file() {
            return Err(BundleError::MissingExecutable(executable));
        }
        make_executable(&path)?;
    }
    Ok((root, manifest))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_mode(permissions.mode() | 0o755);
    std::fs::set_permissions(path, permissions)
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The folder with the manifest: the staging root, or its single top-level folder.
fn plugin_root(staging: &Path) -> Result<PathBuf, BundleError> {
    if find_manifest(staging).is_some() {
        return Ok(staging.to_path_buf());
    }
    let entries: Vec<_> = std::fs::read_dir(staging)?.collect::<Result<_, _>>()?;
    if entries.is_empty() {
        return Err(BundleError::Empty);
    }
    match entries.as_slice() {
        [only] if only.file_type()?.is_dir() && find_manifest(&only.path()).is_some() => {
            Ok(only.path())
        }
        _ => Err(BundleError::NoManifest),
    }
}

/// A bundle path as safe relative components, or why not.
fn safe_relative_path(raw: &Path) -> Result<PathBuf, BundleError> {
    let mut clean = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(BundleError::UnsafePath(raw.display().to_string()))
            }
        }
    }
    Ok(clean)
}

fn unpack(archive: impl Read, target: &Path, limits: BundleLimits) -> Result<(), BundleError> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut written: u64 = 0;
    let mut count = 0usize;
    let entries = tar
        .entries()
        .map_err(|e| BundleError::Archive(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| BundleError::Archive(e.to_string()))?;
        count += 1;
        if count > limits.max_entries {
            return Err(BundleError::TooManyEntries(limits.max_entries));
        }
        let raw_path = entry
            .path()
            .map_err(|e| BundleError::Archive(e.to_string()))?
            .into_owned();
        let kind = entry.header().entry_type();
        let forbidden = match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {
                None
            }
            tar::EntryType::Symlink => Some("a symbolic link"),
            tar::EntryType::Link => Some("a hard link"),
            tar::EntryType::Char | tar::EntryType::Block => Some("a device file"),
            tar::EntryType::Fifo => Some("a FIFO"),
            // PAX and GNU metadata entries are consumed by the tar reader itself.
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
            _ => Some("of an unsupported type"),
        };
        if let Some(kind) = forbidden {
            return Err(BundleError::ForbiddenEntry {
                path: raw_path.display().to_string(),
                kind,
            });
        }
        let relative = safe_relative_path(&raw_path)?;
        if relative.as_os_str().is_empty() {
            continue;
        }
        let destination = target.join(&relative);
        if kind == tar::EntryType::Directory {
            std::fs::create_dir_all(&destination)?;
            continue;
        }
        if entry.header().size().unwrap_or(0) > limits.max_unpacked_bytes.saturating_sub(written) {
            return Err(BundleError::TooLarge(limits.max_unpacked_bytes));
        }
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(&destination)?;
        let budget = limits.max_unpacked_bytes - written;
        // Read one byte past the budget to notice an entry larger than its header said.
        let copied = std::io::copy(&mut (&mut entry).take(budget + 1), &mut file)
            .map_err(|e| BundleError::Archive(e.to_string()))?;
        if copied > budget {
            return Err(BundleError::TooLarge(limits.max_unpacked_bytes));
        }
        written += copied;
        #[cfg(unix)]
        if let Ok(mode) = entry.header().mode() {
            use std::os::unix::fs::PermissionsExt;
            // Keep execute bits; never setuid/setgid/sticky or world-writable.
            let _ = std::fs::set_permissions(
                &destination,
                std::fs::Permissions::from_mode((mode & 0o755) | 0o600),
            );
        }
    }
    if count == 0 {
        return Err(BundleError::Empty);
    }
    Ok(())
}

/// Moves a staged plugin to `<plugins_dir>/<id>`, replacing an installed version only
/// when `force` is set. The old folder is moved aside first and restored if the swap
/// fails; the staging folder is removed either way.
pub fn install_staged(
    staged: &StagedPlugin,
    plugins_dir: &Path,
    force: bool,
) -> Result<PathBuf, BundleError> {
    let result = swap_into_place(staged, plugins_dir, force);
    staged.discard();
    result
}

fn swap_into_place(
    staged: &StagedPlugin,
    plugins_dir: &Path,
    force: bool,
) -> Result<PathBuf, BundleError> {
    let target = plugins_dir.join(&staged.manifest.id);
    let aside = plugins_dir.join(format!(
        ".old-{}-{}",
        staged.manifest.id,
        chorus_model::new_id()
    ));
    let had_previous = target.exists();
    if had_previous {
        if !force {
            return Err(BundleError::AlreadyInstalled(staged.manifest.id.clone()));
        }
        std::fs::rename(&target, &aside)?;
    }
    if let Err(err) = std::fs::rename(&staged.root, &target) {
        if had_previous {
            let _ = std::fs::rename(&aside, &target);
        }
        return Err(err.into());
    }
    if had_previous {
        let _ = std::fs::remove_dir_all(&aside);
    }
    Ok(target)
}

/// Builds a `.tar.gz` of `files` (path in archive, contents, mode); for tests, tools and
/// the `chorus plugin bundle` command.
pub fn build_bundle(files: &[(&str, &[u8], u32)]) -> std::io::Result<Vec<u8>> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (path, contents, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, *contents)?;
    }
    builder.into_inner()?.finish()
}

/// Packs a plugin folder into a bundle: `<id>/plugin.json` (or yaml), every declared
/// server executable present in the folder, the folder of the web bundle, and
/// `assets/` and `public/` when present. `host_executable` supplies the executable for
/// this platform when it is built elsewhere (as `cargo build` does).
pub fn bundle_folder(
    folder: &Path,
    host_executable: Option<&Path>,
) -> Result<Vec<u8>, BundleError> {
    let manifest = read_manifest(folder)?;
    let manifest_file = find_manifest(folder).ok_or(BundleError::NoManifest)?;
    let mut files: Vec<(String, Vec<u8>, u32)> = Vec::new();
    let id = &manifest.id;
    let manifest_name = manifest_file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    files.push((
        format!("{id}/{manifest_name}"),
        std::fs::read(&manifest_file)?,
        0o644,
    ));
    if let Some(server) = &manifest.server {
        let host_path = executable_for_host(&manifest);
        let mut declared: Vec<&String> = server.executables.values().collect();
        if !server.executable.is_empty() {
            declared.push(&server.executable);
        }
        declared.sort();
        declared.dedup();
        let mut has_host = false;
        for path in declared {
            let is_host = host_path.as_deref() == Some(path.as_str());
            let source = match host_executable {
                Some(built) if is_host => built.to_path_buf(),
                _ => folder.join(path),
            };
            if source.is_file() {
                files.push((format!("{id}/{path}"), std::fs::read(&source)?, 0o755));
                has_host |= is_host;
            }
        }
        if !has_host {
            return Err(BundleError::MissingExecutable(
                host_path.unwrap_or_default(),
            ));
        }
    }
    let mut extra_dirs = vec![PathBuf::from("assets"), PathBuf::from("public")];
    if let Some(webapp) = &manifest.webapp {
        if !folder.join(&webapp.bundle_path).is_file() {
            return Err(BundleError::MissingExecutable(webapp.bundle_path.clone()));
        }
        extra_dirs.push(
            Path::new(&webapp.bundle_path)
                .parent()
                .unwrap_or(Path::new(""))
                .to_path_buf(),
        );
    }
    for dir in extra_dirs {
        let root = folder.join(&dir);
        if dir.as_os_str().is_empty() || !root.is_dir() {
            continue;
        }
        collect_files(folder, &root, &mut |relative, bytes| {
            files.push((format!("{id}/{relative}"), bytes, 0o644));
        })?;
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    let borrowed: Vec<(&str, &[u8], u32)> = files
        .iter()
        .map(|(p, b, m)| (p.as_str(), b.as_slice(), *m))
        .collect();
    Ok(build_bundle(&borrowed)?)
}

fn collect_files(
    base: &Path,
    dir: &Path,
    add: &mut dyn FnMut(String, Vec<u8>),
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(base, &entry.path(), add)?;
        } else if kind.is_file() {
            let relative = entry
                .path()
                .strip_prefix(base)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            add(relative, std::fs::read(entry.path())?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"{"id":"com.example.good","name":"Good","version":"1.0.0","server":{"executable":"server/plugin"}}"#;

    fn gz(tar_bytes: Vec<u8>) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&tar_bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// A raw tar entry whose name is written byte for byte (tar::Builder refuses
    /// unsafe names, which is exactly what these tests need to produce).
    fn raw_entry(name: &str, kind: tar::EntryType, link: &str, body: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        {
            let old = header.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(kind);
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    fn archive(entries: Vec<Vec<u8>>) -> Vec<u8> {
        let mut bytes: Vec<u8> = entries.concat();
        bytes.extend_from_slice(&[0u8; 1024]);
        gz(bytes)
    }

    fn good_entries() -> Vec<Vec<u8>> {
        vec![
            raw_entry(
                "plugin.json",
                tar::EntryType::Regular,
                "",
                MANIFEST.as_bytes(),
            ),
            raw_entry("server/plugin", tar::EntryType::Regular, "", b"#!/bin/sh\n"),
        ]
    }

    fn assert_nothing_left(dir: &Path) {
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn stages_and_installs_a_good_bundle_at_root_or_in_one_folder() {
        let dir = tempfile::tempdir().unwrap();
        let staged = stage_bundle(
            &archive(good_entries())[..],
            dir.path(),
            BundleLimits::default(),
        )
        .unwrap();
        assert_eq!(staged.manifest.id, "com.example.good");
        let installed = install_staged(&staged, dir.path(), false).unwrap();
        assert!(installed.join("server/plugin").is_file());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("com.example.good")]);

        let nested = build_bundle(&[
            ("good/plugin.json", MANIFEST.as_bytes(), 0o644),
            ("good/server/plugin", b"#!/bin/sh\n", 0o755),
        ])
        .unwrap();
        let staged = stage_bundle(&nested[..], dir.path(), BundleLimits::default()).unwrap();
        assert!(matches!(
            install_staged(&staged, dir.path(), false),
            Err(BundleError::AlreadyInstalled(_))
        ));
        let staged = stage_bundle(&nested[..], dir.path(), BundleLimits::default()).unwrap();
        install_staged(&staged, dir.path(), true).unwrap();
        assert!(dir.path().join("com.example.good/server/plugin").is_file());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging or old folders left"
        );
    }

    #[test]
    fn refuses_traversal_absolute_links_and_devices() {
        let outside = tempfile::tempdir().unwrap();
        let dir = outside.path().join("plugins");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                raw_entry("../escape.txt", tar::EntryType::Regular, "", b"x"),
                "unsafe path",
            ),
            (
                raw_entry("a/../../escape.txt", tar::EntryType::Regular, "", b"x"),
                "unsafe path",
            ),
            (
                raw_entry("/tmp/absolute.txt", tar::EntryType::Regular, "", b"x"),
                "unsafe path",
            ),
            (
                raw_entry("link", tar::EntryType::Symlink, "/etc/passwd", b""),
                "symbolic link",
            ),
            (
                raw_entry("hard", tar::EntryType::Link, "plugin.json", b""),
                "hard link",
            ),
            (
                raw_entry("dev", tar::EntryType::Char, "", b""),
                "device file",
            ),
            (raw_entry("fifo", tar::EntryType::Fifo, "", b""), "FIFO"),
        ];
        for (bad, expected) in cases {
            let mut entries = good_entries();
            entries.insert(1, bad);
            let err =
                stage_bundle(&archive(entries)[..], &dir, BundleLimits::default()).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
            assert_nothing_left(&dir);
        }
        assert!(!outside.path().join("escape.txt").exists());
    }

    #[test]
    fn caps_unpacked_size_and_entry_count_even_for_bombs() {
        let dir = tempfile::tempdir().unwrap();
        // 4 MiB of zeros compresses to a few KiB: a small bomb against a 1 MiB cap.
        let zeros = vec![0u8; 4 * 1024 * 1024];
        let bomb = build_bundle(&[
            ("plugin.json", MANIFEST.as_bytes(), 0o644),
            ("zeros.bin", &zeros, 0o644),
        ])
        .unwrap();
        assert!(bomb.len() < 64 * 1024);
        let limits = BundleLimits {
            max_unpacked_bytes: 1024 * 1024,
            max_entries: 100,
        };
        assert!(matches!(
            stage_bundle(&bomb[..], dir.path(), limits),
            Err(BundleError::TooLarge(_))
        ));
        assert_nothing_left(dir.path());
        let many: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i}"), vec![])).collect();
        let files: Vec<(&str, &[u8], u32)> = many
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice(), 0o644))
            .collect();
        let limits = BundleLimits {
            max_unpacked_bytes: 1024 * 1024,
            max_entries: 10,
        };
        assert!(matches!(
            stage_bundle(&build_bundle(&files).unwrap()[..], dir.path(), limits),
            Err(BundleError::TooManyEntries(10))
        ));
        assert_nothing_left(dir.path());
    }

    #[test]
    fn refuses_garbage_missing_manifest_bad_manifest_and_missing_executable() {
        let dir = tempfile::tempdir().unwrap();
        let limits = BundleLimits::default();
        assert!(matches!(
            stage_bundle(&b"not a gzip"[..], dir.path(), limits),
            Err(BundleError::Archive(_))
        ));
        let no_manifest = build_bundle(&[("readme.txt", b"hi", 0o644)]).unwrap();
        assert!(matches!(
            stage_bundle(&no_manifest[..], dir.path(), limits),
            Err(BundleError::NoManifest)
        ));
        let two_folders = build_bundle(&[
            ("a/plugin.json", MANIFEST.as_bytes(), 0o644),
            ("b/x", b"", 0o644),
        ])
        .unwrap();
        assert!(matches!(
            stage_bundle(&two_folders[..], dir.path(), limits),
            Err(BundleError::NoManifest)
        ));
        let bad_json = build_bundle(&[("plugin.json", b"{oops", 0o644)]).unwrap();
        let err = stage_bundle(&bad_json[..], dir.path(), limits)
            .unwrap_err()
            .to_string();
        assert!(err.contains("plugin.json is not valid JSON"), "{err}");
        let bad_id = build_bundle(&[("plugin.json", br#"{"id":"x","name":"X"}"#, 0o644)]).unwrap();
        let err = stage_bundle(&bad_id[..], dir.path(), limits)
            .unwrap_err()
            .to_string();
        assert!(err.contains("manifest field id"), "{err}");
        let missing_exe = build_bundle(&[("plugin.json", MANIFEST.as_bytes(), 0o644)]).unwrap();
        assert!(matches!(
            stage_bundle(&missing_exe[..], dir.path(), limits),
            Err(BundleError::MissingExecutable(_))
        ));
        let other_platform = build_bundle(&[(
            "plugin.json",
            br#"{"id":"abc","name":"X","server":{"executables":{"windows-amd64":"p.exe"}}}"#,
            0o644,
        )])
        .unwrap();
        if super::super::manifest::host_platform() != "windows-amd64" {
            assert!(matches!(
                stage_bundle(&other_platform[..], dir.path(), limits),
                Err(BundleError::WrongPlatform(_))
            ));
        }
        assert_nothing_left(dir.path());
    }
}
