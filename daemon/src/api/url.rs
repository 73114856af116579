//! WinHttpCrackUrl and WinHttpCreateUrl: splitting a URL into `URL_COMPONENTS` and back.
//!
//! # Why a hand-written splitter rather than the `url` crate
//!
//! WinHTTP cracks URLs literally: it hands back the scheme, host, path and query exactly as
//! they were written, without lowercasing the scheme or host, resolving `.`/`..` segments,
//! punycoding, re-encoding or dropping an empty `?`. WHATWG parsing (the `url` crate) does all
//! of those, and it accepts inputs WinHTTP rejects (`http:host`, `http:/host`). So both
//! functions work on the string with a few `find`s, as WinHTTP does; [`crack`] and [`create`]
//! hold the logic as plain synchronous functions.
//!
//! # WinHttpCrackUrl
//!
//! `scheme://[user[:password]@]host[:port][/path][?query][#fragment]`
//!
//! * Scheme: the text before the first `:`; `http` or `https` in any case (returned as
//!   written, `schemeId` 1 or 2). No `:` at all, or another scheme → 12006, as on Windows.
//! * `//` must follow the `:` (`http:host`, `http:/host` → 12005).
//! * The authority runs to the first `/`, `?` or `#`. A `@` inside it (the last one, so a host
//!   never contains `@`) ends the user info, which splits at its first `:` into user name
//!   and password. An `@` after the authority (`/p?mail=a@b`) is not user info.
//! * Host: up to the first `:` of the host-and-port part; an IPv6 literal keeps its brackets
//!   (`[::1]`). An empty host (`http://`, `http://:80/`, `http://u@/`, `http://[]/`) or
//!   unbalanced brackets → 12005. The host is never decoded, escaped or lowercased.
//! * Port: decimal digits only, at most 65535, else 12005. An absent or empty port
//!   (`http://h:/`) is the scheme's default (80/443); an explicit `:0` cracks to 0, as on
//!   Windows.
//! * Path: from the authority's end up to the first `?` or `#`; empty when there is none.
//!   Extra info: from that `?` or `#` to the end (`?q#f`); empty when there is none.
//! * Absent components come back as empty strings (`Some("")`), never `None`, like the empty
//!   strings Windows writes into caller buffers. A user name without `:` has password `""`.
//! * `ICU_REJECT_USERPWD`: any user info (an `@` in the authority, even `http://@h/`) → 12005.
//! * `ICU_DECODE`: `%XX` in user name, password, path and extra info is decoded, and the
//!   decoded bytes must be UTF-8 (else 12005). A `%` not followed by two hex digits is kept
//!   as written, as on Windows. The components are split first and decoded after, so `%2F`
//!   or `%3F` cannot move component boundaries.
//! * `ICU_ESCAPE`: path and extra info get the unsafe characters (see `needs_escape`) written as
//!   `%XX` of their UTF-8 bytes. With both flags, decoding runs first and escaping second,
//!   which normalises a component (safe characters unescaped, unsafe ones escaped).
//! * Other flag bits, or an empty URL → 87.
//! * `componentLengths`: a component whose UTF-16 length plus the terminator exceeds its
//!   buffer → 122 with `required` = length + 1. Windows reports every short buffer at once;
//!   the error carries one size, so it is the first short one in `URL_COMPONENTS` order
//!   (scheme, host name, user name, password, path, extra info). A buffer length of 0 is a
//!   buffer with no length, which Windows rejects with 87. Errors in the URL itself win over
//!   122, as on Windows.
//!
//! # WinHttpCreateUrl
//!
//! Writes `scheme://[user[:password]@]host[:port][path][extraInfo]`.
//!
//! * Scheme: `scheme` when given and non-empty (http/https in any case, written as given;
//!   anything else → 12006), even if `schemeId` disagrees; otherwise `schemeId` 1/2 → `http` /
//!   `https`, and any other `schemeId` → 87.
//! * `hostName` is required (absent or empty → 87). A bare IPv6 address (`::1`) is written in
//!   brackets; any other host is written as given.
//! * User info: written when user name or password is non-empty, the `:password` part only
//!   when the password is non-empty, so the empty strings CrackUrl returns for absent parts
//!   round-trip to no user info. A password without any user name (`None`) → 87, as on
//!   Windows; with an empty user name it is written as `:password@`.
//! * Port: omitted when 0 or the scheme's default.
//! * Path: a `/` is inserted when it is non-empty and does not start with one. Extra info is
//!   appended as given (its leading `?` or `#` is the caller's).
//! * `ICU_ESCAPE` escapes the same unsafe characters as CrackUrl in path and extra info only.
//!   `%` is never escaped, so an already-escaped component is unchanged. Other flag bits → 87.
//! * `length` counts UTF-16 units without the terminator; a `bufferLength` below length + 1
//!   → 122 with `required` = length + 1.

use crate::error::{ApiError, ApiResult};
use hinet_protocol::consts::{icu, port, scheme};
use hinet_protocol::{
    ComponentLengths, CrackUrlParams, CreateUrlParams, CreateUrlResult, UrlComponents,
};
use std::net::Ipv6Addr;

/// `WinHttpCrackUrl`: see the [module documentation](self).
pub async fn crack_url(_ctx: super::Ctx<'_>, p: CrackUrlParams) -> ApiResult<UrlComponents> {
    crack(&p)
}

/// `WinHttpCreateUrl`: see the [module documentation](self).
pub async fn create_url(_ctx: super::Ctx<'_>, p: CreateUrlParams) -> ApiResult<CreateUrlResult> {
    create(&p)
}

/// The flags CrackUrl accepts.
const CRACK_FLAGS: u32 = icu::DECODE | icu::ESCAPE | icu::REJECT_USERPWD;
/// The flags CreateUrl accepts.
const CREATE_FLAGS: u32 = icu::ESCAPE;

