//! Who is calling: client IP (trusted-proxy aware) and user agent.

use std::net::{IpAddr, SocketAddr};

use authfort_core::ClientInfo;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::state::AuthState;

/// Longest user agent we keep.
const MAX_USER_AGENT: usize = 512;

/// The resolved client of a request.
#[derive(Debug, Clone)]
pub struct Client(pub ClientInfo);

/// The client IP: the TCP peer, or, only when the peer is a trusted proxy, the right-most
/// address of `X-Forwarded-For` that is not itself a trusted proxy. Never the left-most
/// value blindly (the client writes that one).
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if trusted.is_empty() || !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    if let Some(ip) = hops.iter().rev().find(|ip| !is_trusted(ip)) {
        return Some(*ip);
    }
    if let Some(first) = hops.first() {
        return Some(*first);
    }
    headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
        .or(Some(peer))
}

impl<S> FromRequestParts<S> for Client
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AuthState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = client_ip(peer, &parts.headers, &state.trusted_proxies).map(|ip| ip.to_string());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(MAX_USER_AGENT).collect());
        Ok(Client(ClientInfo {
            ip_address: ip,
            user_agent,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn untrusted_peer_ignores_forwarded_headers() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(client_ip(Some(peer), &headers("1.2.3.4"), &trusted), Some(peer));
        assert_eq!(client_ip(Some(peer), &headers("1.2.3.4"), &[]), Some(peer));
    }

    #[test]
    fn trusted_peer_uses_rightmost_untrusted_hop() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        // The client spoofed 6.6.6.6; the real client 198.51.100.7 was appended by our proxies.
        let got = client_ip(Some(peer), &headers("6.6.6.6, 198.51.100.7, 10.0.0.5"), &trusted);
        assert_eq!(got, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn no_peer_means_unknown() {
        assert_eq!(client_ip(None, &HeaderMap::new(), &[]), None);
    }
}
