//! Address lists in configuration and on API keys: each entry a CIDR (`10.0.0.0/8`) or a
//! single address.

use std::net::IpAddr;

pub use ipnet::IpNet;

/// One entry: a CIDR, or a single address as the network holding only it.
pub fn parse_network(entry: &str) -> Option<IpNet> {
    let text = entry.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_single_addresses_parse_and_anything_else_does_not() {
        let net = parse_network(" 10.0.0.0/8 ").unwrap();
        assert!(net.contains(&"10.1.2.3".parse::<IpAddr>().unwrap()));
        let single = parse_network("::1").unwrap();
        assert!(single.contains(&"::1".parse::<IpAddr>().unwrap()));
        assert!(!single.contains(&"::2".parse::<IpAddr>().unwrap()));
        assert_eq!(parse_network("10.0.0.0/33"), None);
        assert_eq!(parse_network("localhost"), None);
        assert_eq!(parse_network(""), None);
    }
}
