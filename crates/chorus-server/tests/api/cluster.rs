//! Node membership: `GET /cluster/status` lists the live nodes of the deployment.

use crate::both_backends;
use crate::common::{Backend, Endpoint, TestServer};
use chorus_model::{now_millis, ClusterNode};
use reqwest::StatusCode;
use serde_json::json;

both_backends!(cluster_status_lists_live_nodes_only);

async fn cluster_status_lists_live_nodes_only(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (plain, _) = server.user("plain").await;
    assert_eq!(plain.get("/cluster/status").await.0, StatusCode::FORBIDDEN);

    let (status, nodes) = admin.get("/cluster/status").await;
    assert_eq!(status, StatusCode::OK, "{nodes}");
    assert_eq!(nodes.as_array().unwrap().len(), 1, "{nodes}");
    let me = &nodes[0];
    assert_eq!(me["id"], json!(server.state.node_id));
    assert_eq!(me["version"], chorus_server::SERVER_VERSION);
    assert_eq!(
        me["ipaddress"],
        json!(server.url.trim_start_matches("http://"))
    );
    assert!(!me["hostname"].as_str().unwrap().is_empty());
    assert!(me["last_heartbeat_at"].as_i64().unwrap() > 0);

    let now = now_millis();
    let node = |id: &str, cluster: &str, heartbeat: i64| ClusterNode {
        id: id.into(),
        cluster_name: cluster.into(),
        hostname: "elsewhere".into(),
        version: "0.0.1".into(),
        ipaddress: "10.0.0.9:8065".into(),
        started_at: now - 120_000,
        last_heartbeat_at: heartbeat,
    };
    let store = &server.state.store;
    store
        .register_node(&node("alive", "chorus", now))
        .await
        .unwrap();
    store
        .register_node(&node("stale", "chorus", now - 60_000))
        .await
        .unwrap();
    store
        .register_node(&node("other", "another-cluster", now))
        .await
        .unwrap();
    let (_, nodes) = admin.get("/cluster/status").await;
    let mut ids: Vec<&str> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec!["alive", server.state.node_id.as_str()];
    expected.sort();
    assert_eq!(
        ids, expected,
        "stale nodes and other clusters are not listed"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_see_each_other_and_a_stopped_one_leaves() {
    let Some(first) = TestServer::start(Backend::Postgres).await else {
        return;
    };
    let shared = first.state.config.sql_settings.data_source.clone();
    let Some(second) =
        TestServer::start_with(Backend::Postgres, |c| c.sql_settings.data_source = shared).await
    else {
        return;
    };
    let (admin, _) = first.user("admin").await;
    let (_, nodes) = admin.get("/cluster/status").await;
    assert_eq!(nodes.as_array().unwrap().len(), 2, "{nodes}");
    let second_id = second.state.node_id.clone();
    assert!(nodes
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["id"] == json!(second_id)));
    second.stop().await;
    let (_, nodes) = admin.get("/cluster/status").await;
    assert_eq!(
        nodes.as_array().unwrap().len(),
        1,
        "a cleanly stopped node removes itself: {nodes}"
    );
    assert_eq!(nodes[0]["id"], json!(first.state.node_id));
    first.stop().await;
}

/// Operators who deploy plugins themselves can refuse uploads in a cluster: a clear 501
/// that says what to do instead, and nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_can_be_refused_in_a_cluster() {
    let Some(server) = TestServer::start_with(Backend::Postgres, |c| {
        c.cluster_settings.enable = true;
        c.plugin_settings.enable_uploads = true;
        c.plugin_settings.allow_uploads_in_cluster = false;
    })
    .await
    else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let reply = admin
        .upload_plugin(crate::common::plugin_bundle("noop", "noop"), false)
        .await;
    crate::common::assert_error(
        &reply,
        StatusCode::NOT_IMPLEMENTED,
        "app.plugin.cluster.upload_disabled.app_error",
    );
    assert!(reply.1["message"]
        .as_str()
        .unwrap()
        .contains("PluginSettings.Directory"));
    assert_eq!(server.count("plugin_bundles").await, 0);
    server.stop().await;
}
