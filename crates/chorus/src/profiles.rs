//! Named sign-in profiles, like mmctl's: each a server URL, a user name and a session
//! token, one of them current. Kept in `$CHORUS_CLI_CONFIG`, else
//! `$XDG_CONFIG_HOME/chorus/cli.json`, else `~/.config/chorus/cli.json`, readable by
//! its owner only (it holds tokens).

use crate::errors::{CliError, CliResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    pub url: String,
    pub username: String,
    pub token: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Profiles {
    #[serde(default)]
    pub current: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    #[serde(skip)]
    path: PathBuf,
}

pub fn default_path() -> PathBuf {
    if let Some(path) = std::env::var_os("CHORUS_CLI_CONFIG") {
        return PathBuf::from(path);
    }
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    config_home.join("chorus").join("cli.json")
}

impl Profiles {
    /// Reads the profiles at `path`; a missing file is an empty set.
    pub fn load(path: &Path) -> CliResult<Profiles> {
        let mut profiles = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str::<Profiles>(&text).map_err(|e| {
                CliError::Failed(format!(
                    "{} is not a valid profile file ({e}); fix or delete it",
                    path.display()
                ))
            })?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Profiles::default(),
            Err(err) => {
                return Err(CliError::Failed(format!(
                    "cannot read {}: {err}",
                    path.display()
                )))
            }
        };
        profiles.path = path.to_path_buf();
        Ok(profiles)
    }

    pub fn current(&self) -> Option<&Profile> {
        self.current
            .as_ref()
            .and_then(|name| self.profiles.get(name))
    }

    /// Writes the file atomically (a temporary file renamed over it), owner-only.
    pub fn save(&self) -> CliResult<()> {
        let failed = |e: std::io::Error| {
            CliError::Failed(format!("cannot write {}: {e}", self.path.display()))
        };
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let text = serde_json::to_string_pretty(self).expect("profiles serialise");
        let temporary = self.path.with_extension("json.tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&temporary).map_err(failed)?;
            file.write_all(text.as_bytes()).map_err(failed)?;
        }
        std::fs::rename(&temporary, &self.path).map_err(failed)
    }
}
