//! The egress policy: which destinations a client's requests may reach.
//!
//! WinHTTP has nothing like it; it is what a broker for sandboxed programs needs (Chromium's
//! network service does the same for renderers). Rules match host patterns, ports, schemes
//! and the client's uid; the first matching rule decides, else `egress.default`. With
//! `block_private`, loopback, private, link-local and similar addresses are refused.
//!
//! The check runs on the **resolved** addresses, right before connecting, and the engine
//! connects only to addresses that passed: a name that resolves to 127.0.0.1 (or is
//! re-pointed there between two lookups) cannot get around it. Every new connection is
//! checked, so redirects to other hosts are too.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[default]
    Allow,
    Deny,
}

/// The `[egress]` section of the configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EgressConfig {
    /// What happens when no rule matches.
    pub default: Action,
    /// Refuse loopback, private, link-local, shared (CGNAT) and unspecified addresses.
    pub block_private: bool,
    /// `[[egress.rules]]`, in order; the first that matches decides.
    pub rules: Vec<Rule>,
}

/// One rule. Empty lists match everything.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub action: Action,
    /// A label for logs and error details; default `#<position>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `example.com` (that name), `*.example.com` (names below it), `*` (any), an IP
    /// address or a CIDR block such as `10.0.0.0/8` (matched against the resolved address).
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub ports: Vec<u16>,
    /// `http`, `https`.
    #[serde(default)]
    pub schemes: Vec<String>,
    /// The client uids the rule applies to.
    #[serde(default)]
    pub uids: Vec<u32>,
}