/// Splits `p.url` into its components, WinHTTP's way.
pub fn crack(p: &CrackUrlParams) -> ApiResult<UrlComponents> {
    if p.url.is_empty() {
        return Err(ApiError::invalid_parameter("url is empty"));
    }
    if p.flags & !CRACK_FLAGS != 0 {
        return Err(ApiError::invalid_parameter(format!(
            "flags {:#x} are not ICU_DECODE, ICU_ESCAPE or ICU_REJECT_USERPWD",
            p.flags & !CRACK_FLAGS
        )));
    }
    if let Some(lengths) = &p.component_lengths {
        reject_zero_lengths(lengths)?;
    }
    let url = p.url.as_str();

    let Some((scheme_text, after_scheme)) = url.split_once(':') else {
        return Err(ApiError::UnrecognizedScheme(url.to_owned()));
    };
    let scheme_id = scheme_id_of(scheme_text)
        .ok_or_else(|| ApiError::UnrecognizedScheme(scheme_text.into()))?;
    let rest = after_scheme
        .strip_prefix("//")
        .ok_or_else(|| ApiError::InvalidUrl(format!("{url:?} has no \"//\" after the scheme")))?;

    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (user_info, host_port) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    if user_info.is_some() && p.flags & icu::REJECT_USERPWD != 0 {
        return Err(ApiError::InvalidUrl(format!(
            "{url:?} carries a user name or password (ICU_REJECT_USERPWD)"
        )));
    }
    let (user_name, password) = match user_info {
        Some(info) => info.split_once(':').unwrap_or((info, "")),
        None => ("", ""),
    };

    let (host_name, port_text) = split_host_port(host_port)?;
    if host_name.is_empty() {
        return Err(ApiError::InvalidUrl(format!("{url:?} has no host name")));
    }
    let port = match port_text {
        None | Some("") => default_port(scheme_id),
        Some(text) => parse_port(text)?,
    };

    let extra_start = tail.find(['?', '#']).unwrap_or(tail.len());
    let (url_path, extra_info) = tail.split_at(extra_start);

    let transform = |text: &str, what: &str, escape: bool| -> ApiResult<String> {
        let decoded = if p.flags & icu::DECODE != 0 {
            decode(text, what)?
        } else {
            text.to_owned()
        };
        Ok(if escape && p.flags & icu::ESCAPE != 0 {
            escape_unsafe(&decoded)
        } else {
            decoded
        })
    };
    let components = UrlComponents {
        scheme: Some(scheme_text.to_owned()),
        scheme_id,
        host_name: Some(host_name.to_owned()),
        port,
        user_name: Some(transform(user_name, "user name", false)?),
        password: Some(transform(password, "password", false)?),
        url_path: Some(transform(url_path, "path", true)?),
        extra_info: Some(transform(extra_info, "extra info", true)?),
    };

    if let Some(lengths) = &p.component_lengths {
        check_lengths(&components, lengths)?;
    }
    Ok(components)
}

/// Builds a URL from `p.components`, WinHTTP's way.
pub fn create(p: &CreateUrlParams) -> ApiResult<CreateUrlResult> {
    if p.flags & !CREATE_FLAGS != 0 {
        return Err(ApiError::invalid_parameter(format!(
            "flags {:#x} are not ICU_ESCAPE",
            p.flags & !CREATE_FLAGS
        )));
    }
    let c = &p.components;

    let (scheme_text, scheme_id) = match c.scheme.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => (
            text,
            scheme_id_of(text).ok_or_else(|| ApiError::UnrecognizedScheme(text.to_owned()))?,
        ),
        None => match c.scheme_id {
            scheme::HTTP => ("http", scheme::HTTP),
            scheme::HTTPS => ("https", scheme::HTTPS),
            other => {
                return Err(ApiError::invalid_parameter(format!(
                    "no scheme string and schemeId {other} is not 1 (http) or 2 (https)"
                )));
            }
        },
    };
    let host_name = c
        .host_name
        .as_deref()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::invalid_parameter("hostName is required"))?;
    let password = c.password.as_deref().unwrap_or("");
    let user_name = match c.user_name.as_deref() {
        Some(user) => user,
        None if !password.is_empty() => {
            return Err(ApiError::invalid_parameter(
                "a password needs a user name (which may be empty)",
            ));
        }
        None => "",
    };
    let escape = p.flags & icu::ESCAPE != 0;

    let mut url = String::new();
    url.push_str(scheme_text);
    url.push_str("://");
    if !user_name.is_empty() || !password.is_empty() {
        url.push_str(user_name);
        if !password.is_empty() {
            url.push(':');
            url.push_str(password);
        }
        url.push('@');
    }
    if host_name.parse::<Ipv6Addr>().is_ok() {
        url.push('[');
        url.push_str(host_name);
        url.push(']');
    } else {
        url.push_str(host_name);
    }
    if c.port != 0 && c.port != default_port(scheme_id) {
        url.push(':');
        url.push_str(&c.port.to_string());
    }
    let url_path = c.url_path.as_deref().unwrap_or("");
    if !url_path.is_empty() && !url_path.starts_with('/') {
        url.push('/');
    }
    for part in [url_path, c.extra_info.as_deref().unwrap_or("")] {
        if escape {
            url.push_str(&escape_unsafe(part));
        } else {
            url.push_str(part);
        }
    }

    let length = u32::try_from(url.encode_utf16().count())
        .map_err(|_| ApiError::invalid_parameter("the URL would be longer than 4 GiB"))?;
    let required = length.saturating_add(1);
    if let Some(given) = p.buffer_length
        && given < required
    {
        return Err(ApiError::InsufficientBuffer { given, required });
    }
    Ok(CreateUrlResult { url, length })
}

/// `INTERNET_SCHEME_*` of `http` or `https` in any case.
fn scheme_id_of(text: &str) -> Option<u32> {
    if text.eq_ignore_ascii_case("http") {
        Some(scheme::HTTP)
    } else if text.eq_ignore_ascii_case("https") {
        Some(scheme::HTTPS)
    } else {
        None
    }
}

fn default_port(scheme_id: u32) -> u16 {
    if scheme_id == scheme::HTTPS {
        port::HTTPS
    } else {
        port::HTTP
    }
}

