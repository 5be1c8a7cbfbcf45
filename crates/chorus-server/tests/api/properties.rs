//! Property tests of what faces untrusted input: the manifest parser, the bundle
//! extractor and the websocket message decoder, fed generated input. They run a
//! modest number of cases in the normal test run; `PROPTEST_CASES=100000 cargo test -p
//! chorus-server --test api properties` runs them as long as you like.

use crate::common::{Backend, Endpoint, TestServer, Ws};
use crate::plugins::{gzip_tar, raw_tar_entry};
use chorus_server::plugins::{bundle, manifest};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::json;

/// Strings that look like manifest values, including hostile ones.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._-]{0,12}",
        Just("../../etc/passwd".to_string()),
        Just("/abs/path".to_string()),
        Just("a/../../b".to_string()),
        "\\PC{0,40}",
    ]
}

fn manifest_text() -> impl Strategy<Value = String> {
    let object = (field(), field(), field(), field(), any::<bool>()).prop_map(
        |(id, version, executable, webapp, executables)| {
            let server = if executables {
                json!({"executables": {"linux-amd64": executable}})
            } else {
                json!({"executable": executable})
            };
            json!({"id": id, "name": "P", "version": version, "server": server,
                   "webapp": {"bundle_path": webapp}})
            .to_string()
        },
    );
    prop_oneof![
        object,
        "\\PC{0,200}",
        Just("{}".to_string()),
        Just("[]".to_string())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
    ))]

    /// Parsing and validation (what the server applies to every manifest) never panic;
    /// what passes both has a valid id and paths that stay in the plugin's folder.
    #[test]
    fn manifests_are_accepted_only_when_safe(text in manifest_text(), yaml in any::<bool>()) {
        let file = if yaml { "plugin.yaml" } else { "plugin.json" };
        let accepted = manifest::parse_manifest(file, &text)
            .and_then(|parsed| manifest::validate(&parsed).map(|()| parsed));
        if let Ok(parsed) = accepted {
            if let Some(webapp) = &parsed.webapp {
                prop_assert!(
                    webapp.bundle_path.is_empty()
                        || manifest::is_contained_relative_path(&webapp.bundle_path),
                    "{webapp:?}"
                );
            }
            prop_assert!(manifest::is_valid_plugin_id(&parsed.id), "{parsed:?}");
            if let Some(executable) = manifest::executable_for_host(&parsed) {
                prop_assert!(manifest::is_contained_relative_path(&executable), "{executable}");
            }
        }
    }
}

/// Entry names mixing ordinary components with traversal and absolute ones.
fn entry_name() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-z]{1,6}",
            Just("..".to_string()),
            Just(".".to_string()),
            Just("".to_string()),
            Just("plugin.json".to_string()),
        ],
        1..4,
    )
    .prop_flat_map(|parts| (Just(parts.join("/")), any::<bool>()))
    .prop_map(|(name, absolute)| if absolute { format!("/{name}") } else { name })
    .prop_filter("fits a tar header", |n| n.len() < 99)
}

fn entry() -> impl Strategy<Value = Vec<u8>> {
    (
        entry_name(),
        prop::sample::select(vec![b'0', b'5', b'2', b'1', b'6', b'3']),
        prop_oneof![
            Just("../../outside".to_string()),
            Just("/etc".to_string()),
            "[a-z]{1,5}"
        ],
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(name, kind, link, body)| {
            let body = if kind == b'0' { body } else { Vec::new() };
            raw_tar_entry(&name, kind, &link, &body)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
    ))]

    /// Whatever the archive holds, nothing is written outside the plugins folder, a
    /// refused bundle leaves nothing behind, and an accepted one holds only regular
    /// files and folders.
    #[test]
    fn bundles_never_escape_the_plugins_folder(entries in prop::collection::vec(entry(), 1..6)) {
        let root = tempfile::tempdir().unwrap();
        let plugins = root.path().join("plugins");
        let archive = gzip_tar(&entries);
        let result = bundle::stage_bundle(&archive[..], &plugins, bundle::BundleLimits::default());
        let outside: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|name| name != "plugins")
            .collect();
        prop_assert!(outside.is_empty(), "written outside: {outside:?}");
        match result {
            Err(_) => {
                let left: Vec<_> = std::fs::read_dir(&plugins).map(|d| d.count()).into_iter().collect();
                prop_assert!(left.iter().all(|n| *n == 0), "a refused bundle left files");
            }
            Ok(staged) => {
                for entry in walk(&staged.staging) {
                    let kind = std::fs::symlink_metadata(&entry).unwrap().file_type();
                    prop_assert!(kind.is_file() || kind.is_dir(), "{entry:?} is {kind:?}");
                }
                staged.discard();
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}

/// Frames a client could send: JSON-ish objects with odd types, and noise.
fn frame() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,20}".prop_map(|s| json!(s)),
        Just(json!({"token": 1})),
        Just(json!([1, 2])),
    ];
    let request = (
        prop_oneof![
            Just("ping".to_string()),
            Just("user_typing".to_string()),
            Just("authentication_challenge".to_string()),
            "[a-z_]{0,12}"
        ],
        value.clone(),
        value,
    )
        .prop_map(|(action, seq, data)| {
            json!({"action": action, "seq": seq, "data": data}).to_string()
        });
    prop_oneof![request, "\\PC{0,100}"]
}

/// However malformed the frames, the server answers or ignores them and the socket
/// keeps working: a `ping` sent after them gets its `pong`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_websocket_frames_never_break_the_socket() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (user, _) = server.user("alice").await;
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    let frames = prop::collection::vec(frame(), 1..8);
    let mut batches = Vec::new();
    for _ in 0..cases {
        batches.push(frames.new_tree(&mut runner).unwrap().current());
    }
    let mut ws = Ws::ready(&server, user.token()).await;
    // A seq none of the generated frames uses, to find the reply to our ping among
    // the error replies to the frames before it.
    const PING_SEQ: i64 = 987_654_321_012;
    for batch in batches {
        for text in &batch {
            ws.send_message(tokio_tungstenite::tungstenite::Message::Text(
                text.clone().into(),
            ))
            .await;
        }
        ws.send_json(json!({"action": "ping", "seq": PING_SEQ, "data": {}}))
            .await;
        let reply = loop {
            let frame = ws
                .next_frame()
                .await
                .unwrap_or_else(|| panic!("the socket closed after {batch:?}"));
            if frame["seq_reply"] == PING_SEQ {
                break frame;
            }
        };
        assert_eq!(reply["status"], "OK", "after {batch:?}: {reply}");
        assert_eq!(reply["data"]["text"], "pong", "after {batch:?}: {reply}");
    }
    ws.close().await;
    server.stop().await;
}