impl EgressConfig {
    /// Checks the patterns; the error starts with the key's name (after `egress.`).
    pub fn check(&self) -> Result<(), String> {
        for (i, rule) in self.rules.iter().enumerate() {
            for h in &rule.hosts {
                HostPattern::parse(h).map_err(|e| format!("rules[{i}].hosts: {e}"))?;
            }
            for s in &rule.schemes {
                if s != "http" && s != "https" {
                    return Err(format!(
                        "rules[{i}].schemes: {s:?} is not \"http\" or \"https\""
                    ));
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.suffix`: names ending in `.suffix`.
    Below(String),
    Net(IpAddr, u8),
}

impl HostPattern {
    fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().trim_end_matches('.').to_ascii_lowercase();
        if t == "*" {
            return Ok(HostPattern::Any);
        }
        if let Some(suffix) = t.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains('*') {
                return Err(format!("{text:?} is not a host pattern"));
            }
            return Ok(HostPattern::Below(suffix.to_owned()));
        }
        let (addr, bits) = match t.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (t.as_str(), None),
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = addr.parse::<IpAddr>() {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("{text:?}: bad prefix length"))?,
            };
            return Ok(HostPattern::Net(ip, bits));
        }
        if bits.is_some() || t.is_empty() || t.contains(['*', ' ', '/', ':']) {
            return Err(format!("{text:?} is not a host pattern"));
        }
        Ok(HostPattern::Exact(t))
    }

    /// Whether the pattern matches the destination: its name, or its address.
    fn matches(&self, host: &str, addr: IpAddr) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(n) => host == n,
            HostPattern::Below(s) => host
                .strip_suffix(s.as_str())
                .is_some_and(|rest| rest.ends_with('.')),
            HostPattern::Net(net, bits) => in_net(canonical(addr), canonical(*net), *bits),
        }
    }
}

fn in_net(addr: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - bits as u32).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - bits as u32).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) reach IPv4 hosts: judge them as such.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Why an address counts as private, if it does.
fn private_kind(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => private_v6(v6),
    }
}

fn private_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space")
    } else if ip.is_broadcast() || ip.is_multicast() {
        Some("broadcast or multicast")
    } else {
        None
    }
}

fn private_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique local")
    } else if first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if let Some(v4) = ip.to_ipv4() {
        // IPv4-compatible embeddings (::a.b.c.d) still reach an IPv4 host.
        private_v4(v4)
    } else {
        None
    }
}

/// The compiled policy, shared by every connection.
#[derive(Debug, Default)]
pub struct Policy {
    default: Action,
    block_private: bool,
    rules: Vec<Compiled>,
}

#[derive(Debug)]
struct Compiled {
    action: Action,
    label: String,
    hosts: Vec<HostPattern>,
    ports: Vec<u16>,
    schemes: Vec<String>,
    uids: Vec<u32>,
}

/// What a request is about to connect to.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub uid: u32,
    pub secure: bool,
    pub host: &'a str,
    pub port: u16,
}

impl Policy {
    /// True when the policy lets everything through (the default).
    pub fn is_permissive(&self) -> bool {
        self.default == Action::Allow && !self.block_private && self.rules.is_empty()
    }

    /// Compiles a configuration that passed [`EgressConfig::check`].
    pub fn new(cfg: &EgressConfig) -> Result<Self, String> {
        cfg.check()?;
        let rules = cfg
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(Compiled {
                    action: r.action,
                    label: r.name.clone().unwrap_or_else(|| format!("#{}", i + 1)),
                    hosts: r
                        .hosts
                        .iter()
                        .map(|h| HostPattern::parse(h))
                        .collect::<Result<_, _>>()?,
                    ports: r.ports.clone(),
                    schemes: r.schemes.clone(),
                    uids: r.uids.clone(),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Policy {
            default: cfg.default,
            block_private: cfg.block_private,
            rules,
        })
    }

    /// Whether `dest` may be reached at every one of `addrs` (the engine tries them in
    /// turn, so each must pass). The error is the detail for ERROR_ACCESS_DENIED.
    pub fn check(&self, dest: Destination<'_>, addrs: &[SocketAddr]) -> Result<(), String> {
        let host = dest.host.trim_end_matches('.').to_ascii_lowercase();
        let scheme = if dest.secure { "https" } else { "http" };
        for addr in addrs {
            let ip = addr.ip();
            if self.block_private
                && let Some(kind) = private_kind(ip)
            {
                return Err(format!(
                    "egress policy: {} resolves to {ip}, a {kind} address, and egress.block_private is set",
                    dest.host
                ));
            }
            let rule = self.rules.iter().find(|r| {
                (r.uids.is_empty() || r.uids.contains(&dest.uid))
                    && (r.ports.is_empty() || r.ports.contains(&dest.port))
                    && (r.schemes.is_empty() || r.schemes.iter().any(|s| s == scheme))
                    && (r.hosts.is_empty() || r.hosts.iter().any(|h| h.matches(&host, ip)))
            });
            match rule {
                Some(r) if r.action == Action::Deny => {
                    return Err(format!(
                        "egress policy: rule {} denies {scheme}://{}:{} ({ip})",
                        r.label, dest.host, dest.port
                    ));
                }
                Some(_) => {}
                None if self.default == Action::Deny => {
                    return Err(format!(
                        "egress policy: no rule allows {scheme}://{}:{} ({ip}) and egress.default is deny",
                        dest.host, dest.port
                    ));
                }
                None => {}
            }
        }
        Ok(())
    }
}

/// The engine's hook: checks a connection about to be made for `account`'s client, and
/// logs a refusal.
pub fn admit(
    account: &crate::quota::Account,
    target: &crate::engine::Target,
    addrs: &[SocketAddr],
) -> crate::error::ApiResult<()> {
    let dest = Destination {
        uid: account.peer.uid,
        secure: target.secure,
        host: &target.host,
        port: target.port,
    };
    account.policy.check(dest, addrs).map_err(|detail| {
        tracing::warn!(
            client = account.client.0,
            uid = account.peer.uid,
            pid = account.peer.pid,
            %detail,
            "egress denied"
        );
        crate::error::ApiError::AccessDenied(detail)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(toml_text: &str) -> Policy {
        let cfg: EgressConfig = toml::from_str(toml_text).unwrap();
        Policy::new(&cfg).unwrap()
    }

    fn dest(host: &str, port: u16) -> Destination<'_> {
        Destination {
            uid: 1000,
            secure: false,
            host,
            port,
        }
    }

    fn at(ip: &str) -> Vec<SocketAddr> {
        vec![SocketAddr::new(ip.parse().unwrap(), 80)]
    }

    #[test]
    fn default_allows_everything() {
        let p = Policy::default();
        assert!(p.check(dest("localhost", 80), &at("127.0.0.1")).is_ok());
    }

    #[test]
    fn first_matching_rule_decides() {
        let p = policy(
            r#"default = "deny"
            [[rules]]
            action = "deny"
            name = "no-admin"
            hosts = ["admin.example.com"]
            [[rules]]
            action = "allow"
            hosts = ["*.example.com", "10.1.0.0/16"]
            ports = [80, 443]
            "#,
        );
        let e = p
            .check(dest("admin.example.com", 80), &at("8.8.8.8"))
            .unwrap_err();
        assert!(e.contains("no-admin"), "{e}");
        assert!(p.check(dest("www.example.com", 80), &at("8.8.8.8")).is_ok());
        assert!(
            p.check(dest("WWW.Example.com.", 80), &at("8.8.8.8"))
                .is_ok()
        );
        // `*.example.com` is below the name, not the name itself.
        let e = p
            .check(dest("example.com", 80), &at("8.8.8.8"))
            .unwrap_err();
        assert!(e.contains("egress.default"), "{e}");
        assert!(
            p.check(dest("www.example.com", 8080), &at("8.8.8.8"))
                .is_err()
        );
        assert!(p.check(dest("anything", 443), &at("10.1.2.3")).is_ok());
        assert!(p.check(dest("anything", 443), &at("10.2.2.3")).is_err());
    }

    #[test]
    fn rules_can_be_per_uid_and_scheme() {
        let p = policy(
            r#"[[rules]]
            action = "deny"
            uids = [1000]
            schemes = ["http"]
            "#,
        );
        assert!(p.check(dest("a", 80), &at("8.8.8.8")).is_err());
        let mut d = dest("a", 443);
        d.secure = true;
        assert!(p.check(d, &at("8.8.8.8")).is_ok());
        d.secure = false;
        d.uid = 1001;
        assert!(p.check(d, &at("8.8.8.8")).is_ok());
    }

    #[test]
    fn private_ranges_are_blocked_on_addresses() {
        let p = policy("block_private = true");
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            let e = p.check(dest("x", 80), &at(ip)).unwrap_err();
            assert!(e.contains("block_private"), "{ip}: {e}");
        }
        assert!(p.check(dest("x", 80), &at("93.184.216.34")).is_ok());
        assert!(p.check(dest("x", 80), &at("2606:4700::1")).is_ok());
        // Every address must pass, not just the first.
        let mut both = at("93.184.216.34");
        both.extend(at("127.0.0.1"));
        assert!(p.check(dest("x", 80), &both).is_err());
    }

    #[test]
    fn bad_patterns_are_named() {
        for bad in ["a*b", "*.*.x", "10.0.0.0/33", "x/8", "", "a b"] {
            let cfg = EgressConfig {
                rules: vec![Rule {
                    action: Action::Deny,
                    name: None,
                    hosts: vec![bad.into()],
                    ports: vec![],
                    schemes: vec![],
                    uids: vec![],
                }],
                ..Default::default()
            };
            let e = cfg.check().unwrap_err();
            assert!(e.starts_with("rules[0].hosts"), "{bad}: {e}");
        }
    }
}
