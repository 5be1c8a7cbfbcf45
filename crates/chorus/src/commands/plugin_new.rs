//! `chorus plugin new`: a ready-to-build plugin crate, like Mattermost's starter
//! template. The server part is a small but real stateless plugin on `chorus-plugin`
//! (an HTTP counter kept in the KV store with compare-and-set) with unit tests on the
//! SDK's harness; `--web` adds a framework-free web part.
//!
//! The files are templates under `crates/chorus/templates/plugin/`, compiled into the
//! binary so the command works wherever `chorus` is copied. They use `{{key}}`
//! placeholders replaced by plain text substitution: the values are checked names and
//! ids, and the one free-form value (the SDK path) is escaped for TOML.

use crate::errors::{CliError, CliResult};
use crate::output::Output;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Where this checkout's SDK is, as the compiler saw it. `chorus` built from a checkout
/// points new plugins at it; a binary copied elsewhere needs `--sdk-path`.
const BUILT_SDK_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../chorus-plugin");

const CARGO_TOML: &str = include_str!("../../templates/plugin/Cargo.toml.tmpl");
const PLUGIN_JSON: &str = include_str!("../../templates/plugin/plugin.json.tmpl");
const MAIN_RS: &str = include_str!("../../templates/plugin/main.rs.tmpl");
const README_MD: &str = include_str!("../../templates/plugin/README.md.tmpl");
const GITIGNORE: &str = include_str!("../../templates/plugin/gitignore.tmpl");
const MAIN_JS: &str = include_str!("../../templates/plugin/main.js.tmpl");

#[derive(clap::Args)]
pub struct NewArgs {
    /// The crate's name, also the plugin's folder: lowercase letters, digits, '-' and
    /// '_', starting with a letter (e.g. hello-counter).
    pub name: String,
    /// The plugin id: 3-190 characters of letters, digits, '-', '_' and '.'
    /// (default: com.example.<name>).
    #[arg(long)]
    pub id: Option<String>,
    /// The folder to create the plugin folder in.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Add a web part (webapp/main.js, plain JavaScript with no build step).
    #[arg(long)]
    pub web: bool,
    /// The chorus-plugin SDK crate (crates/chorus-plugin of a Chorus checkout); by
    /// default the one this binary was built from.
    #[arg(long)]
    pub sdk_path: Option<PathBuf>,
}

pub fn run(output: &Output, args: NewArgs) -> CliResult<()> {
    check_crate_name(&args.name)?;
    let plugin_id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("com.example.{}", args.name));
    if !chorus_server::plugins::manifest::is_valid_plugin_id(&plugin_id) {
        return Err(CliError::Usage(format!(
            "{plugin_id:?} is not a valid plugin id: use 3-190 characters of letters, digits, '-', '_' and '.' (e.g. com.example.{})",
            args.name
        )));
    }
    let sdk = sdk_path(args.sdk_path.as_deref())?;
    let folder = args.dir.join(&args.name);
    if folder.exists() {
        return Err(CliError::Usage(format!(
            "{} exists already: choose another name or --dir, or remove it",
            folder.display()
        )));
    }
    let lock = seed_lock(&sdk);
    let files = render(&args.name, &plugin_id, &sdk, args.web, lock.as_deref());
    create(&args.dir, &folder, &files)?;

    let shown = folder.display().to_string();
    let absolute = folder.canonicalize().unwrap_or_else(|_| folder.clone());
    let names: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    output.print(
        || {
            let mut text = format!("Created plugin {plugin_id} in {shown}:\n");
            for name in &names {
                text.push_str(&format!("  {name}\n"));
            }
            text.push_str(&format!(
                "\nNext steps:\n  cd {shown}\n  cargo test\n  chorus plugin bundle .\n  \
                 chorus plugin add {plugin_id}-0.1.0.tar.gz\n  \
                 chorus plugin enable {plugin_id} --wait\n"
            ));
            text
        },
        json!({
            "path": absolute.display().to_string(),
            "plugin_id": plugin_id,
            "files": names,
            "sdk_path": sdk.display().to_string(),
        }),
    );
    Ok(())
}

