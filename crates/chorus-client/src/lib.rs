//! The one Rust client of the Chorus API (Mattermost's REST API v4 and websocket), used
//! by the `chorus` CLI, the test kit and the benchmarks.
//!
//! Two layers over one [`Client`] (server address, session token, HTTP connection pool):
//! the raw layer ([`Client::request`], [`Client::call`], [`Client::send_raw`]) sends any
//! request with the bearer token and hands back the status, headers and body as they
//! came ([`Reply`]), for callers that check the wire itself; the typed layer (`api`)
//! has one method per endpoint its callers use, returning `chorus_model` types or a
//! Mattermost-shaped [`ClientError`]. `websocket` opens the event socket.

mod api;
mod error;
mod websocket;

pub use api::path_segment;
pub use error::ClientError;
pub use reqwest::{multipart, Method, StatusCode};
pub use websocket::{websocket_url, WebSocket};

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A server address, an optional session token, and a connection pool. Cheap to clone;
/// clones share the pool.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    /// `http://host[:port]` without a trailing slash (no `/api/v4`).
    server_url: String,
    token: Option<String>,
}

/// A reply as it came: status, headers and the body's bytes.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The `Content-Type` header, when it is text.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; `Null` when it is empty or not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A success's body as `T`, or the error the reply carries.
    pub fn decode<T: DeserializeOwned>(self) -> Result<T, ClientError> {
        let body = self.json();
        if !self.status.is_success() {
            let server = self
                .headers
                .get(reqwest::header::SERVER)
                .and_then(|v| v.to_str().ok());
            return Err(ClientError::from_reply(self.status, server, &body));
        }
        serde_json::from_value(body).map_err(|e| ClientError::UnexpectedBody {
            status: self.status.as_u16(),
            reason: e.to_string(),
        })
    }
}

impl Client {
    /// An anonymous client of the server at `server_url` (`http://host:port`).
    pub fn new(server_url: impl Into<String>) -> Client {
        Client::with_http(reqwest::Client::new(), server_url)
    }

    /// Like [`Client::new`], on an HTTP client the caller has set up (timeouts, say).
    pub fn with_http(http: reqwest::Client, server_url: impl Into<String>) -> Client {
        Client {
            http,
            server_url: server_url.into().trim_end_matches('/').to_string(),
            token: None,
        }
    }

    /// The same server and pool, sending `token`.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// The same server and pool without a session.
    pub fn signed_out(&self) -> Client {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// The same session talking to another server (another node of a cluster).
    pub fn at(&self, server_url: &str) -> Client {
        Client {
            server_url: server_url.trim_end_matches('/').to_string(),
            ..self.clone()
        }
    }

    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The underlying HTTP client, for requests outside the API (load generators).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// A request to `/api/v4{path}`, with the session token when there is one.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.authorised(
            self.http
                .request(method, format!("{}/api/v4{path}", self.server_url)),
        )
    }

    /// A request to a plugin's own HTTP endpoint, `/plugins/{plugin_id}{path}`.
    pub fn plugin_request(
        &self,
        method: Method,
        plugin_id: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.authorised(self.http.request(
            method,
            format!("{}/plugins/{plugin_id}{path}", self.server_url),
        ))
    }

    /// Sends a request and reads the whole reply, whatever its status.
    pub async fn send_raw(&self, request: reqwest::RequestBuilder) -> Result<Reply, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::unreachable(&self.server_url, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreadable(e.to_string()))?
            .to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// `method` on `/api/v4{path}` with an optional JSON body; the reply as it came.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, ClientError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send_raw(request).await
    }

    /// Sends a request and decodes a success as `T`, or returns the error it carries.
    pub async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        self.send_raw(request).await?.decode()
    }
}
