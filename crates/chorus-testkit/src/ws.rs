//! A websocket client speaking Mattermost's websocket protocol, with helpers that wait
//! for events (bounded waits, so a missing event fails the test instead of hanging it).

use crate::client::Endpoint;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A websocket client speaking the Mattermost protocol.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_seq: i64,
}

pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long "nothing arrives" checks wait.
pub const QUIET_PERIOD: Duration = Duration::from_millis(300);

impl Ws {
    /// Connects without credentials and authenticates by challenge; returns after the
    /// challenge's reply (the `hello` event, or resumed events, come next). The server
    /// answers once the connection is attached, so every event caused afterwards
    /// reaches it.
    pub async fn connect(server: &impl Endpoint, token: &str, query: &str) -> Ws {
        let mut ws = Ws::open(server, query).await;
        let reply = ws
            .request("authentication_challenge", json!({"token": token}))
            .await;
        assert_eq!(reply["status"], "OK", "{reply}");
        ws
    }

    /// Connects, authenticates by challenge and reads the `hello`.
    pub async fn ready(server: &impl Endpoint, token: &str) -> Ws {
        let mut ws = Ws::connect(server, token, "").await;
        ws.hello().await;
        ws
    }

    /// Connects with the token at upgrade and reads the `hello`; `None` when the
    /// server is unreachable or refuses, for load generators that must outlive a node.
    pub async fn try_ready(server: &impl Endpoint, token: &str) -> Option<Ws> {
        let url = format!("{}?access_token={token}", server.ws_url());
        let (stream, _) =
            tokio::time::timeout(EVENT_TIMEOUT, tokio_tungstenite::connect_async(url))
                .await
                .ok()?
                .ok()?;
        let mut ws = Ws {
            stream,
            next_seq: 1,
        };
        let hello = ws.frame_within(EVENT_TIMEOUT).await?;
        (hello["event"] == "hello").then_some(ws)
    }

    /// The next text frame, unparsed, however long it takes; `None` once the socket is
    /// closed. For load generators, whose own parsing would otherwise be measured.
    pub async fn next_text_patient(&mut self) -> Option<String> {
        loop {
            match self.stream.next().await?.ok()? {
                Message::Text(text) => return Some(text.as_str().to_string()),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Opens a socket without authenticating: the caller speaks first.
    pub async fn open(server: &impl Endpoint, query: &str) -> Ws {
        let url = if query.is_empty() {
            server.ws_url()
        } else {
            format!("{}?{query}", server.ws_url())
        };
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        Ws {
            stream,
            next_seq: 1,
        }
    }

    /// Opens a socket authenticated at upgrade by an `Authorization` header.
    pub async fn open_with_header(server: &impl Endpoint, authorization: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = server.ws_url().into_client_request().expect("ws request");
        request.headers_mut().insert(
            "Authorization",
            authorization.parse().expect("header value"),
        );
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("ws connect");
        Ws {
            stream,
            next_seq: 1,
        }
    }

    /// Reads the next frame, which must be `hello` at seq 0; returns it.
    pub async fn hello(&mut self) -> Value {
        let hello = self.next_frame().await.expect("hello frame");
        assert_eq!(hello["event"], "hello", "{hello}");
        assert_eq!(hello["seq"], 0, "{hello}");
        hello
    }

    /// Reads the next frame, which must be the event `name`; returns it.
    pub async fn next_event(&mut self, name: &str) -> Value {
        let frame = self
            .next_frame()
            .await
            .unwrap_or_else(|| panic!("socket ended while waiting for {name}"));
        assert_eq!(frame["event"], name, "expected {name}, got {frame}");
        frame
    }

    /// Asserts that no frame arrives within a short while.
    pub async fn expect_silence(&mut self) {
        if let Some(frame) = self.frame_within(QUIET_PERIOD).await {
            panic!("expected nothing, got {frame}");
        }
    }

    /// Asserts that the server closes the socket (without sending anything first).
    pub async fn expect_closed(&mut self) {
        loop {
            match tokio::time::timeout(EVENT_TIMEOUT, self.stream.next()).await {
                Err(_) => panic!("the socket is still open"),
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return,
                Ok(Some(Ok(Message::Text(text)))) => {
                    panic!("expected the socket to close, got {}", text.as_str())
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next raw websocket message (pings, pongs and closes included).
    pub async fn next_message(&mut self) -> Option<Message> {
        tokio::time::timeout(EVENT_TIMEOUT, self.stream.next())
            .await
            .ok()??
            .ok()
    }

    pub async fn send_message(&mut self, message: Message) {
        self.stream.send(message).await.expect("ws send");
    }

    pub async fn send_json(&mut self, value: Value) {
        self.stream
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("ws send");
    }

    /// Sends an action and waits for its reply (events arriving meanwhile are an error:
    /// callers read events with `next_event`).
    pub async fn request(&mut self, action: &str, data: Value) -> Value {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.send_json(json!({"action": action, "seq": seq, "data": data}))
            .await;
        let reply = self.next_frame().await.expect("reply");
        assert_eq!(reply["seq_reply"], json!(seq), "reply to {action}: {reply}");
        reply
    }

    /// The next text frame as JSON, or `None` if the socket closed or nothing came.
    pub async fn next_frame(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(EVENT_TIMEOUT, self.stream.next())
                .await
                .ok()??
                .ok()?;
            match message {
                Message::Text(text) => {
                    return Some(serde_json::from_str(text.as_str()).expect("JSON frame"))
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Waits up to `timeout` for any frame; `None` when nothing arrives.
    pub async fn frame_within(&mut self, timeout: Duration) -> Option<Value> {
        let message = tokio::time::timeout(timeout, self.stream.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => Some(serde_json::from_str(text.as_str()).expect("JSON frame")),
            _ => None,
        }
    }

    /// Reads events until one named `name` arrives, returning it and the ones skipped.
    pub async fn expect_event(&mut self, name: &str) -> Value {
        loop {
            let frame = self
                .next_frame()
                .await
                .unwrap_or_else(|| panic!("socket ended while waiting for {name}"));
            if frame["event"] == name {
                return frame;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