/// Refuses names cargo refuses or that would make a confusing crate: the name is the
/// package, the executable and the folder.
fn check_crate_name(name: &str) -> CliResult<()> {
    // Rust keywords (as identifiers, `-` being `_`) and names cargo reserves for its
    // own libraries or for the folders of its target directory.
    const RESERVED: &str = "\
        abstract alloc as async await become box break build const continue core crate \
        deps do dyn else enum examples extern false final fn for gen if impl in \
        incremental let loop macro match mod move mut override priv proc_macro pub ref \
        return self static std struct super test trait true try type typeof unsafe \
        unsized use virtual where while yield";
    let valid_chars = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_chars {
        return Err(CliError::Usage(format!(
            "{name:?} is not a valid crate name: use up to 64 lowercase letters, digits, '-' and '_', starting with a letter (e.g. hello-counter)"
        )));
    }
    let ident = name.replace('-', "_");
    if RESERVED.split_whitespace().any(|word| word == ident) {
        return Err(CliError::Usage(format!(
            "{name:?} cannot be a crate name: it is a Rust keyword or a name cargo reserves"
        )));
    }
    Ok(())
}

/// The SDK crate the plugin depends on, absolute: `--sdk-path`, else the checkout this
/// binary was built from.
fn sdk_path(given: Option<&Path>) -> CliResult<PathBuf> {
    let (path, hint) = match given {
        Some(path) => (path.to_path_buf(), "check --sdk-path"),
        None => (
            PathBuf::from(BUILT_SDK_PATH),
            "this chorus was built elsewhere: pass --sdk-path <crates/chorus-plugin of a Chorus checkout>",
        ),
    };
    let absolute = path.canonicalize().map_err(|_| {
        CliError::Usage(format!(
            "the chorus-plugin SDK is not at {}; {hint}",
            path.display()
        ))
    })?;
    let manifest = std::fs::read_to_string(absolute.join("Cargo.toml")).unwrap_or_default();
    let is_sdk = manifest.lines().any(|line| {
        line.split_once('=').is_some_and(|(key, value)| {
            key.trim() == "name" && value.trim().trim_matches('"') == "chorus-plugin"
        })
    });
    if !is_sdk {
        return Err(CliError::Usage(format!(
            "{} is not the chorus-plugin crate (no Cargo.toml naming it); {hint}",
            absolute.display()
        )));
    }
    Ok(absolute)
}

/// The Cargo.lock of the SDK's workspace, if there is one. The new crate starts from
/// it, so it builds with the dependency versions the SDK is tested with (cargo drops
/// the entries it does not need on the first build); and a build sharing the
/// workspace's target directory reuses its compiled dependencies instead of compiling
/// newer releases of the whole gRPC stack.
fn seed_lock(sdk: &Path) -> Option<String> {
    sdk.ancestors()
        .skip(1)
        .take(3)
        .map(|dir| dir.join("Cargo.lock"))
        .find(|lock| lock.is_file())
        .and_then(|lock| std::fs::read_to_string(lock).ok())
}

/// "hello-counter" → "Hello Counter": the manifest's display name.
fn display_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|word| !word.is_empty())
        .map(capitalised)
        .collect::<Vec<_>>()
        .join(" ")
}

/// "hello-counter" → "HelloCounterPlugin": the plugin's type in src/main.rs. The suffix
/// keeps it from clashing with the SDK's names (`Plugin`, `Api`, `Hook`, …).
fn type_name(name: &str) -> String {
    let camel: String = name
        .split(['-', '_'])
        .filter(|word| !word.is_empty())
        .map(capitalised)
        .collect();
    if camel.ends_with("Plugin") && camel != "Plugin" {
        camel
    } else {
        format!("{camel}Plugin")
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The text of a TOML basic string, without the quotes.
fn toml_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |text, (key, value)| {
            text.replace(&format!("{{{{{key}}}}}"), value)
        })
}

