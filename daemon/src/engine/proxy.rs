//! Which proxy, if any, carries a request: WinHTTP's proxy settings (access type, proxy
//! list, bypass list), the environment's `http_proxy`/`https_proxy`/`no_proxy` for
//! DEFAULT_PROXY, and the choice for one target.
//!
//! Proxy list (WinHTTP syntax): entries separated by `;` or white space, each
//! `[scheme=][proto://][user:password@]host[:port]`. `scheme=` is `http` or `https` (the
//! kind of request the entry serves; other schemes such as `ftp=` are ignored, as WinHTTP
//! does); an entry without it serves both. `proto://` is `http` (the default) or, beyond
//! WinHTTP, `socks5` (the proxy resolves nothing: hinetd sends it an address) or `socks5h`
//! (the proxy resolves the host name). Default ports: 80 for HTTP proxies, 1080 for SOCKS.
//!
//! Bypass list (WinHTTP syntax): entries separated by `;`, `,` or white space: `<local>`
//! (any host name without a dot), or a host pattern with `*` wildcards and an optional
//! `:port`, e.g. `*.example.com`, `10.0.0.*`, `intranet:8080`.

use super::Target;
use crate::error::{ApiError, ApiResult};
use base64::Engine as _;
use hinet_protocol::consts::access_type;
use std::net::IpAddr;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    /// An HTTP proxy: absolute-form requests for http, CONNECT tunnels for https.
    Http,
    /// SOCKS5 with the target's address resolved here.
    Socks5,
    /// SOCKS5 with the target's host name resolved by the proxy.
    Socks5h,
}

/// One proxy server.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyServer {
    pub kind: ProxyKind,
    /// Host name or IP literal, without brackets.
    pub host: String,
    pub port: u16,
    /// From `user:password@` in the proxy's URL: Basic credentials for an HTTP proxy,
    /// username/password authentication (RFC 1929) for SOCKS5.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for ProxyServer {
    // Credentials stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for ProxyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        };
        let host = bracketed(&self.host);
        write!(f, "{scheme}://{host}:{}", self.port)
    }
}

impl ProxyServer {
    /// `Proxy-Authorization` for the credentials of the proxy's URL (HTTP proxies only).
    pub fn basic_authorization(&self) -> Option<String> {
        let (user, password) = self.credentials.as_ref()?;
        (self.kind == ProxyKind::Http).then(|| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        })
    }
}

/// A proxy setting as WinHttpOpen or WINHTTP_OPTION_PROXY gives it.
#[derive(Debug, Clone)]
pub enum ProxySetting {
    /// NO_PROXY.
    Direct,
    /// NAMED_PROXY, with the texts as given (they are reported back by queries).
    Named {
        list: String,
        bypass: Option<String>,
        rules: Box<Rules>,
    },
    /// DEFAULT_PROXY: the daemon's own settings (see [`system_default`]).
    Default,
}

impl ProxySetting {
    /// Checks and parses WinHTTP's access type with its proxy and bypass lists.
    /// AUTOMATIC_PROXY → 50; bad syntax, an empty named list, an unknown type → 87.
    pub fn from_winhttp(
        access: u32,
        list: Option<&str>,
        bypass: Option<&str>,
    ) -> ApiResult<ProxySetting> {
        match access {
            access_type::NO_PROXY => Ok(ProxySetting::Direct),
            access_type::DEFAULT_PROXY => {
                // Invalid environment settings fail here, where the application asks for
                // them, rather than at the first request.
                if let Err(e) = system_default() {
                    return Err(ApiError::invalid_parameter(e.clone()));
                }
                Ok(ProxySetting::Default)
            }
            access_type::NAMED_PROXY => {
                let list = list
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .ok_or_else(|| ApiError::invalid_parameter("NAMED_PROXY needs a proxy name"))?;
                let (http, https) = parse_list(list).map_err(ApiError::invalid_parameter)?;
                let rules = Box::new(Rules {
                    http,
                    https,
                    bypass: bypass.map(parse_bypass).unwrap_or_default(),
                });
                Ok(ProxySetting::Named {
                    list: list.to_owned(),
                    bypass: bypass.map(str::to_owned),
                    rules,
                })
            }
            access_type::AUTOMATIC_PROXY => Err(ApiError::NotSupported(
                "AUTOMATIC_PROXY: PAC/WPAD not supported; use NAMED_PROXY or DEFAULT_PROXY".into(),
            )),
            other => Err(ApiError::invalid_parameter(format!(
                "unknown access type {other}"
            ))),
        }
    }