/// Splits `host[:port]` or `[v6]:port`; the port text is `None` without a `:`.
fn split_host_port(host_port: &str) -> ApiResult<(&str, Option<&str>)> {
    if host_port.starts_with('[') {
        let bad = || ApiError::InvalidUrl(format!("malformed IPv6 literal {host_port:?}"));
        let close = host_port.find(']').ok_or_else(bad)?;
        let (host, after) = host_port.split_at(close + 1);
        if host.len() == 2 {
            return Err(bad());
        }
        if after.is_empty() {
            return Ok((host, None));
        }
        return after
            .strip_prefix(':')
            .map(|port| (host, Some(port)))
            .ok_or_else(bad);
    }
    Ok(match host_port.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_port, None),
    })
}

/// A decimal port of at most 65535.
fn parse_port(text: &str) -> ApiResult<u16> {
    let bad = || ApiError::InvalidUrl(format!("port {text:?} is not a number from 0 to 65535"));
    let mut value: u32 = 0;
    for b in text.bytes() {
        if !b.is_ascii_digit() {
            return Err(bad());
        }
        value = value * 10 + u32::from(b - b'0');
        if value > u32::from(u16::MAX) {
            return Err(bad());
        }
    }
    u16::try_from(value).map_err(|_| bad())
}

/// Decodes `%XX` sequences; a `%` without two hex digits stays. The bytes must be UTF-8.
fn decode(text: &str, what: &str) -> ApiResult<String> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some(&[b'%', hi, lo]) => hex_value(hi).zip(hex_value(lo)),
            _ => None,
        };
        match escaped {
            Some((hi, lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::InvalidUrl(format!("the {what} {text:?} does not decode to UTF-8")))
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The bytes ICU_ESCAPE writes as `%XX`: controls, space, DEL, every non-ASCII byte, and the
/// printable characters RFC 3986 never allows in a URL: `"` `<` `>` `\` `^` `{` `|` `}` and
/// the backtick. `%`, `#`, `[`, `]` and `~` are left alone: escaping them would double-escape
/// or move component boundaries.
fn needs_escape(b: u8) -> bool {
    b <= b' '
        || b >= 0x7F
        || matches!(
            b,
            b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
        )
}

/// Writes the unsafe bytes (see `needs_escape`) of `text`'s UTF-8 as `%XX`.
fn escape_unsafe(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if needs_escape(b) {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// The components in `URL_COMPONENTS` order, with their buffer lengths.
fn with_lengths<'a>(
    c: &'a UrlComponents,
    l: &ComponentLengths,
) -> [(&'static str, Option<&'a str>, Option<u32>); 6] {
    [
        ("scheme", c.scheme.as_deref(), l.scheme),
        ("hostName", c.host_name.as_deref(), l.host_name),
        ("userName", c.user_name.as_deref(), l.user_name),
        ("password", c.password.as_deref(), l.password),
        ("urlPath", c.url_path.as_deref(), l.url_path),
        ("extraInfo", c.extra_info.as_deref(), l.extra_info),
    ]
}

/// A buffer of length 0 is WinHTTP's "buffer without a length": 87.
fn reject_zero_lengths(l: &ComponentLengths) -> ApiResult<()> {
    let empty = UrlComponents::default();
    match with_lengths(&empty, l)
        .into_iter()
        .find(|(_, _, len)| *len == Some(0))
    {
        Some((name, _, _)) => Err(ApiError::invalid_parameter(format!(
            "componentLengths.{name} is 0"
        ))),
        None => Ok(()),
    }
}

/// 122 for the first component that does not fit its buffer with its terminator.
fn check_lengths(c: &UrlComponents, l: &ComponentLengths) -> ApiResult<()> {
    for (_, value, buffer) in with_lengths(c, l) {
        let (Some(value), Some(given)) = (value, buffer) else {
            continue;
        };
        let required = u32::try_from(value.encode_utf16().count())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        if required > given {
            return Err(ApiError::InsufficientBuffer { given, required });
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "url_props.rs"]
mod url_props;

#[cfg(test)]
mod tests {
    use super::*;

    fn crack_with(url: &str, flags: u32) -> ApiResult<UrlComponents> {
        crack(&CrackUrlParams {
            url: url.to_owned(),
            flags,
            component_lengths: None,
        })
    }

    fn cracked(url: &str) -> UrlComponents {
        match crack_with(url, 0) {
            Ok(c) => c,
            Err(e) => panic!("crack {url:?} failed: {e}"),
        }
    }

    fn crack_err(url: &str, flags: u32) -> u32 {
        match crack_with(url, flags) {
            Ok(c) => panic!("crack {url:?} succeeded: {c:?}"),
            Err(e) => e.code(),
        }
    }

    fn comps(
        scheme: &str,
        scheme_id: u32,
        host: &str,
        port: u16,
        [user, password, path, extra]: [&str; 4],
    ) -> UrlComponents {
        UrlComponents {
            scheme: Some(scheme.into()),
            scheme_id,
            host_name: Some(host.into()),
            port,
            user_name: Some(user.into()),
            password: Some(password.into()),
            url_path: Some(path.into()),
            extra_info: Some(extra.into()),
        }
    }

    fn create_with(
        c: UrlComponents,
        flags: u32,
        buffer_length: Option<u32>,
    ) -> ApiResult<CreateUrlResult> {
        create(&CreateUrlParams {
            components: c,
            flags,
            buffer_length,
        })
    }

    fn created(c: UrlComponents) -> String {
        match create_with(c.clone(), 0, None) {
            Ok(r) => {
                assert_eq!(r.length as usize, r.url.encode_utf16().count());
                r.url
            }
            Err(e) => panic!("create {c:?} failed: {e}"),
        }
    }

    fn create_err(c: UrlComponents, flags: u32) -> u32 {
        match create_with(c.clone(), flags, None) {
            Ok(r) => panic!("create {c:?} succeeded: {r:?}"),
            Err(e) => e.code(),
        }
    }

    fn host_only(host: &str) -> UrlComponents {
        UrlComponents {
            scheme_id: scheme::HTTP,
            host_name: Some(host.into()),
            ..Default::default()
        }
    }

    // ---- CrackUrl: splitting ----

    #[test]
    fn crack_full_url() {
        assert_eq!(
            cracked("http://username:password@www.winehq.org/site/about?query"),
            comps(
                "http",
                scheme::HTTP,
                "www.winehq.org",
                80,
                ["username", "password", "/site/about", "?query"]
            )
        );
    }

    #[test]
    fn crack_absent_components_are_empty_strings() {
        assert_eq!(
            cracked("http://www.winehq.org"),
            comps("http", scheme::HTTP, "www.winehq.org", 80, ["", "", "", ""])
        );
    }

    #[test]
    fn crack_default_and_explicit_ports() {
        assert_eq!(cracked("http://h/").port, 80);
        assert_eq!(cracked("https://h/").port, 443);
        assert_eq!(cracked("https://h").port, 443);
        assert_eq!(cracked("http://h:42/").port, 42);
        assert_eq!(cracked("http://h:443/").port, 443);
        assert_eq!(cracked("https://h:80").port, 80);
        assert_eq!(cracked("http://h:65535/").port, 65535);
        assert_eq!(cracked("http://h:0080/").port, 80);
        // Explicit 0 is kept; an empty port is the default (Windows).
        assert_eq!(cracked("http://h:0").port, 0);
        assert_eq!(cracked("http://h:").port, 80);
        assert_eq!(cracked("https://h:/").port, 443);
        assert_eq!(cracked("http://h:8080?q").port, 8080);
    }

    #[test]
    fn crack_scheme_is_case_insensitive_and_kept_as_written() {
        let c = cracked("HTTPS://WWW.Example.COM/Some/Path?Q=A");
        assert_eq!(c.scheme.as_deref(), Some("HTTPS"));
        assert_eq!(c.scheme_id, scheme::HTTPS);
        assert_eq!(c.host_name.as_deref(), Some("WWW.Example.COM"));
        assert_eq!(c.port, 443);
        assert_eq!(c.url_path.as_deref(), Some("/Some/Path"));
        assert_eq!(c.extra_info.as_deref(), Some("?Q=A"));
        assert_eq!(cracked("hTtP://h/").scheme_id, scheme::HTTP);
    }

    #[test]
    fn crack_path_is_not_normalised() {
        let c = cracked("http://h/a/./b/../c//d;p=1");
        assert_eq!(c.url_path.as_deref(), Some("/a/./b/../c//d;p=1"));
        assert_eq!(
            cracked("http://winehq/post;a").url_path.as_deref(),
            Some("/post;a")
        );
        assert_eq!(
            cracked("http://h/a%2Fb").url_path.as_deref(),
            Some("/a%2Fb")
        );
    }

    #[test]
    fn crack_extra_info_starts_at_question_or_hash() {
        let c = cracked("http://h/p?q=1#frag");
        assert_eq!(c.url_path.as_deref(), Some("/p"));
        assert_eq!(c.extra_info.as_deref(), Some("?q=1#frag"));
        let c = cracked("http://h/p#frag?notquery");
        assert_eq!(c.url_path.as_deref(), Some("/p"));
        assert_eq!(c.extra_info.as_deref(), Some("#frag?notquery"));
        let c = cracked("https://www.winehq.org/post?");
        assert_eq!(c.url_path.as_deref(), Some("/post"));
        assert_eq!(c.extra_info.as_deref(), Some("?"));
        // A query straight after the host: the path is empty.
        let c = cracked("http://h?q=/x");
        assert_eq!(c.host_name.as_deref(), Some("h"));
        assert_eq!(c.url_path.as_deref(), Some(""));
        assert_eq!(c.extra_info.as_deref(), Some("?q=/x"));
        let c = cracked("http://h:81#f");
        assert_eq!((c.port, c.extra_info.as_deref()), (81, Some("#f")));
        // The path keeps everything up to the first ? or #, including later slashes.
        let c = cracked("http://h/a?b/c");
        assert_eq!(c.url_path.as_deref(), Some("/a"));
        assert_eq!(c.extra_info.as_deref(), Some("?b/c"));
    }

    #[test]
    fn crack_user_info() {
        let c = cracked("http://user@h/");
        assert_eq!(c.user_name.as_deref(), Some("user"));
        assert_eq!(c.password.as_deref(), Some(""));
        let c = cracked("http://user:@h/");
        assert_eq!(c.user_name.as_deref(), Some("user"));
        assert_eq!(c.password.as_deref(), Some(""));
        let c = cracked("http://:@www.winehq.org/site/about?query");
        assert_eq!(c.user_name.as_deref(), Some(""));
        assert_eq!(c.password.as_deref(), Some(""));
        assert_eq!(c.host_name.as_deref(), Some("www.winehq.org"));
        let c = cracked("http://:pw@h");
        assert_eq!(c.user_name.as_deref(), Some(""));
        assert_eq!(c.password.as_deref(), Some("pw"));
        // The password keeps further colons; the last @ ends the user info.
        let c = cracked("http://u:p:q@x@h:8080/");
        assert_eq!(c.user_name.as_deref(), Some("u"));
        assert_eq!(c.password.as_deref(), Some("p:q@x"));
        assert_eq!(c.host_name.as_deref(), Some("h"));
        assert_eq!(c.port, 8080);
    }

    #[test]
    fn crack_at_sign_after_authority_is_not_user_info() {
        let c = cracked("http://example.net/path?var1=example@example.com&var2=x");
        assert_eq!(c.user_name.as_deref(), Some(""));
        assert_eq!(c.host_name.as_deref(), Some("example.net"));
        assert_eq!(c.url_path.as_deref(), Some("/path"));
        assert_eq!(
            c.extra_info.as_deref(),
            Some("?var1=example@example.com&var2=x")
        );
        let c = cracked("http://h/a@b");
        assert_eq!(c.host_name.as_deref(), Some("h"));
        assert_eq!(c.url_path.as_deref(), Some("/a@b"));
        let c = cracked("http://h#a@b");
        assert_eq!(c.host_name.as_deref(), Some("h"));
        // A colon in the query is not a port.
        let c = cracked("https://tools.google.com/service/update2?w=3:BxDHoWy8ezM");
        assert_eq!(c.port, 443);
        assert_eq!(c.extra_info.as_deref(), Some("?w=3:BxDHoWy8ezM"));
    }

    #[test]
    fn crack_ipv6_literals_keep_brackets() {
        let c = cracked("http://[::1]:8080/x?y");
        assert_eq!(c.host_name.as_deref(), Some("[::1]"));
        assert_eq!(c.port, 8080);
        assert_eq!(c.url_path.as_deref(), Some("/x"));
        assert_eq!(c.extra_info.as_deref(), Some("?y"));
        let c = cracked("https://[2001:db8::1]/");
        assert_eq!(c.host_name.as_deref(), Some("[2001:db8::1]"));
        assert_eq!(c.port, 443);
        let c = cracked("http://u:p@[fe80::1%25eth0]:");
        assert_eq!(c.host_name.as_deref(), Some("[fe80::1%25eth0]"));
        assert_eq!(c.user_name.as_deref(), Some("u"));
        assert_eq!(c.port, 80);
        assert_eq!(crack_err("http://[::1/", 0), 12005);
        assert_eq!(crack_err("http://[::1]x/", 0), 12005);
        assert_eq!(crack_err("http://[::1]:x/", 0), 12005);
        assert_eq!(crack_err("http://[]/", 0), 12005);
        assert_eq!(crack_err("http://[]:80/", 0), 12005);
        assert_eq!(crack_err("http://[::1]:65536/", 0), 12005);
    }

    // ---- CrackUrl: errors ----

    #[test]
    fn crack_unrecognized_scheme_12006() {
        assert_eq!(crack_err("ftp://x", 0), 12006);
        assert_eq!(
            crack_err("ftp://user:pw@www.winehq.org:80/site?q", 0),
            12006
        );
        assert_eq!(crack_err("ftp:x", 0), 12006);
        assert_eq!(crack_err("file:///etc/passwd", 0), 12006);
        assert_eq!(crack_err("httpx://h/", 0), 12006);
        assert_eq!(crack_err(" http://h/", 0), 12006);
        // No colon at all: no scheme (Windows says 12006 too).
        assert_eq!(crack_err("www.winehq.org", 0), 12006);
        assert_eq!(crack_err("http", 0), 12006);
        assert_eq!(crack_err("/relative/path", 0), 12006);
        let err = crack_with("gopher://h", 0).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("scheme \"gopher\" is not http or https")
        );
    }

    #[test]
    fn crack_invalid_url_12005() {
        for url in [
            "HTTP:www.winehq.org",
            "http:/www.winehq.org",
            "http:",
            "http://",
            "https://",
            "http://:80/",
            "http://:",
            "http:///path",
            "http://?q",
            "http://#f",
            "http://user@/",
            "http://user:pw@",
            "http://@",
            "http://winehq.org:65536",
            "http://h:99999999999999999999/",
            "http://h:8o/",
            "http://h:-1/",
            "http://h:+80/",
            "http://h: 80/",
            "http://h:80:81/",
            "http://h:0x50/",
        ] {
            assert_eq!(crack_err(url, 0), 12005, "{url}");
        }
    }

    #[test]
    fn crack_empty_url_and_bad_flags_87() {
        assert_eq!(crack_err("", 0), 87);
        assert_eq!(crack_err("http://h/", 0x1), 87);
        assert_eq!(crack_err("http://h/", 0x2000_0000), 87); // ICU_NO_ENCODE
        assert_eq!(crack_err("http://h/", icu::DECODE | 0x8000), 87);
        assert!(crack_with("http://h/", CRACK_FLAGS).is_ok());
    }

    #[test]
    fn crack_reject_userpwd() {
        let f = icu::REJECT_USERPWD;
        assert_eq!(crack_err("http://user:pw@h/", f), 12005);
        assert_eq!(crack_err("http://user@h/", f), 12005);
        assert_eq!(crack_err("http://:pw@h/", f), 12005);
        assert_eq!(crack_err("http://@h/", f), 12005);
        assert_eq!(crack_err("https://trusted.example@evil.example/", f), 12005);
        let c = match crack_with("http://h/p?mail=a@b", f) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.host_name.as_deref(), Some("h"));
        assert_eq!(c.extra_info.as_deref(), Some("?mail=a@b"));
        // Without the flag the same URLs crack.
        assert_eq!(
            cracked("http://user:pw@h/").user_name.as_deref(),
            Some("user")
        );
        // Scheme errors are still 12006.
        assert_eq!(crack_err("ftp://u@h/", f), 12006);
    }

    // ---- CrackUrl: ICU_DECODE / ICU_ESCAPE ----

    #[test]
    fn crack_decode() {
        let c = match crack_with(
            "http://us%65r:p%40ss@h%41st/a%20b/%C3%A9?q=%2F%3f#f%20",
            icu::DECODE,
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.user_name.as_deref(), Some("user"));
        assert_eq!(c.password.as_deref(), Some("p@ss"));
        assert_eq!(
            c.host_name.as_deref(),
            Some("h%41st"),
            "host is not decoded"
        );
        assert_eq!(c.url_path.as_deref(), Some("/a b/é"));
        assert_eq!(c.extra_info.as_deref(), Some("?q=/?#f "));
    }

    #[test]
    fn crack_decode_splits_before_decoding() {
        let c = match crack_with("http://h/a%3Fb%23c%2Fd", icu::DECODE) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.url_path.as_deref(), Some("/a?b#c/d"));
        assert_eq!(c.extra_info.as_deref(), Some(""));
    }

    #[test]
    fn crack_decode_keeps_malformed_escapes() {
        let c = match crack_with("http://h/100%/%zz/%4/%%41?x=%", icu::DECODE) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.url_path.as_deref(), Some("/100%/%zz/%4/%A"));
        assert_eq!(c.extra_info.as_deref(), Some("?x=%"));
        // Non-ASCII text around escapes survives.
        let c = match crack_with("http://h/é%20ü", icu::DECODE) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.url_path.as_deref(), Some("/é ü"));
    }

    #[test]
    fn crack_decode_rejects_non_utf8() {
        assert_eq!(crack_err("http://h/%FF", icu::DECODE), 12005);
        assert_eq!(crack_err("http://h/?%C3", icu::DECODE), 12005);
        assert_eq!(crack_err("http://%80@h/", icu::DECODE), 12005);
        assert_eq!(crack_err("http://u:%C3%28@h/", icu::DECODE), 12005);
        // Without DECODE the same URLs are fine.
        assert_eq!(cracked("http://h/%FF").url_path.as_deref(), Some("/%FF"));
    }

    #[test]
    fn crack_escape() {
        let c = match crack_with(
            "http://u s:p é@h/a b/é\u{1}\"<>|?q=a b&x=ü#f g%20",
            icu::ESCAPE,
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.url_path.as_deref(), Some("/a%20b/%C3%A9%01%22%3C%3E%7C"));
        assert_eq!(c.extra_info.as_deref(), Some("?q=a%20b&x=%C3%BC#f%20g%20"));
        // User info and host are not escaped.
        assert_eq!(c.user_name.as_deref(), Some("u s"));
        assert_eq!(c.password.as_deref(), Some("p é"));
        assert_eq!(c.host_name.as_deref(), Some("h"));
        // Safe characters and existing escapes are untouched.
        let c = match crack_with("http://h/a-b_c.d~e!$&'()*+,;=:@%41[x]?a=/?#", icu::ESCAPE) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.url_path.as_deref(), Some("/a-b_c.d~e!$&'()*+,;=:@%41[x]"));
        assert_eq!(c.extra_info.as_deref(), Some("?a=/?#"));
    }

    #[test]
    fn crack_decode_and_escape_normalise() {
        let c = match crack_with(
            "http://winehq.o g/path with%20spaces%41?a%3Db c",
            icu::ESCAPE | icu::DECODE,
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.host_name.as_deref(), Some("winehq.o g"));
        assert_eq!(c.url_path.as_deref(), Some("/path%20with%20spacesA"));
        assert_eq!(c.extra_info.as_deref(), Some("?a=b%20c"));
    }

    // ---- CrackUrl: component buffers ----

    fn crack_lengths(url: &str, flags: u32, lengths: ComponentLengths) -> ApiResult<UrlComponents> {
        crack(&CrackUrlParams {
            url: url.to_owned(),
            flags,
            component_lengths: Some(lengths),
        })
    }

    fn insufficient(r: ApiResult<UrlComponents>) -> (u32, u32) {
        match r {
            Err(ApiError::InsufficientBuffer { given, required }) => (given, required),
            other => panic!("expected 122, got {other:?}"),
        }
    }

    #[test]
    fn crack_buffers_large_enough() {
        let url = "http://username:password@www.winehq.org/site/about?query";
        let exact = ComponentLengths {
            scheme: Some(5),
            host_name: Some(15),
            user_name: Some(9),
            password: Some(9),
            url_path: Some(12),
            extra_info: Some(7),
        };
        assert_eq!(crack_lengths(url, 0, exact).ok(), Some(cracked(url)));
        // Empty components need room for the terminator only.
        let one = ComponentLengths {
            user_name: Some(1),
            password: Some(1),
            url_path: Some(1),
            extra_info: Some(1),
            ..Default::default()
        };
        assert!(crack_lengths("http://h", 0, one).is_ok());
    }

    #[test]
    fn crack_buffer_too_small_122() {
        let url = "http://username:password@www.winehq.org/site/about?query";
        let r = crack_lengths(
            url,
            0,
            ComponentLengths {
                url_path: Some(11),
                ..Default::default()
            },
        );
        assert_eq!(r.as_ref().err().map(ApiError::code), Some(122));
        assert_eq!(insufficient(r), (11, 12));
        assert_eq!(
            r_required(
                url,
                ComponentLengths {
                    extra_info: Some(1),
                    ..Default::default()
                }
            ),
            (1, 7)
        );
        assert_eq!(
            r_required(
                url,
                ComponentLengths {
                    user_name: Some(8),
                    ..Default::default()
                }
            ),
            (8, 9)
        );
        assert_eq!(
            r_required(
                url,
                ComponentLengths {
                    password: Some(2),
                    ..Default::default()
                }
            ),
            (2, 9)
        );
        // The first short buffer in URL_COMPONENTS order is reported.
        let both = ComponentLengths {
            scheme: Some(1),
            host_name: Some(1),
            url_path: Some(40),
            ..Default::default()
        };
        assert_eq!(r_required(url, both), (1, 5));
        let later = ComponentLengths {
            host_name: Some(1),
            extra_info: Some(1),
            ..Default::default()
        };
        assert_eq!(r_required(url, later), (1, 15));
        // An empty component still needs its terminator... which 1 holds; 0 is 87.
        let r = crack_lengths(
            "http://h",
            0,
            ComponentLengths {
                url_path: Some(0),
                ..Default::default()
            },
        );
        assert_eq!(r.err().map(|e| e.code()), Some(87));
    }

    fn r_required(url: &str, l: ComponentLengths) -> (u32, u32) {
        insufficient(crack_lengths(url, 0, l))
    }

    #[test]
    fn crack_buffer_counts_utf16_units_of_the_result() {
        // "/😀é": '/' + surrogate pair + 'é' = 4 units, 5 with the terminator.
        let l = |n| ComponentLengths {
            url_path: Some(n),
            ..Default::default()
        };
        assert!(crack_lengths("http://h/😀é", 0, l(5)).is_ok());
        assert_eq!(insufficient(crack_lengths("http://h/😀é", 0, l(4))), (4, 5));
        // Lengths are those of the decoded/escaped components.
        assert!(crack_lengths("http://h/%41%42", icu::DECODE, l(4)).is_ok());
        assert_eq!(
            insufficient(crack_lengths("http://h/%41%42", 0, l(4))),
            (4, 8)
        );
        assert_eq!(
            insufficient(crack_lengths("http://h/a b", icu::ESCAPE, l(5))),
            (5, 7)
        );
    }

    #[test]
    fn crack_url_errors_win_over_short_buffers() {
        let tiny = ComponentLengths {
            scheme: Some(1),
            ..Default::default()
        };
        assert_eq!(
            crack_lengths("ftp://h/", 0, tiny).err().map(|e| e.code()),
            Some(12006)
        );
        assert_eq!(
            crack_lengths("http://h:x/", 0, tiny)
                .err()
                .map(|e| e.code()),
            Some(12005)
        );
    }

    // ---- CreateUrl ----

    fn winehq() -> UrlComponents {
        comps(
            "http",
            scheme::HTTP,
            "www.winehq.org",
            80,
            ["username", "password", "/site/about", "?query"],
        )
    }

    #[test]
    fn create_full_url() {
        let r = create_with(winehq(), 0, Some(256)).ok();
        assert_eq!(
            r,
            Some(CreateUrlResult {
                url: "http://username:password@www.winehq.org/site/about?query".into(),
                length: 56,
            })
        );
    }

    #[test]
    fn create_scheme_choice() {
        let mut c = winehq();
        c.scheme = None;
        c.scheme_id = scheme::HTTPS;
        c.port = 443;
        assert_eq!(
            created(c.clone()),
            "https://username:password@www.winehq.org/site/about?query"
        );
        c.scheme = Some(String::new());
        assert!(created(c.clone()).starts_with("https://"));
        // The scheme string wins over schemeId, and is written as given.
        c.scheme = Some("HTTP".into());
        c.scheme_id = scheme::HTTPS;
        assert_eq!(
            created(c),
            "HTTP://username:password@www.winehq.org:443/site/about?query"
        );
    }

    #[test]
    fn create_unrecognized_scheme_12006() {
        let mut c = winehq();
        c.scheme = Some("ftp".into());
        assert_eq!(create_err(c.clone(), 0), 12006);
        c.scheme = Some("http:".into());
        assert_eq!(create_err(c, 0), 12006);
    }

    #[test]
    fn create_invalid_parameter_87() {
        let mut c = winehq();
        c.scheme = None;
        c.scheme_id = 0;
        assert_eq!(create_err(c.clone(), 0), 87);
        c.scheme_id = 3;
        assert_eq!(create_err(c, 0), 87);
        let mut c = winehq();
        c.host_name = None;
        assert_eq!(create_err(c.clone(), 0), 87);
        c.host_name = Some(String::new());
        assert_eq!(create_err(c, 0), 87);
        // Password without user name.
        let mut c = winehq();
        c.user_name = None;
        assert_eq!(create_err(c, 0), 87);
        // Flags other than ICU_ESCAPE.
        assert_eq!(create_err(winehq(), icu::DECODE), 87);
        assert_eq!(create_err(winehq(), icu::REJECT_USERPWD), 87);
    }

    #[test]
    fn create_user_info() {
        let mut c = winehq();
        c.password = None;
        assert_eq!(
            created(c.clone()),
            "http://username@www.winehq.org/site/about?query"
        );
        c.password = Some(String::new());
        assert_eq!(
            created(c.clone()),
            "http://username@www.winehq.org/site/about?query"
        );
        c.user_name = Some(String::new());
        assert_eq!(created(c.clone()), "http://www.winehq.org/site/about?query");
        c.user_name = None;
        c.password = None;
        assert_eq!(created(c.clone()), "http://www.winehq.org/site/about?query");
        c.user_name = Some(String::new());
        c.password = Some("pw".into());
        assert_eq!(created(c), "http://:pw@www.winehq.org/site/about?query");
    }

    #[test]
    fn create_ports() {
        let url = |scheme_id: u32, port: u16| {
            created(UrlComponents {
                scheme_id,
                port,
                ..host_only("h")
            })
        };
        assert_eq!(url(scheme::HTTP, 80), "http://h");
        assert_eq!(url(scheme::HTTP, 0), "http://h");
        assert_eq!(url(scheme::HTTP, 443), "http://h:443");
        assert_eq!(url(scheme::HTTP, 42), "http://h:42");
        assert_eq!(url(scheme::HTTPS, 443), "https://h");
        assert_eq!(url(scheme::HTTPS, 0), "https://h");
        assert_eq!(url(scheme::HTTPS, 80), "https://h:80");
        assert_eq!(url(scheme::HTTPS, 65535), "https://h:65535");
        // The default follows a case-insensitive scheme string.
        let c = UrlComponents {
            scheme: Some("HTTPS".into()),
            port: 443,
            ..host_only("h")
        };
        assert_eq!(created(c), "HTTPS://h");
    }

    #[test]
    fn create_path_and_extra() {
        let with = |path: Option<&str>, extra: Option<&str>| {
            created(UrlComponents {
                url_path: path.map(Into::into),
                extra_info: extra.map(Into::into),
                ..host_only("h")
            })
        };
        assert_eq!(with(Some("/a/b"), None), "http://h/a/b");
        assert_eq!(with(Some("a/b"), None), "http://h/a/b");
        assert_eq!(with(Some(""), None), "http://h");
        assert_eq!(with(None, Some("?q=1")), "http://h?q=1");
        assert_eq!(with(Some("x"), Some("?q=1#f")), "http://h/x?q=1#f");
        assert_eq!(with(Some("/a b"), Some("?c d")), "http://h/a b?c d");
        assert_eq!(with(Some("/a/./../b"), None), "http://h/a/./../b");
    }

    #[test]
    fn create_escape() {
        let c = UrlComponents {
            user_name: Some("u s".into()),
            url_path: Some("a b/é\r\n\u{7f}".into()),
            extra_info: Some("?q=ü v&p=%41#frag x".into()),
            ..host_only("h")
        };
        let r = create_with(c, icu::ESCAPE, None).ok();
        let expected = "http://u s@h/a%20b/%C3%A9%0D%0A%7F?q=%C3%BC%20v&p=%41#frag%20x";
        assert_eq!(
            r,
            Some(CreateUrlResult {
                url: expected.into(),
                length: u32::try_from(expected.len()).unwrap_or(0),
            })
        );
        let safe = UrlComponents {
            url_path: Some("/a-b_c.d~e!$&'()*+,;=:@%20".into()),
            ..host_only("h")
        };
        assert_eq!(
            create_with(safe, icu::ESCAPE, None).ok().map(|r| r.url),
            Some("http://h/a-b_c.d~e!$&'()*+,;=:@%20".into())
        );
    }

    #[test]
    fn create_ipv6_host() {
        let url = |host: &str, port: u16| {
            created(UrlComponents {
                port,
                url_path: Some("/x".into()),
                ..host_only(host)
            })
        };
        assert_eq!(url("::1", 8080), "http://[::1]:8080/x");
        assert_eq!(url("[::1]", 8080), "http://[::1]:8080/x");
        assert_eq!(url("2001:db8::1", 80), "http://[2001:db8::1]/x");
        assert_eq!(url("127.0.0.1", 81), "http://127.0.0.1:81/x");
    }

    #[test]
    fn create_buffer_length() {
        let url = "http://username:password@www.winehq.org/site/about?query";
        let ok = |n| create_with(winehq(), 0, Some(n)).ok().map(|r| r.url);
        assert_eq!(ok(57).as_deref(), Some(url));
        assert_eq!(ok(1000).as_deref(), Some(url));
        for given in [0, 1, 2, 56] {
            match create_with(winehq(), 0, Some(given)) {
                Err(e @ ApiError::InsufficientBuffer { .. }) => {
                    assert_eq!(e.code(), 122);
                    assert_eq!(e.required_size(), Some(57));
                    assert!(
                        matches!(e, ApiError::InsufficientBuffer { given: g, .. } if g == given)
                    );
                }
                other => panic!("buffer {given}: {other:?}"),
            }
        }
        // Parameter errors come before buffer checks.
        let mut c = winehq();
        c.host_name = None;
        assert_eq!(create_with(c, 0, Some(0)).err().map(|e| e.code()), Some(87));
    }

    #[test]
    fn create_length_counts_utf16_units() {
        let c = UrlComponents {
            url_path: Some("/😀é".into()),
            ..host_only("h")
        };
        // "http://h" (8) + "/😀é" (4 units).
        let r = create_with(c.clone(), 0, None).ok();
        assert_eq!(r.map(|r| r.length), Some(12));
        assert_eq!(
            create_with(c.clone(), 0, Some(13)).err().map(|e| e.code()),
            None
        );
        match create_with(c, 0, Some(12)) {
            Err(ApiError::InsufficientBuffer { given, required }) => {
                assert_eq!((given, required), (12, 13));
            }
            other => panic!("{other:?}"),
        }
    }

    // ---- Round trips ----

    #[test]
    fn round_trip_crack_then_create() {
        for url in [
            "http://username:password@www.winehq.org/site/about?query",
            "http://www.winehq.org",
            "https://www.winehq.org/post?",
            "https://h:8443/a/b?c=d#e",
            "http://h:443/",
            "https://h:80/",
            "http://user@h/p",
            "http://:pw@h/p",
            "http://[::1]:8080/x?y",
            "https://[2001:db8::1]/",
            "HTTPS://Mixed.Case/Path?Q#F",
            "http://h?q=1",
            "http://h#f",
            "http://example.net/path?var1=example@example.com&var2=x",
            "http://h/a%20b/%C3%A9?x=%2F",
            "https://nba2k19-ws.2ksports.com:19133/nba/v4/Accounts/get_account?x=3789526775265663876",
        ] {
            let c = cracked(url);
            assert_eq!(created(c), url, "round trip of {url}");
        }
    }

    #[test]
    fn round_trip_normalises_default_ports_and_empty_user_info() {
        for (url, canonical) in [
            ("http://h:80/p", "http://h/p"),
            ("https://h:443", "https://h"),
            ("http://h:/p", "http://h/p"),
            ("http://h:0/p", "http://h/p"),
            ("http://:@h/", "http://h/"),
            ("http://user:@h/", "http://user@h/"),
        ] {
            assert_eq!(created(cracked(url)), canonical, "{url}");
        }
    }

    #[test]
    fn round_trip_create_then_crack() {
        let original = comps(
            "https",
            scheme::HTTPS,
            "[::1]",
            8443,
            ["me", "secret", "/a/b", "?c=d#e"],
        );
        assert_eq!(cracked(&created(original.clone())), original);
        let plain = comps("http", scheme::HTTP, "h", 80, ["", "", "", ""]);
        assert_eq!(cracked(&created(plain.clone())), plain);
        // Escaped on create, decoded on crack.
        let c = UrlComponents {
            url_path: Some("/a b/é".into()),
            extra_info: Some("?q=ü".into()),
            ..host_only("h")
        };
        let url = match create_with(c, icu::ESCAPE, None) {
            Ok(r) => r.url,
            Err(e) => panic!("{e}"),
        };
        let back = match crack_with(&url, icu::DECODE) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(back.url_path.as_deref(), Some("/a b/é"));
        assert_eq!(back.extra_info.as_deref(), Some("?q=ü"));
    }

    #[test]
    fn helpers() {
        assert_eq!(parse_port("0").ok(), Some(0));
        assert_eq!(parse_port("65535").ok(), Some(65535));
        assert!(parse_port("65536").is_err());
        assert!(parse_port("4294967376").is_err());
        assert_eq!(escape_unsafe("a b\u{0}\u{80}"), "a%20b%00%C2%80");
        assert_eq!(decode("%e9%E9", "t").err().map(|e| e.code()), Some(12005));
        assert_eq!(decode("%c3%a9", "t").ok().as_deref(), Some("é"));
    }
}