/// Every file of the new plugin: (path relative to its folder, content).
fn render(
    name: &str,
    plugin_id: &str,
    sdk: &Path,
    web: bool,
    lock: Option<&str>,
) -> Vec<(String, String)> {
    let display = display_name(name);
    let description = format!("{display}: a Chorus plugin");
    let sdk_toml = toml_escaped(&sdk.display().to_string());
    let type_name = type_name(name);
    let (webapp_manifest, webapp_readme, webapp_layout) = if web {
        (
            ",\n  \"webapp\": {\n    \"bundle_path\": \"webapp/main.js\"\n  }",
            "\nThe web part, `webapp/main.js`, adds a channel-header button that presses the\n\
             counter. It is plain JavaScript with no build step; the bundle carries it as it is.\n",
            "| `webapp/main.js` | the web part: `window.registerPlugin` with a channel-header button |\n",
        )
    } else {
        ("", "", "")
    };
    let values = [
        ("name", name),
        ("id", plugin_id),
        ("display_name", &display),
        ("description", &description),
        ("sdk_path", &sdk_toml),
        ("type_name", &type_name),
        ("webapp_manifest", webapp_manifest),
        ("webapp_readme", webapp_readme),
        ("webapp_layout", webapp_layout),
    ];
    let mut files = vec![("Cargo.toml".to_string(), fill(CARGO_TOML, &values))];
    if let Some(lock) = lock {
        files.push(("Cargo.lock".into(), lock.to_string()));
    }
    files.extend([
        ("plugin.json".into(), fill(PLUGIN_JSON, &values)),
        ("src/main.rs".into(), fill(MAIN_RS, &values)),
        ("README.md".into(), fill(README_MD, &values)),
        (".gitignore".into(), fill(GITIGNORE, &values)),
    ]);
    if web {
        files.push(("webapp/main.js".into(), fill(MAIN_JS, &values)));
    }
    files
}

/// Writes the files into `folder`, created here (its parent `dir` too if needed).
/// Creating the folder itself with `create_dir` refuses one that appeared since the
/// check; on a failure midway the half-made folder is removed so a retry can succeed.
fn create(dir: &Path, folder: &Path, files: &[(String, String)]) -> CliResult<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    std::fs::create_dir(folder).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            CliError::Usage(format!("{} exists already", folder.display()))
        }
        _ => CliError::Failed(format!("cannot create {}: {e}", folder.display())),
    })?;
    let written = files.iter().try_for_each(|(relative, content)| {
        let path = folder.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)
    });
    written.map_err(|e| {
        let _ = std::fs::remove_dir_all(folder);
        CliError::Failed(format!(
            "cannot write the plugin into {}: {e}",
            folder.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names_follow_cargo() {
        for good in ["hello", "hello-counter", "a1_b2", "x"] {
            assert!(check_crate_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Hello",
            "1up",
            "-x",
            "_x",
            "a b",
            "a/b",
            "é",
            "self",
            "test",
            "std",
            "deps",
            "proc-macro",
        ] {
            assert!(
                matches!(check_crate_name(bad), Err(CliError::Usage(_))),
                "{bad}"
            );
        }
        assert!(check_crate_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn names_derive_display_and_type_names() {
        assert_eq!(display_name("hello-counter_x"), "Hello Counter X");
        assert_eq!(type_name("hello-counter"), "HelloCounterPlugin");
        assert_eq!(type_name("my-plugin"), "MyPlugin");
        assert_eq!(type_name("plugin"), "PluginPlugin");
        assert_eq!(toml_escaped(r#"C:\a "b""#), r#"C:\\a \"b\""#);
    }

    #[test]
    fn rendered_files_have_no_placeholders_and_a_valid_manifest() {
        for web in [false, true] {
            let files = render(
                "hello-counter",
                "com.example.hello-counter",
                Path::new("/sdk"),
                web,
                None,
            );
            for (path, content) in &files {
                assert!(!content.contains("{{"), "{path} keeps a placeholder");
            }
            let (_, manifest) = files.iter().find(|(p, _)| p == "plugin.json").unwrap();
            use chorus_server::plugins::manifest::{parse_manifest, validate};
            let manifest = parse_manifest("plugin.json", manifest).expect("the manifest parses");
            validate(&manifest).expect("the manifest is valid");
            assert_eq!(manifest.id, "com.example.hello-counter");
            assert_eq!(manifest.name, "Hello Counter");
            assert_eq!(
                manifest.webapp.map(|w| w.bundle_path).as_deref(),
                web.then_some("webapp/main.js")
            );
            assert_eq!(
                files.iter().any(|(p, _)| p == "webapp/main.js"),
                web,
                "the web part comes with --web only"
            );
            let (_, main) = files.iter().find(|(p, _)| p == "src/main.rs").unwrap();
            assert!(main.contains("struct HelloCounterPlugin;"));
        }
    }
}
