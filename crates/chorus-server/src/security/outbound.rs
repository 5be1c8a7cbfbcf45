//! Requests the server makes to integrations (outgoing webhooks, custom slash
//! commands, interactive message actions): one HTTP client that refuses loopback,
//! private and other reserved addresses unless `ServiceSettings.
//! AllowedUntrustedInternalConnections` lists them, bounds every request's time and
//! every answer's size, and never goes through an environment proxy.
//!
//! The check is made on the addresses a host name resolves to, at the moment of
//! connecting (a custom resolver hands reqwest only the permitted ones), so a name
//! that resolves to a public address for the check and to an internal one for the
//! connection cannot slip through. Host names given as IP literals never reach a
//! resolver, so they are checked before the request and on every redirect.
//! No crate offers this filter for reqwest, hence this module.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Redirects followed before giving up, as Go's HTTP client (and so Mattermost).
const MAX_REDIRECTS: usize = 10;

/// Address ranges an integration may not reach unless the operator lists them, the
/// list Mattermost uses: "this network", private, carrier-grade NAT, loopback,
/// link-local, the IETF and documentation blocks, benchmarking, multicast, reserved
/// space and broadcast, and their IPv6 counterparts (with the 6to4 and ORCHID blocks).
const RESERVED_RANGES: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::/128",
    "::1/128",
    "64:ff9b::/96",
    "100::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:10::/28",
    "2001:20::/28",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// Why an integration could not be reached or answered nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("address forbidden, you may need to set AllowedUntrustedInternalConnections to allow an integration access to your internal network ({0})")]
    Forbidden(String),
    #[error("the integration did not answer within {0} seconds")]
    Timeout(u64),
    #[error("the integration's answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Request(String),
}

/// Which internal addresses the operator lets integrations reach.
#[derive(Debug, Default, Clone)]
pub struct AddressPolicy {
    hosts: Vec<String>,
    networks: Vec<IpNet>,
}

impl AddressPolicy {
    /// `AllowedUntrustedInternalConnections`: host names, IP addresses and CIDR blocks
    /// separated by spaces or commas.
    pub fn parse(setting: &str) -> AddressPolicy {
        let mut policy = AddressPolicy::default();
        for entry in setting
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            if let Ok(network) = entry.parse::<IpNet>() {
                policy.networks.push(network);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                policy.networks.push(IpNet::from(ip));
            } else {
                policy.hosts.push(entry.to_ascii_lowercase());
            }
        }
        policy
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether an address may be connected to.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        !is_reserved(ip) || self.networks.iter().any(|n| n.contains(&ip))
    }

    /// Whether a URL may be requested, as far as its host can be judged without a DNS
    /// lookup (IP literals, and names the operator listed).
    fn check_url(&self, url: &reqwest::Url) -> Result<(), OutboundError> {
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(OutboundError::Request(format!(
                    "only http and https URLs can be called, not {other}:"
                )))
            }
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) if !self.allows_ip(ip.into()) => {
                Err(OutboundError::Forbidden(ip.to_string()))
            }
            Some(url::Host::Ipv6(ip)) if !self.allows_ip(ip.into()) => {
                Err(OutboundError::Forbidden(ip.to_string()))
            }
            Some(_) => Ok(()),
            None => Err(OutboundError::Request("the URL names no host".into())),
        }
    }
}

fn is_reserved(ip: IpAddr) -> bool {
    static RANGES: std::sync::OnceLock<Vec<IpNet>> = std::sync::OnceLock::new();
    RANGES
        .get_or_init(|| {
            RESERVED_RANGES
                .iter()
                .map(|r| r.parse().expect("reserved range"))
                .collect()
        })
        .iter()
        .any(|n| n.contains(&ip))
}