    /// The access type, proxy list and bypass list, as WINHTTP_OPTION_PROXY reports them.
    pub fn describe(&self) -> (u32, Option<String>, Option<String>) {
        match self {
            ProxySetting::Direct => (access_type::NO_PROXY, None, None),
            ProxySetting::Default => (access_type::DEFAULT_PROXY, None, None),
            ProxySetting::Named { list, bypass, .. } => {
                (access_type::NAMED_PROXY, Some(list.clone()), bypass.clone())
            }
        }
    }

    /// The proxy that carries a request to `target`, or None to go direct.
    pub fn route(&self, target: &Target) -> ApiResult<Option<ProxyServer>> {
        match self {
            ProxySetting::Direct => Ok(None),
            ProxySetting::Named { rules, .. } => Ok(rules.route(target)),
            ProxySetting::Default => match system_default() {
                Ok(rules) => Ok(rules.route(target)),
                Err(e) => Err(ApiError::invalid_parameter(e.clone())),
            },
        }
    }
}

/// Proxies per kind of request, and the hosts that go direct.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub http: Option<ProxyServer>,
    pub https: Option<ProxyServer>,
    pub bypass: Bypass,
}

impl Rules {
    fn route(&self, target: &Target) -> Option<ProxyServer> {
        let proxy = if target.secure {
            self.https.as_ref()
        } else {
            self.http.as_ref()
        }?;
        (!self.bypass.matches(target)).then(|| proxy.clone())
    }
}

/// The proxy settings DEFAULT_PROXY stands for: the daemon's environment, read once.
///
/// This is the one place the daemon's default proxy comes from; proxy settings in the
/// daemon's configuration file belong here too, taking precedence over the environment.
pub fn system_default() -> &'static Result<Rules, String> {
    static DEFAULT: OnceLock<Result<Rules, String>> = OnceLock::new();
    DEFAULT.get_or_init(|| from_environment(|name| std::env::var(name).ok()))
}

/// Rules from `http_proxy`, `https_proxy`, `all_proxy` and `no_proxy` (lower case first,
/// then upper case, as curl reads them; empty values count as unset).
fn from_environment(var: impl Fn(&str) -> Option<String>) -> Result<Rules, String> {
    let get = |name: &'static str| {
        var(name)
            .or_else(|| var(&name.to_ascii_uppercase()))
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name, v))
    };
    let server = |entry: Option<(&str, String)>| -> Result<Option<ProxyServer>, String> {
        entry
            .map(|(name, v)| parse_server(v.trim()).map_err(|e| format!("{name}={v:?}: {e}")))
            .transpose()
    };
    let all = server(get("all_proxy"))?;
    let http = server(get("http_proxy"))?.or_else(|| all.clone());
    let https = server(get("https_proxy"))?.or(all);
    let bypass = get("no_proxy")
        .map(|(_, v)| parse_no_proxy(&v))
        .unwrap_or_default();
    Ok(Rules {
        http,
        https,
        bypass,
    })
}

/// A WinHTTP proxy list → the proxies for http and for https requests.
fn parse_list(text: &str) -> Result<(Option<ProxyServer>, Option<ProxyServer>), String> {
    let (mut http, mut https, mut both) = (None, None, None);
    for entry in text
        .split([';', ' ', '\t', '\r', '\n'])
        .filter(|e| !e.is_empty())
    {
        let (scheme, server) = match entry.split_once('=') {
            Some((s, rest)) => (Some(s.to_ascii_lowercase()), rest),
            None => (None, entry),
        };
        let slot = match scheme.as_deref() {
            None => &mut both,
            Some("http") => &mut http,
            Some("https") => &mut https,
            // WinHTTP serves http and https only; entries for other schemes are skipped.
            Some(_) => continue,
        };
        let parsed = parse_server(server).map_err(|e| format!("proxy entry {entry:?}: {e}"))?;
        // The first entry for a scheme wins.
        slot.get_or_insert(parsed);
    }
    let (http, https) = (http.or_else(|| both.clone()), https.or(both));
    if http.is_none() && https.is_none() {
        return Err(format!("proxy list {text:?} names no http or https proxy"));
    }
    Ok((http, https))
}

