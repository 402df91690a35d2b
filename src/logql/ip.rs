//! `ip("…")` matchers for line filters (`|= ip("10.0.0.0/8")`) and label
//! filters (`addr = ip("10.0.0.1-10.0.0.9")`), with Loki's semantics.
//!
//! A pattern is one address, a CIDR prefix or an inclusive `from-to` range,
//! IPv4 or IPv6. Matching scans the text for address-shaped runs the way
//! Loki's `ipFilter.filter` does (a cheap prefix hint, then the longest run
//! of address characters, parsed as a whole), so a line matches exactly when
//! Loki's would: `1.2.3.4.5` is not an address and `10.0.0.1` inside it is
//! not found either. An IPv4 address never matches an IPv6 pattern and the
//! other way round (an IPv4-mapped `::ffff:1.2.3.4` is IPv6), as with Go's
//! `netip`.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpPattern {
    Addr(IpAddr),
    /// A CIDR prefix: the address (host bits may be set, as Go allows) and
    /// the prefix length.
    Prefix(IpAddr, u8),
    /// `from-to`, inclusive, both of one family, `from <= to`.
    Range(IpAddr, IpAddr),
}

const IPV4_CHARS: &[u8] = b"0123456789.";
const IPV6_CHARS: &[u8] = b"0123456789abcdefABCDEF:.";

impl IpPattern {
    /// Parses a pattern as Loki does: an address, else a prefix, else a
    /// range. The error reads as Loki's (`ip: invalid pattern: "…"`).
    pub fn parse(pattern: &str) -> Result<IpPattern, String> {
        let invalid = || format!("ip: invalid pattern: {pattern:?}");
        if let Some(a) = parse_addr(pattern) {
            return Ok(IpPattern::Addr(a));
        }
        if let Some((addr, bits)) = pattern.split_once('/') {
            let a = parse_addr(addr).ok_or_else(invalid)?;
            let max = if a.is_ipv4() { 32 } else { 128 };
            // Go's netip.ParsePrefix: decimal digits only, no leading zero.
            let digits_ok = !bits.is_empty()
                && bits.bytes().all(|b| b.is_ascii_digit())
                && (bits == "0" || !bits.starts_with('0'));
            let n: u32 = if digits_ok {
                bits.parse().map_err(|_| invalid())?
            } else {
                return Err(invalid());
            };
            if n > max {
                return Err(invalid());
            }
            return Ok(IpPattern::Prefix(a, n as u8));
        }
        if let Some((from, to)) = pattern.split_once('-') {
            let (f, t) = (
                parse_addr(from).ok_or_else(invalid)?,
                parse_addr(to).ok_or_else(invalid)?,
            );
            if f.is_ipv4() != t.is_ipv4() || t < f {
                return Err(invalid());
            }
            return Ok(IpPattern::Range(f, t));
        }
        Err(invalid())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match *self {
            IpPattern::Addr(a) => a == ip,
            IpPattern::Range(f, t) => f.is_ipv4() == ip.is_ipv4() && f <= ip && ip <= t,
            IpPattern::Prefix(a, bits) => match (a, ip) {
                (IpAddr::V4(a), IpAddr::V4(b)) => {
                    let mask = u32::MAX.checked_shl(32 - bits as u32).unwrap_or(0);
                    u32::from(a) & mask == u32::from(b) & mask
                }
                (IpAddr::V6(a), IpAddr::V6(b)) => {
                    let mask = u128::MAX.checked_shl(128 - bits as u32).unwrap_or(0);
                    u128::from(a) & mask == u128::from(b) & mask
                }
                _ => false,
            },
        }
    }

    /// Whether `text` holds an address this pattern contains.
    pub fn find_in(&self, text: &[u8]) -> bool {
        let n = text.len();
        let mut i = 0;
        while i < n {
            // Loki's ipFilter.filter: the IPv4 hint needs 4 bytes from `i`;
            // the IPv6 hint reads 0 past the end, so a short address such
            // as `::1` is found at the very end of the line.
            let at = |k: usize| text.get(k).copied().unwrap_or(0);
            let six = [at(i), at(i + 1), at(i + 2), at(i + 3), at(i + 4)];
            let charset = if i + 3 < n && ipv4_hint(&text[i..i + 4]) {
                Some(IPV4_CHARS)
            } else if ipv6_hint(&six) {
                Some(IPV6_CHARS)
            } else {
                None
            };
            if let Some(chars) = charset {
                let len = text[i..]
                    .iter()
                    .position(|b| !chars.contains(b))
                    .unwrap_or(n - i);
                let found = std::str::from_utf8(&text[i..i + len])
                    .ok()
                    .and_then(parse_addr)
                    .is_some_and(|ip| self.contains(ip));
                if found {
                    return true;
                }
                i += len;
            }
            i += 1;
        }
        false
    }
}

