//! The client's address: the connection's peer, or, behind a load balancer named in
//! `ServiceSettings.TrustedProxyIPHeader`, the first address of the first of those
//! headers present (`X-Forwarded-For: client, proxy1, …` or `X-Real-IP: client`).
//! Without that setting the headers are ignored, since any client can send them.

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The peer address the accept loop records on every request.
pub type PeerAddress = ConnectInfo<SocketAddr>;

pub fn client_address(parts: &Parts, trusted_headers: &[String]) -> IpAddr {
    for name in trusted_headers {
        let forwarded = parts
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|first| first.trim().parse::<IpAddr>().ok());
        if let Some(address) = forwarded {
            return address;
        }
    }
    parts
        .extensions
        .get::<PeerAddress>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.0.ip())
}
