//! Authorization, route by route. The routes are read from the API modules' source (every
//! `.route("…", get(…).post(…))`), so a route added later cannot be forgotten here: each
//! one is called as an anonymous client, which must get 401 unless the route is public,
//! and each admin route as a plain user, who must get 403. Every refusal carries
//! Mattermost's error shape.

use crate::common::{assert_error_shape, Backend, Endpoint, TestServer};
use reqwest::{Method, StatusCode};
use std::collections::BTreeSet;

/// Routes anyone may call: sign-up, login, logout, health, the client configuration
/// and licence, the web app's files, the web
/// bundles and their list (the web app loads them before login), the websocket (which authenticates by
/// challenge once upgraded), and opening a dialog (the trigger id is the credential). Plugins' own routes (`/plugins/{id}/…`, registered with
/// `any`) are not listed: the plugin decides, from the `Mattermost-User-Id` the server
/// sets only for a valid session (tested in `plugins`).
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/static/plugins/{plugin_id}/{*file}"),
    ("GET", "/static/{*file}"),
    ("GET", "/static/emoji.json"),
    ("POST", "/users"),
    ("POST", "/users/login"),
    // Logout answers 200 with or without a session, as in Mattermost.
    ("POST", "/users/logout"),
    ("GET", "/config/client"),
    ("GET", "/license/client"),
    ("GET", "/system/ping"),
    ("GET", "/plugins/webapp"),
    ("GET", "/websocket"),
    // Public file links carry their own proof (the hash), outside /api/v4.
    ("GET", "/files/{file_id}/public"),
    // Incoming webhooks: the hook's id is the secret, as in Mattermost.
    ("POST", "/hooks/{hook_id}"),
    // A custom command's response URL: its id is the secret, as in Mattermost.
    ("POST", "/hooks/commands/{hook_id}"),
    // Integrations open dialogs with a signed trigger id, their only credential.
    ("POST", "/actions/dialogs/open"),
];

/// Routes for system admins only.
const ADMIN: &[(&str, &str)] = &[
    ("GET", "/config"),
    ("PUT", "/config/patch"),
    ("GET", "/cluster/status"),
    ("GET", "/users/tokens"),
    ("PUT", "/users/{user_id}/roles"),
    ("POST", "/bots"),
    ("GET", "/bots"),
    ("GET", "/plugins"),
    ("POST", "/plugins"),
    ("GET", "/plugins/statuses"),
    ("DELETE", "/plugins/{plugin_id}"),
    ("POST", "/plugins/{plugin_id}/enable"),
    ("POST", "/plugins/{plugin_id}/disable"),
    ("POST", "/posts/ephemeral"),
];

/// `(method, path)` of every route registered in `src/api/*.rs`.
fn registered_routes() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut rest = source.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let Some(start) = rest.find('"') else { break };
            let Some(end) = rest[start + 1..].find('"') else {
                break;
            };
            let path = &rest[start + 1..start + 1 + end];
            // The methods are the calls up to the next route, or the end of the function
            // that builds the router (not the handlers written after it).
            let chunk_end = [rest.find(".route("), rest.find("\n}\n")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(rest.len());
            let chunk = &rest[start + 1 + end..chunk_end];
            for method in ["get", "post", "put", "delete", "patch"] {
                let call = format!("{method}(");
                let found = chunk.match_indices(&call).any(|(i, _)| {
                    i == 0
                        || !chunk.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && chunk.as_bytes()[i - 1] != b'_'
                });
                if found {
                    routes.insert((method.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    routes
}

fn concrete(path: &str) -> String {
    // Any well-formed id: authorization must be decided before the id is looked up.
    path.split('/')
        .map(|part| {
            if part.starts_with('{') {
                "abcdefghijklmnopqrstuvwxyz".to_string()
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn call(
    server: &TestServer,
    token: Option<&str>,
    method: &str,
    path: &str,
) -> (StatusCode, serde_json::Value) {
    let url = format!("{}/api/v4{}", server.base_url(), concrete(path));
    let mut request =
        reqwest::Client::new().request(Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request = if (method, path) == ("POST", "/plugins") {
        request.multipart(reqwest::multipart::Form::new().text("force", "false"))
    } else if method != "GET" && method != "DELETE" {
        request.json(&serde_json::json!({}))
    } else {
        request
    };
    let reply = request.send().await.unwrap();
    let status = reply.status();
    (
        status,
        reply.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_anonymous_and_plain_users_where_it_should() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_admin, _) = server.user("admin").await;
    let (plain, _) = server.user("plain").await;
    let routes = registered_routes();
    assert!(routes.len() > 30, "the route scan found only {routes:?}");
    for (method, path) in ADMIN.iter().chain(PUBLIC) {
        assert!(
            routes.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is listed here but no longer registered"
        );
    }
    let mut problems = Vec::new();
    for (method, path) in &routes {
        let key = (method.as_str(), path.as_str());
        if PUBLIC.contains(&key) {
            continue;
        }
        let (status, body) = call(&server, None, method, path).await;
        if status != StatusCode::UNAUTHORIZED {
            problems.push(format!("anonymous {method} {path} → {status} {body}"));
        } else {
            assert_error_shape(status, &body);
        }
        let (status, body) = call(&server, Some("not-a-valid-token"), method, path).await;
        if status != StatusCode::UNAUTHORIZED {
            problems.push(format!("bad token {method} {path} → {status} {body}"));
        }
        if ADMIN.contains(&key) {
            let (status, body) = call(&server, Some(plain.token()), method, path).await;
            if status != StatusCode::FORBIDDEN {
                problems.push(format!("plain user {method} {path} → {status} {body}"));
            } else {
                assert_error_shape(status, &body);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "authorization holes:\n{}",
        problems.join("\n")
    );
    server.stop().await;
}
