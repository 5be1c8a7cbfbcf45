//! Reading and validating plugin manifests: `plugin.yml`, `plugin.yaml` or
//! `plugin.json` (tried in that order, as Mattermost does), with every failure naming
//! the field and the rule it broke.

use chorus_model::Manifest;
use std::path::{Component, Path};

/// Manifest file names, in the order they are looked for.
pub const MANIFEST_FILES: [&str; 3] = ["plugin.yml", "plugin.yaml", "plugin.json"];

/// Platforms an executable may be declared for, with Go's names.
pub const PLATFORMS: [&str; 5] = [
    "linux-amd64",
    "linux-arm64",
    "darwin-amd64",
    "darwin-arm64",
    "windows-amd64",
];

const SETTING_TYPES: [&str; 9] = [
    "bool",
    "dropdown",
    "generated",
    "radio",
    "text",
    "longtext",
    "number",
    "username",
    "custom",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("no manifest found: expected one of plugin.yml, plugin.yaml or plugin.json")]
    Missing,
    #[error("cannot read {file}: {message}")]
    Read { file: String, message: String },
    #[error("{file} is not valid {format}: {message}")]
    Syntax {
        file: String,
        format: &'static str,
        message: String,
    },
    #[error("manifest field {field}: {rule}")]
    Invalid { field: String, rule: String },
}

fn invalid(field: impl Into<String>, rule: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.into(),
        rule: rule.into(),
    }
}

/// The manifest file of a plugin folder, if any.
pub fn find_manifest(dir: &Path) -> Option<std::path::PathBuf> {
    MANIFEST_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// Reads and validates the manifest of a plugin folder.
pub fn read_manifest(dir: &Path) -> Result<Manifest, ManifestError> {
    let path = find_manifest(dir).ok_or(ManifestError::Missing)?;
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(&path).map_err(|e| ManifestError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let manifest = parse_manifest(&file, &text)?;
    validate(&manifest)?;
    Ok(manifest)
}

/// Parses manifest text; `file` decides the format by its extension.
pub fn parse_manifest(file: &str, text: &str) -> Result<Manifest, ManifestError> {
    if file.ends_with(".json") {
        serde_json::from_str(text).map_err(|e| ManifestError::Syntax {
            file: file.into(),
            format: "JSON",
            message: e.to_string(),
        })
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| ManifestError::Syntax {
            file: file.into(),
            format: "YAML",
            message: e.to_string(),
        })
    }
}

/// True for ids of 3-190 characters of `a-zA-Z0-9-_.` (Mattermost's rule) that do not
/// start with `.`: the plugin folder is named by the id, and dot-folders are the host's
/// own (its hidden staging folders) and hidden from operators.
pub fn is_valid_plugin_id(id: &str) -> bool {
    (3..=190).contains(&id.len())
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A path inside the plugin folder: relative, no `..`, no root or drive prefix.
pub fn is_contained_relative_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

pub fn validate(manifest: &Manifest) -> Result<(), ManifestError> {
    if !is_valid_plugin_id(&manifest.id) {
        return Err(invalid(
            "id",
            "must be 3-190 characters of letters, digits, '-', '_' and '.'",
        ));
    }
    if manifest.name.trim().is_empty() {
        return Err(invalid("name", "is required"));
    }
    if !manifest.version.is_empty() && semver::Version::parse(&manifest.version).is_err() {
        return Err(invalid(
            "version",
            format!(
                "{:?} is not a semantic version such as 1.2.3",
                manifest.version
            ),
        ));
    }
    if !manifest.min_server_version.is_empty() {
        let minimum = semver::Version::parse(&manifest.min_server_version).map_err(|_| {
            invalid(
                "min_server_version",
                format!(
                    "{:?} is not a semantic version",
                    manifest.min_server_version
                ),
            )
        })?;
        let ours =
            semver::Version::parse(crate::MATTERMOST_VERSION).expect("server version is semver");
        if minimum > ours {
            return Err(invalid(
                "min_server_version",
                format!(
                    "the plugin needs Mattermost {minimum} or later; this server speaks \
                     Mattermost {ours} (Chorus {})",
                    crate::SERVER_VERSION
                ),
            ));
        }
    }
    if let Some(server) = &manifest.server {
        for (platform, path) in &server.executables {
            if !PLATFORMS.contains(&platform.as_str()) {
                return Err(invalid(
                    format!("server.executables.{platform}"),
                    format!("unknown platform; use one of {}", PLATFORMS.join(", ")),
                ));
            }
            if !is_contained_relative_path(path) {
                return Err(invalid(
                    format!("server.executables.{platform}"),
                    "must be a relative path inside the plugin folder",
                ));
            }
        }
        if !server.executable.is_empty() && !is_contained_relative_path(&server.executable) {
            return Err(invalid(
                "server.executable",
                "must be a relative path inside the plugin folder",
            ));
        }
        if server.executables.is_empty() && server.executable.is_empty() {
            return Err(invalid(
                "server",
                "declares neither server.executables nor server.executable",
            ));
        }
    }
    if let Some(webapp) = &manifest.webapp {
        if !is_contained_relative_path(&webapp.bundle_path) {
            return Err(invalid(
                "webapp.bundle_path",
                "must be a relative path inside the plugin folder",
            ));
        }
    }
    if let Some(schema) = &manifest.settings_schema {
        let mut keys = std::collections::HashSet::new();
        for (index, setting) in schema.settings.iter().enumerate() {
            let field = format!("settings_schema.settings[{index}]");
            if !SETTING_TYPES.contains(&setting.setting_type.as_str()) {
                return Err(invalid(
                    format!("{field}.type"),
                    format!(
                        "{:?} is not one of {}",
                        setting.setting_type,
                        SETTING_TYPES.join(", ")
                    ),
                ));
            }
            if setting.key.is_empty() && setting.setting_type != "custom" {
                return Err(invalid(format!("{field}.key"), "is required"));
            }
            if !setting.key.is_empty() && !keys.insert(setting.key.to_lowercase()) {
                return Err(invalid(
                    format!("{field}.key"),
                    format!("{:?} appears twice", setting.key),
                ));
            }
            if matches!(setting.setting_type.as_str(), "dropdown" | "radio")
                && setting.options.is_empty()
            {
                return Err(invalid(
                    format!("{field}.options"),
                    "a dropdown or radio setting needs options",
                ));
            }
        }
    }
    Ok(())
}

/// The host platform in Go's naming (`linux-amd64`…), as manifests key executables.
pub fn host_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}-{arch}")
}

