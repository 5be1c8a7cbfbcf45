//! `ServeHTTP` in plain Rust: the [`HttpRequest`] a plugin receives for a request to
//! `/plugins/<plugin id>/...` and the [`HttpResponse`] it answers, plus the conversion
//! from and to the protocol's stream of parts (a head, then body chunks of at most
//! [`HTTP_CHUNK_SIZE`] bytes).

use chorus_plugin_protocol::v1;
use serde::Serialize;

/// The largest body chunk the SDK puts in one `HttpResponsePart`. Small enough to
/// keep each gRPC message far below the default 4 MiB limit and to interleave
/// fairly with other calls on the same connection.
pub const HTTP_CHUNK_SIZE: usize = 64 * 1024;

/// An HTTP request to the plugin, with the whole body collected.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpRequest {
    pub method: String,
    /// The path after `/plugins/<plugin id>`, starting with `/`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Headers as received, in order; names as the client sent them. The server
    /// strips `Authorization`, its session cookie, and any `Mattermost-User-Id` the
    /// client sent, then sets `Mattermost-User-Id` itself for a signed-in user.
    pub headers: Vec<(String, String)>,
    /// The signed-in user who made the request, if any.
    pub user_id: Option<String>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first value of a header, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter, percent-decoded (`+` is a space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find_map(|(key, value)| {
                (percent_decode(key, true) == name).then(|| percent_decode(value, true))
            })
    }

    /// The path percent-decoded (`/kv/a%20b` gives `/kv/a b`; `+` stays a plus).
    pub fn decoded_path(&self) -> String {
        percent_decode(&self.path, false)
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    pub(crate) fn from_head(head: v1::HttpRequestHead) -> HttpRequest {
        HttpRequest {
            method: head.method,
            path: head.path,
            query: head.query,
            headers: head
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            user_id: Some(head.user_id).filter(|id| !id.is_empty()),
            body: Vec::new(),
        }
    }

    /// The request as the protocol's parts: the head with no body, then the body in
    /// chunks. This is what the host sends; the test harness uses it.
    pub fn into_parts(self) -> Vec<v1::HttpRequestPart> {
        let head = v1::HttpRequestHead {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self
                .headers
                .into_iter()
                .map(|(name, value)| v1::Header { name, value })
                .collect(),
            user_id: self.user_id.unwrap_or_default(),
        };
        let mut parts = vec![v1::HttpRequestPart {
            head: Some(head),
            body: Vec::new(),
        }];
        parts.extend(
            self.body
                .chunks(HTTP_CHUNK_SIZE)
                .map(|chunk| v1::HttpRequestPart {
                    head: None,
                    body: chunk.to_vec(),
                }),
        );
        parts
    }
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The plugin's answer to an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Default for HttpResponse {
    fn default() -> Self {
        HttpResponse::new(200)
    }
}

impl HttpResponse {
    /// An empty response with this status.
    pub fn new(status: u16) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, text: impl Into<String>) -> HttpResponse {
        HttpResponse::new(status)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(text.into().into_bytes())
    }

    /// A JSON response with `Content-Type: application/json` exactly (Mattermost's
    /// clients parse a body as JSON only with that exact value).
    pub fn json(status: u16, value: &impl Serialize) -> HttpResponse {
        match serde_json::to_vec(value) {
            Ok(body) => HttpResponse::new(status)
                .with_header("Content-Type", "application/json")
                .with_body(body),
            Err(error) => HttpResponse::text(
                500,
                format!("could not encode the response as JSON: {error}"),
            ),
        }
    }

    /// What the SDK answers for a path the plugin does not serve.
    pub fn not_found() -> HttpResponse {
        HttpResponse::text(404, "404 page not found")
    }

    pub fn with_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> HttpResponse {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> HttpResponse {
        self.body = body.into();
        self
    }

    /// The first value of a header, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The response as the protocol's parts: the head alone first (status and
    /// headers), then the body in chunks of at most [`HTTP_CHUNK_SIZE`] bytes.
    pub fn into_parts(self) -> Vec<v1::HttpResponsePart> {
        let head = v1::HttpResponseHead {
            status: u32::from(self.status),
            headers: self
                .headers
                .into_iter()
                .map(|(name, value)| v1::Header { name, value })
                .collect(),
        };
        let mut parts = vec![v1::HttpResponsePart {
            head: Some(head),
            body: Vec::new(),
        }];
        parts.extend(
            self.body
                .chunks(HTTP_CHUNK_SIZE)
                .map(|chunk| v1::HttpResponsePart {
                    head: None,
                    body: chunk.to_vec(),
                }),
        );
        parts
    }

    /// Reassembles a response from its parts; a body chunk in the head part counts too.
    pub fn from_parts(
        parts: impl IntoIterator<Item = v1::HttpResponsePart>,
    ) -> Option<HttpResponse> {
        let mut response: Option<HttpResponse> = None;
        for part in parts {
            if let Some(head) = part.head {
                if response.is_none() {
                    response = Some(HttpResponse {
                        status: u16::try_from(head.status).unwrap_or(500),
                        headers: head
                            .headers
                            .into_iter()
                            .map(|h| (h.name, h.value))
                            .collect(),
                        body: Vec::new(),
                    });
                }
            }
            response.as_mut()?.body.extend_from_slice(&part.body);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        let request = HttpRequest {
            query: "a=1&name=hello+big%20world&flag&bad=%zz".into(),
            ..HttpRequest::default()
        };
        assert_eq!(request.query_param("a").as_deref(), Some("1"));
        assert_eq!(
            request.query_param("name").as_deref(),
            Some("hello big world")
        );
        assert_eq!(request.query_param("flag").as_deref(), Some(""));
        assert_eq!(request.query_param("bad").as_deref(), Some("%zz"));
        assert_eq!(request.query_param("missing"), None);
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%4", true), "%4");
        let request = HttpRequest {
            path: "/kv/a%20b+c%3A".into(),
            ..HttpRequest::default()
        };
        assert_eq!(request.decoded_path(), "/kv/a b+c:");
    }

    #[test]
    fn responses_split_into_bounded_chunks_and_reassemble() {
        let body: Vec<u8> = (0..(HTTP_CHUNK_SIZE * 2 + 10))
            .map(|i| (i % 251) as u8)
            .collect();
        let response = HttpResponse::new(201)
            .with_header("X-A", "1")
            .with_body(body.clone());
        let parts = response.clone().into_parts();
        assert_eq!(parts.len(), 4);
        assert!(parts[0].head.is_some() && parts[0].body.is_empty());
        assert!(parts[1..]
            .iter()
            .all(|p| p.head.is_none() && p.body.len() <= HTTP_CHUNK_SIZE));
        assert_eq!(HttpResponse::from_parts(parts), Some(response));
        assert_eq!(HttpResponse::from_parts(Vec::new()), None);
    }
}