/// An address as Go's `netip.ParseAddr` reads it (no zones here: `%` is not
/// an address character when scanning). Rust's parser agrees with Go's on
/// the forms that matter: dotted quads without leading zeros, IPv6 with
/// `::` and an embedded IPv4 tail.
fn parse_addr(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

fn ipv4_hint(p: &[u8]) -> bool {
    p[0].is_ascii_digit() && (p[1] == b'.' || p[2] == b'.' || p[3] == b'.')
}

fn ipv6_hint(p: &[u8]) -> bool {
    let hex = |b: u8| b.is_ascii_hexdigit();
    (p[0] == b':' && p[1] == b':' && hex(p[2]))
        || (hex(p[0]) && p[1] == b':')
        || (hex(p[0]) && hex(p[1]) && p[2] == b':')
        || (hex(p[0]) && hex(p[1]) && hex(p[2]) && p[3] == b':')
        || (hex(p[0]) && hex(p[1]) && hex(p[2]) && hex(p[3]) && p[4] == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpPattern {
        IpPattern::parse(s).unwrap()
    }

    /// Loki's ip_test.go "vpn connected to ::1": an address at the very
    /// end of the line matches (ipFilter.filter reads 0 past the end for
    /// the IPv6 hint).
    #[test]
    fn finds_an_address_at_the_very_end_of_the_line() {
        assert!(p("::1").find_in(b"vpn connected to ::1"));
        assert!(p("::1").find_in(b"::1"));
        assert!(p("1::").find_in(b"at 1::"));
        assert!(p("10.0.0.1").find_in(b"from 10.0.0.1"));
        assert!(!p("::2").find_in(b"vpn connected to ::1"));
    }

    #[test]
    fn patterns_parse_like_netip() {
        assert!(matches!(p("192.168.0.1"), IpPattern::Addr(_)));
        assert!(matches!(p("192.168.0.0/16"), IpPattern::Prefix(_, 16)));
        // Host bits set: Go's ParsePrefix accepts and masks when matching.
        assert!(matches!(p("192.168.4.5/16"), IpPattern::Prefix(_, 16)));
        assert!(matches!(
            p("192.168.0.1-192.168.0.23"),
            IpPattern::Range(_, _)
        ));
        assert!(matches!(p("::1"), IpPattern::Addr(_)));
        assert!(matches!(p("2001:db8::/32"), IpPattern::Prefix(_, 32)));
        assert!(matches!(p("::1-::ff"), IpPattern::Range(_, _)));
        for bad in [
            "",
            "foo",
            "192.168.0.01",
            "192.168.0.256",
            "192.168.0.0/33",
            "192.168.0.0/016",
            "192.168.0.0/+8",
            "192.168.0.0/",
            "::/129",
            "192.168.0.9-192.168.0.1",
            "192.168.0.1-::1",
            "192.168.0.1 - 192.168.0.9",
            "fe80::1%eth0",
        ] {
            let e = IpPattern::parse(bad).unwrap_err();
            assert!(e.starts_with("ip: invalid pattern"), "{bad}: {e}");
        }
    }

    #[test]
    fn contains_by_kind_and_family() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(p("10.0.0.1").contains(ip("10.0.0.1")));
        assert!(!p("10.0.0.1").contains(ip("10.0.0.2")));
        assert!(p("10.0.0.0/8").contains(ip("10.255.1.2")));
        assert!(!p("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(p("0.0.0.0/0").contains(ip("1.2.3.4")));
        assert!(!p("0.0.0.0/0").contains(ip("::1")));
        assert!(p("10.0.0.1-10.0.0.9").contains(ip("10.0.0.9")));
        assert!(!p("10.0.0.1-10.0.0.9").contains(ip("10.0.0.10")));
        assert!(p("2001:db8::/32").contains(ip("2001:db8:1::5")));
        // An IPv4-mapped IPv6 address is IPv6, as in netip.
        assert!(!p("1.2.3.4").contains(ip("::ffff:1.2.3.4")));
        assert!(!p("1.2.3.0/24").contains(ip("::ffff:1.2.3.4")));
        assert!(p("::/0").contains(ip("::ffff:1.2.3.4")));
    }

    /// Cases from Loki's `ip_test.go` style: addresses found anywhere in a
    /// line, runs parsed whole.
    #[test]
    fn scanning_finds_addresses_like_loki() {
        let f = |pat: &str, line: &str| p(pat).find_in(line.as_bytes());
        assert!(f("192.168.0.1", "GET / from 192.168.0.1 ok"));
        assert!(f("192.168.0.1", "192.168.0.1"));
        assert!(f("192.168.0.0/24", "client=192.168.0.77:5123"));
        assert!(f("192.168.0.1-192.168.0.10", "a 10.0.0.1 b 192.168.0.5"));
        assert!(!f("192.168.0.1-192.168.0.10", "192.168.0.11"));
        // A longer dotted run is not an address, and nothing inside it is.
        assert!(!f("1.2.3.4", "version 1.2.3.4.5"));
        assert!(!f("1.2.3.4", "01.2.3.4"));
        assert!(!f("1.2.3.4", ""));
        assert!(f("::1", "[::1]:8080 up"));
        assert!(f("2001:db8::/32", "peer 2001:db8::5 connected"));
        assert!(!f("2001:db8::/32", "peer 2001:db9::5 connected"));
        // Current Loki reads the IPv6 hint past the end as 0s, so a bare
        // "::1" is found (older Loki needed 5 bytes).
        assert!(f("::1", "::1"));
        // Non-ASCII and invalid UTF-8 around an address are fine.
        assert!(f("10.0.0.1", "é\u{ff}10.0.0.1"));
        let mut bytes = b"\xff\xfe 10.0.0.1".to_vec();
        assert!(p("10.0.0.1").find_in(&bytes));
        bytes.truncate(3);
        assert!(!p("10.0.0.1").find_in(&bytes));
    }
}