/// `[proto://][user:password@]host[:port][/]`.
fn parse_server(text: &str) -> Result<ProxyServer, String> {
    let (kind, rest) = match text.split_once("://") {
        None => (ProxyKind::Http, text),
        Some((proto, rest)) => match proto.to_ascii_lowercase().as_str() {
            "http" => (ProxyKind::Http, rest),
            "socks5" | "socks" => (ProxyKind::Socks5, rest),
            "socks5h" => (ProxyKind::Socks5h, rest),
            "https" => return Err("TLS connections to a proxy are not supported".into()),
            other => return Err(format!("proxy protocol {other:?} is not supported")),
        },
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (credentials, hostport) = match rest.rsplit_once('@') {
        None => (None, rest),
        Some((userinfo, hostport)) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            (
                Some((percent_decode(user)?, percent_decode(password)?)),
                hostport,
            )
        }
    };
    let default_port = match kind {
        ProxyKind::Http => 80,
        ProxyKind::Socks5 | ProxyKind::Socks5h => 1080,
    };
    let (host, port) = split_host_port(hostport)?;
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return Err(format!("{hostport:?} is not a host name"));
    }
    Ok(ProxyServer {
        kind,
        host: host.to_owned(),
        port: port.unwrap_or(default_port),
        credentials,
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` (a bare IPv6 literal has no port).
fn split_host_port(text: &str) -> Result<(&str, Option<u16>), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{p:?} is not a port"))
    };
    if let Some(inner) = text.strip_prefix('[') {
        let (host, rest) = inner
            .split_once(']')
            .ok_or_else(|| format!("{text:?} lacks a closing bracket"))?;
        return match rest.strip_prefix(':') {
            Some(p) => Ok((host, Some(port(p)?))),
            None if rest.is_empty() => Ok((host, None)),
            None => Err(format!("{text:?} is not host:port")),
        };
    }
    match text.split_once(':') {
        Some((host, p)) if !p.contains(':') => Ok((host, Some(port(p)?))),
        // Several colons: an IPv6 literal without brackets.
        Some(_) if text.parse::<IpAddr>().is_ok() => Ok((text, None)),
        Some(_) => Err(format!("{text:?} is not host:port")),
        None => Ok((text, None)),
    }
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape in {text:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8 once decoded"))
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Hosts that are reached directly although a proxy is set.
#[derive(Debug, Clone, Default)]
pub struct Bypass {
    rules: Vec<BypassRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BypassRule {
    /// Every host (`no_proxy=*`).
    All,
    /// WinHTTP's `<local>`: host names without a dot.
    Local,
    /// A WinHTTP pattern: `*` matches any run of characters; lower case.
    Glob { pattern: String, port: Option<u16> },
    /// A `no_proxy` domain: the name itself and every name below it; lower case.
    Domain { domain: String, port: Option<u16> },
    /// A `no_proxy` address block.
    Net { addr: IpAddr, prefix: u8 },
}

impl Bypass {
    pub fn matches(&self, target: &Target) -> bool {
        let host = target.host.to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        let port_ok = |p: &Option<u16>| p.is_none_or(|p| p == target.port);
        self.rules.iter().any(|rule| match rule {
            BypassRule::All => true,
            BypassRule::Local => ip.is_none() && !host.contains('.'),
            BypassRule::Glob { pattern, port } => port_ok(port) && glob(pattern, &host),
            BypassRule::Domain { domain, port } => {
                port_ok(port)
                    && (host == *domain
                        || host
                            .strip_suffix(domain.as_str())
                            .is_some_and(|rest| rest.ends_with('.')))
            }
            BypassRule::Net { addr, prefix } => ip.is_some_and(|ip| in_net(ip, *addr, *prefix)),
        })
    }
}

/// A WinHTTP bypass list. Entries that cannot mean anything are skipped, as WinHTTP does.
fn parse_bypass(text: &str) -> Bypass {
    let mut rules = Vec::new();
    for entry in text
        .split([';', ',', ' ', '\t', '\r', '\n'])
        .filter(|e| !e.is_empty())
    {
        if entry.eq_ignore_ascii_case("<local>") {
            rules.push(BypassRule::Local);
            continue;
        }
        let entry = entry.split_once("://").map_or(entry, |(_, rest)| rest);
        let (host, port) = match split_host_port(entry) {
            Ok(hp) => hp,
            Err(_) => (entry, None),
        };
        rules.push(BypassRule::Glob {
            pattern: host.to_ascii_lowercase(),
            port,
        });
    }
    Bypass { rules }
}

/// A `no_proxy` list, as curl reads it: comma (or space) separated; `*` alone bypasses
/// everything; `example.com` and `.example.com` both cover the domain and its subdomains;
/// IP addresses and CIDR blocks match addresses; `host:port` limits an entry to a port.
fn parse_no_proxy(text: &str) -> Bypass {
    let mut rules = Vec::new();
    for entry in text.split([',', ' ', '\t']).filter(|e| !e.is_empty()) {
        if entry == "*" {
            rules.push(BypassRule::All);
            continue;
        }
        if let Some((net, bits)) = entry.split_once('/')
            && let (Ok(addr), Ok(prefix)) = (net.parse::<IpAddr>(), bits.parse::<u8>())
        {
            rules.push(BypassRule::Net { addr, prefix });
            continue;
        }
        let (host, port) = split_host_port(entry).unwrap_or((entry, None));
        let host = host.trim_start_matches("*.").trim_start_matches('.');
        match host.parse::<IpAddr>() {
            Ok(addr) if port.is_none() => rules.push(BypassRule::Net {
                addr,
                prefix: if addr.is_ipv4() { 32 } else { 128 },
            }),
            _ => rules.push(BypassRule::Domain {
                domain: host.to_ascii_lowercase(),
                port,
            }),
        }
    }
    Bypass { rules }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let prefix = u32::from(prefix.min(width));
    if prefix == 0 {
        return true;
    }
    let shift = width as u32 - prefix;
    (a >> shift) == (b >> shift)
}

/// `*` matches any run of characters (none included); everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(secure: bool, host: &str, port: u16) -> Target {
        Target {
            secure,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn winhttp_lists_pick_per_scheme() {
        let (http, https) = parse_list("http=a:81;https=http://b:82").unwrap();
        assert_eq!(http.unwrap().to_string(), "http://a:81");
        assert_eq!(https.unwrap().to_string(), "http://b:82");
        let (http, https) = parse_list("proxy").unwrap();
        assert_eq!(http.unwrap().to_string(), "http://proxy:80");
        assert_eq!(https.unwrap().port, 80);
        let (http, https) = parse_list("ftp=x:1 http=a:81").unwrap();
        assert!(http.is_some() && https.is_none());
        let (_, https) = parse_list("socks5h://u%40x:p%3A@[::1]:9050").unwrap();
        let s = https.unwrap();
        assert_eq!(s.kind, ProxyKind::Socks5h);
        assert_eq!(s.host, "::1");
        assert_eq!(s.credentials, Some(("u@x".into(), "p:".into())));
        assert!(parse_list("https://a:1").is_err());
        assert!(parse_list("a:0").is_err());
        assert!(parse_list("ftp=a:1").is_err());
    }

    #[test]
    fn bypass_lists_match_like_winhttp() {
        let b = parse_bypass("<local>; *.example.com, 10.0.0.* host:8080");
        assert!(b.matches(&target(false, "intranet", 80)));
        assert!(b.matches(&target(true, "www.Example.com", 443)));
        assert!(!b.matches(&target(true, "example.com", 443)));
        assert!(b.matches(&target(false, "10.0.0.7", 80)));
        assert!(b.matches(&target(false, "host", 8080)));
        assert!(b.matches(&target(false, "host", 80)), "<local> covers it");
        assert!(!b.matches(&target(false, "127.0.0.1", 80)));
        let b = parse_bypass("host.lan:8080");
        assert!(!b.matches(&target(false, "host.lan", 80)));
        assert!(b.matches(&target(false, "host.lan", 8080)));
    }

    #[test]
    fn environment_follows_curl() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let rules = from_environment(env(&[
            ("http_proxy", "http://p:3128"),
            ("HTTPS_PROXY", "socks5://s:1080"),
            ("no_proxy", "localhost,.corp.example,192.168.0.0/16,::1"),
        ]))
        .unwrap();
        assert_eq!(rules.http.as_ref().unwrap().to_string(), "http://p:3128");
        assert_eq!(rules.https.as_ref().unwrap().kind, ProxyKind::Socks5);
        assert!(rules.route(&target(false, "localhost", 80)).is_none());
        assert!(rules.route(&target(false, "a.corp.example", 80)).is_none());
        assert!(rules.route(&target(false, "corp.example", 80)).is_none());
        assert!(rules.route(&target(false, "xcorp.example", 80)).is_some());
        assert!(rules.route(&target(false, "192.168.4.5", 80)).is_none());
        assert!(rules.route(&target(false, "::1", 80)).is_none());
        assert!(rules.route(&target(false, "127.0.0.1", 80)).is_some());
        let all = from_environment(env(&[("all_proxy", "p:1"), ("no_proxy", "*")])).unwrap();
        assert!(all.route(&target(true, "x", 443)).is_none());
        assert!(from_environment(env(&[("http_proxy", "ftp://x")])).is_err());
        let none = from_environment(env(&[("http_proxy", " ")])).unwrap();
        assert!(none.http.is_none());
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("a*c", "abbc"));
        assert!(glob("*.x.com", "a.b.x.com"));
        assert!(!glob("a*c", "ab"));
        assert!(!glob("abc", "abcd"));
        assert!(glob("*a*a", "aa"));
    }
}