/// Resolves names and keeps only the addresses the policy permits.
struct FilteringResolver {
    policy: Arc<AddressPolicy>,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if policy.allows_host(&host) {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let permitted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.allows_ip(a.ip()))
                .collect();
            if permitted.is_empty() {
                let shown = found.first().map_or(host, |a| a.ip().to_string());
                return Err(Box::new(OutboundError::Forbidden(shown)) as _);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// What an integration answered: its status, content type and (bounded) body.
#[derive(Debug)]
pub struct OutboundResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The client every integration call goes through.
pub struct OutboundClient {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
    timeout_seconds: u64,
    max_response_bytes: usize,
}

impl OutboundClient {
    pub fn new(
        allowed_untrusted: &str,
        timeout_seconds: u64,
        max_response_bytes: usize,
    ) -> OutboundClient {
        let policy = Arc::new(AddressPolicy::parse(allowed_untrusted));
        let redirect_policy = policy.clone();
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(FilteringResolver {
                policy: policy.clone(),
            }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(OutboundError::Request(format!(
                        "stopped after {MAX_REDIRECTS} redirects"
                    )));
                }
                match redirect_policy.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .timeout(Duration::from_secs(timeout_seconds.max(1)))
            .user_agent(concat!("Chorus/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the integration HTTP client builds");
        OutboundClient {
            client,
            policy,
            timeout_seconds: timeout_seconds.max(1),
            max_response_bytes,
        }
    }

    /// A request to `url`, to be finished by the caller (method, headers, body) and
    /// sent with [`OutboundClient::send`].
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, OutboundError> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| OutboundError::Request(format!("the URL {url:?} is not valid: {e}")))?;
        self.policy.check_url(&url)?;
        Ok(self.client.request(method, url))
    }

    /// Sends a request and reads its answer, at most `max_response_bytes` of it.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<OutboundResponse, OutboundError> {
        let mut response = request.send().await.map_err(|e| self.explain(e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.explain(e))? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(OutboundError::TooLarge(self.max_response_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(OutboundResponse {
            status,
            content_type,
            body,
        })
    }

    /// Finds the cause a person can act on inside reqwest's error chain.
    fn explain(&self, error: reqwest::Error) -> OutboundError {
        if error.is_timeout() {
            return OutboundError::Timeout(self.timeout_seconds);
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(cause) = source {
            if let Some(OutboundError::Forbidden(address)) = cause.downcast_ref::<OutboundError>() {
                return OutboundError::Forbidden(address.clone());
            }
            if let Some(OutboundError::Request(text)) = cause.downcast_ref::<OutboundError>() {
                return OutboundError::Request(text.clone());
            }
            source = cause.source();
        }
        let mut text = error.to_string();
        let mut cause = std::error::Error::source(&error);
        while let Some(inner) = cause {
            text = format!("{text}: {inner}");
            cause = inner.source();
        }
        OutboundError::Request(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_listed() {
        let none = AddressPolicy::parse("");
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.20.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!none.allows_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(none.allows_ip(ip.parse().unwrap()), "{ip}");
        }
        let listed = AddressPolicy::parse("127.0.0.1, 10.0.0.0/8 hooks.internal");
        assert!(listed.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(!listed.allows_ip("127.0.0.2".parse().unwrap()));
        assert!(listed.allows_ip("10.9.9.9".parse().unwrap()));
        assert!(!listed.allows_ip("192.168.0.1".parse().unwrap()));
        assert!(listed.allows_host("Hooks.Internal."));
        assert!(!listed.allows_host("other.internal"));
    }

    #[test]
    fn literal_addresses_and_odd_schemes_are_checked_before_any_request() {
        let policy = AddressPolicy::parse("");
        let check = |u: &str| policy.check_url(&reqwest::Url::parse(u).unwrap());
        assert!(matches!(
            check("http://127.0.0.1:8080/x"),
            Err(OutboundError::Forbidden(_))
        ));
        assert!(matches!(
            check("http://[::1]/x"),
            Err(OutboundError::Forbidden(_))
        ));
        assert!(matches!(
            check("file:///etc/passwd"),
            Err(OutboundError::Request(_))
        ));
        assert!(check("https://example.com/hook").is_ok());
    }
}
