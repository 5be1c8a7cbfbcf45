//! The event socket: where it lives (`/api/v4/websocket` on the server's address with a
//! `ws` scheme) and opening it with the session token sent at the upgrade. Speaking
//! the protocol on it (challenges, sequence numbers) is the caller's business.

use crate::{Client, ClientError};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// An open event socket.
pub type WebSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The websocket address of the server at `server_url` (`http://host:port`).
pub fn websocket_url(server_url: &str) -> String {
    format!(
        "{}/api/v4/websocket",
        server_url.trim_end_matches('/').replacen("http", "ws", 1)
    )
}

impl Client {
    /// Opens the event socket, authenticated by the `Authorization` header of the
    /// upgrade when the client has a session (anonymous otherwise).
    pub async fn websocket(&self) -> Result<WebSocket, ClientError> {
        let url = websocket_url(&self.server_url);
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::unreachable(&url, &e))?;
        if let Some(token) = &self.token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|e| ClientError::unreachable(&url, &e))?;
            request.headers_mut().insert("Authorization", value);
        }
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| ClientError::unreachable(&url, &e))?;
        Ok(stream)
    }
}
