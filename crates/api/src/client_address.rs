//! Which address a request comes from (`docs/security.md#client-addresses`). Production sits
//! behind an HTTPS proxy (WeChat requires HTTPS), so the TCP peer is the proxy. Only when the
//! peer is one of `server.trusted_proxies` does `X-Forwarded-For` count, read from the right:
//! the nearest address that is not a trusted proxy is the client. Anyone else's header is
//! ignored, so it cannot be used to dodge a rate limit or a blacklist.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;
use topup_core::network::parse_network;

/// The proxies whose `X-Forwarded-For` is believed. Empty: none (the default).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Each entry a CIDR (`10.0.0.0/8`) or a single address; `Err` names the bad entry.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                parse_network(entry).ok_or_else(|| {
                    format!("[{index}]: {:?} is not an address or CIDR", entry.trim())
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For` values in order.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut nearest = peer;
        let hops = forwarded_for
            .iter()
            .rev()
            .flat_map(|value| value.rsplit(','));
        for hop in hops {
            // A hop we cannot read ends the chain: what lies beyond it cannot be believed.
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            nearest = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        nearest
    }

    /// The client address of a request.
    pub fn client_of(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .collect();
        Some(self.client(peer, &forwarded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_peer_is_believed() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.5"), &["1.2.3.4"]), ip("10.0.0.5"));
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".to_owned(), "::1".to_owned()]).unwrap();
        assert_eq!(proxies.client(ip("10.0.0.5"), &["1.2.3.4"]), ip("1.2.3.4"));
        assert_eq!(proxies.client(ip("8.8.8.8"), &["1.2.3.4"]), ip("8.8.8.8"));
    }

    #[test]
    fn the_nearest_untrusted_hop_wins() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".to_owned()]).unwrap();
        // The client forged the first entry; the proxies appended the rest.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["6.6.6.6, 1.2.3.4, 10.0.0.9"]),
            ip("1.2.3.4")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["6.6.6.6", "1.2.3.4"]),
            ip("1.2.3.4")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["garbage, 10.0.0.7"]),
            ip("10.0.0.7")
        );
        assert_eq!(proxies.client(ip("10.0.0.5"), &[]), ip("10.0.0.5"));
    }

    #[test]
    fn bad_entries_are_named() {
        let error =
            TrustedProxies::parse(&["10.0.0.0/8".to_owned(), "proxy".to_owned()]).unwrap_err();
        assert!(error.starts_with("[1]"), "{error}");
    }
}
