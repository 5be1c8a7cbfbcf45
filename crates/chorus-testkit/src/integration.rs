//! A real HTTP integration for the server to call (outgoing webhooks, custom slash
//! commands): it listens on loopback, records every request, and answers each path
//! as the test told it to (a status, a body, a delay, a redirect).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How the peer answers one path.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Waits this long before answering (a hanging integration).
    pub delay: Duration,
    /// Answers a redirect to this URL instead.
    pub location: Option<String>,
}

impl Reply {
    pub fn json(body: Value) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json".into(),
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
            location: None,
        }
    }

    pub fn text(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type: content_type.into(),
            body: body.into(),
            delay: Duration::ZERO,
            location: None,
        }
    }

    pub fn redirect(location: &str) -> Reply {
        Reply {
            status: 302,
            location: Some(location.into()),
            ..Reply::text(302, "text/plain", "")
        }
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// One request the peer received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// The form fields: from the body of a form POST, the query of a GET.
    pub fn form(&self) -> HashMap<String, String> {
        let source = if self.method == "GET" {
            self.query.as_bytes()
        } else {
            &self.body
        };
        url_decode_pairs(source)
    }

    /// Asserts that the form has these fields with these values (others may be there).
    pub fn assert_form(&self, expected: &[(&str, &str)]) {
        let form = self.form();
        for (field, value) in expected {
            assert_eq!(
                form.get(*field).map(String::as_str),
                Some(*value),
                "{field}"
            );
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

fn url_decode_pairs(source: &[u8]) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(source)))
        .expect("a query string")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[derive(Default)]
struct Shared {
    replies: Mutex<HashMap<String, Reply>>,
    requests: Mutex<Vec<Recorded>>,
    arrived: Notify,
}

pub struct IntegrationPeer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl IntegrationPeer {
    pub async fn start() -> IntegrationPeer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the integration peer");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the integration peer serves");
        });
        IntegrationPeer { url, shared, task }
    }

    /// Answers `path` this way from now on (unknown paths answer `{}` as JSON).
    pub fn reply(&self, path: &str, reply: Reply) {
        self.shared
            .replies
            .lock()
            .expect("replies")
            .insert(path.into(), reply);
    }

    /// Every request received so far for `path`.
    pub fn requests(&self, path: &str) -> Vec<Recorded> {
        self.shared
            .requests
            .lock()
            .expect("requests")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits (up to 15 s) until `path` has received `count` requests, and returns them.
    pub async fn wait_for(&self, path: &str, count: usize) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let arrived = self.shared.arrived.notified();
            let seen = self.requests(path);
            if seen.len() >= count {
                return seen;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{path} got {} requests, not {count}", seen.len());
            }
        }
    }
}

impl Drop for IntegrationPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    shared.requests.lock().expect("requests").push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_string(),
        headers,
        body: body.to_vec(),
    });
    shared.arrived.notify_waiters();
    let reply = shared
        .replies
        .lock()
        .expect("replies")
        .get(&path)
        .cloned()
        .unwrap_or_else(|| Reply::json(serde_json::json!({})));
    tokio::time::sleep(reply.delay).await;
    let status = StatusCode::from_u16(reply.status).expect("a status code");
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response();
    if let Some(location) = reply.location {
        response.headers_mut().insert(
            axum::http::header::LOCATION,
            location.parse().expect("a location"),
        );
    }
    response
}