/// The executable to start on this host: the platform's entry, else `server.executable`.
pub fn executable_for_host(manifest: &Manifest) -> Option<String> {
    let server = manifest.server.as_ref()?;
    server
        .executables
        .get(&host_platform())
        .cloned()
        .or_else(|| Some(server.executable.clone()).filter(|e| !e.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(json: &str) -> Result<Manifest, ManifestError> {
        let manifest = parse_manifest("plugin.json", json)?;
        validate(&manifest)?;
        Ok(manifest)
    }

    fn field_of(err: ManifestError) -> String {
        match err {
            ManifestError::Invalid { field, .. } => field,
            other => panic!("expected a field error, got {other}"),
        }
    }

    #[test]
    fn ids_may_not_start_with_a_dot() {
        assert!(is_valid_plugin_id("com.example.demo"));
        assert!(!is_valid_plugin_id(".staging-x"));
        assert!(!is_valid_plugin_id("..."));
        assert!(!is_valid_plugin_id("a/b"));
    }

    #[test]
    fn accepts_a_full_manifest_in_json_and_yaml() {
        let json = r#"{"id":"com.example.demo","name":"Demo","version":"1.2.3",
            "server":{"executables":{"linux-amd64":"server/dist/plugin-linux-amd64"}},
            "webapp":{"bundle_path":"webapp/main.js"},
            "settings_schema":{"settings":[{"key":"Word","display_name":"Word","type":"text","default":"hi"}]}}"#;
        let parsed = manifest(json).unwrap();
        assert_eq!(parsed.id, "com.example.demo");
        let yaml = "id: com.example.demo\nname: Demo\nversion: 1.2.3\nserver:\n  executable: server/plugin\n";
        let parsed = parse_manifest("plugin.yaml", yaml).unwrap();
        validate(&parsed).unwrap();
        assert_eq!(parsed.server.unwrap().executable, "server/plugin");
    }

    #[test]
    fn every_rule_names_its_field() {
        assert_eq!(
            field_of(manifest(r#"{"id":"ab","name":"x"}"#).unwrap_err()),
            "id"
        );
        assert_eq!(
            field_of(manifest(r#"{"id":"a b c","name":"x"}"#).unwrap_err()),
            "id"
        );
        assert_eq!(
            field_of(
                manifest(&format!(r#"{{"id":"{}","name":"x"}}"#, "a".repeat(191))).unwrap_err()
            ),
            "id"
        );
        assert_eq!(field_of(manifest(r#"{"id":"abc"}"#).unwrap_err()), "name");
        assert_eq!(
            field_of(manifest(r#"{"id":"abc","name":"x","version":"one"}"#).unwrap_err()),
            "version"
        );
        assert_eq!(
            field_of(
                manifest(r#"{"id":"abc","name":"x","min_server_version":"99.0.0"}"#).unwrap_err()
            ),
            "min_server_version"
        );
        // Real Mattermost manifests ask for 5.16 to 10.7: the compatibility level counts.
        for accepted in ["5.16.0", "9.0.0", "10.7.0", crate::MATTERMOST_VERSION] {
            let json = format!(r#"{{"id":"abc","name":"x","min_server_version":"{accepted}"}}"#);
            assert!(manifest(&json).is_ok(), "{accepted}");
        }
        assert_eq!(
            field_of(
                manifest(r#"{"id":"abc","name":"x","min_server_version":"10.12.0"}"#).unwrap_err()
            ),
            "min_server_version"
        );
        assert_eq!(
            field_of(
                manifest(r#"{"id":"abc","name":"x","server":{"executables":{"plan9-mips":"a"}}}"#)
                    .unwrap_err()
            ),
            "server.executables.plan9-mips"
        );
        assert_eq!(
            field_of(
                manifest(r#"{"id":"abc","name":"x","server":{"executable":"../evil"}}"#)
                    .unwrap_err()
            ),
            "server.executable"
        );
        assert_eq!(
            field_of(
                manifest(r#"{"id":"abc","name":"x","server":{"executable":"/bin/sh"}}"#)
                    .unwrap_err()
            ),
            "server.executable"
        );
        assert_eq!(
            field_of(manifest(r#"{"id":"abc","name":"x","server":{}}"#).unwrap_err()),
            "server"
        );
        assert_eq!(
            field_of(
                manifest(r#"{"id":"abc","name":"x","webapp":{"bundle_path":"../../x.js"}}"#)
                    .unwrap_err()
            ),
            "webapp.bundle_path"
        );
        assert_eq!(
            field_of(
                manifest(r#"{"id":"abc","name":"x","settings_schema":{"settings":[{"key":"a","type":"color"}]}}"#)
                    .unwrap_err()
            ),
            "settings_schema.settings[0].type"
        );
        assert_eq!(
            field_of(
                manifest(r#"{"id":"abc","name":"x","settings_schema":{"settings":[{"key":"a","type":"text"},{"key":"A","type":"bool"}]}}"#)
                    .unwrap_err()
            ),
            "settings_schema.settings[1].key"
        );
    }

    #[test]
    fn syntax_errors_name_the_file_and_format() {
        let err = parse_manifest("plugin.json", "{not json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("plugin.json is not valid JSON"), "{err}");
        let err = parse_manifest("plugin.yaml", "id: [unclosed")
            .unwrap_err()
            .to_string();
        assert!(err.contains("plugin.yaml is not valid YAML"), "{err}");
    }

    #[test]
    fn picks_the_host_executable_then_the_fallback() {
        let mut m = Manifest {
            server: Some(chorus_model::ManifestServer {
                executables: [(host_platform(), "native".to_string())]
                    .into_iter()
                    .collect(),
                executable: "fallback".into(),
            }),
            ..Manifest::default()
        };
        assert_eq!(executable_for_host(&m).as_deref(), Some("native"));
        m.server.as_mut().unwrap().executables.clear();
        assert_eq!(executable_for_host(&m).as_deref(), Some("fallback"));
        m.server = None;
        assert_eq!(executable_for_host(&m), None);
    }
}
