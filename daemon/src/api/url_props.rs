//! Property tests for CrackUrl and CreateUrl: what one writes the other reads back.

use super::*;
use proptest::prelude::*;

fn crack_flags(url: &str, flags: u32) -> ApiResult<UrlComponents> {
    crack(&CrackUrlParams {
        url: url.to_owned(),
        flags,
        component_lengths: None,
    })
}

fn create_flags(components: &UrlComponents, flags: u32) -> ApiResult<CreateUrlResult> {
    create(&CreateUrlParams {
        components: components.clone(),
        flags,
        buffer_length: None,
    })
}

/// Host names as written in URLs: DNS-ish names, IPv4, and bare IPv6 addresses (which
/// CreateUrl brackets).
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9][a-zA-Z0-9.-]{0,20}",
        any::<[u8; 4]>().prop_map(|b| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])),
        any::<u128>().prop_map(|v| Ipv6Addr::from(v).to_string()),
    ]
}

/// Components a caller may hand to CreateUrl: no character that would move a component
/// boundary (`:` in a user name; `@ / ? #` in user info; `? #` in a path).
fn components() -> impl Strategy<Value = UrlComponents> {
    let user = proptest::option::of("[a-zA-Z0-9._~!$&'()*+,;=%-]{0,8}");
    let password = proptest::option::of("[a-zA-Z0-9._~!$&'()*+,;=%:-]{0,8}");
    let path = prop_oneof![
        Just(String::new()),
        "/[a-zA-Z0-9._~!$&'()*+,;=:@%/ é-]{0,24}"
    ];
    let extra = prop_oneof![Just(String::new()), "[?#][ -~é]{0,24}"];
    (
        prop_oneof!["http", "https", "HTTP", "Https"],
        host(),
        any::<u16>(),
        user,
        password,
        path,
        extra,
    )
        .prop_filter(
            "a password needs a user name",
            |(_, _, _, user, password, _, _)| user.is_some() || password.is_none(),
        )
        .prop_map(
            |(scheme, host_name, port, user_name, password, url_path, extra_info)| UrlComponents {
                scheme_id: scheme_id_of(&scheme).unwrap_or(0),
                scheme: Some(scheme),
                host_name: Some(host_name),
                port,
                user_name,
                password,
                url_path: Some(url_path),
                extra_info: Some(extra_info),
            },
        )
}

/// What CrackUrl reports for the URL CreateUrl built from `c`.
fn expected_crack(c: &UrlComponents) -> UrlComponents {
    let host = c.host_name.clone().unwrap_or_default();
    let host = if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host
    };
    UrlComponents {
        host_name: Some(host),
        port: if c.port == 0 {
            default_port(c.scheme_id)
        } else {
            c.port
        },
        user_name: Some(c.user_name.clone().unwrap_or_default()),
        password: Some(c.password.clone().unwrap_or_default()),
        ..c.clone()
    }
}

/// Printable ASCII plus a little non-ASCII: the raw material of hostile URLs.
fn url_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "(?i:https?)://[ -~é]{0,40}",
        "(?i:https?)://[a-z0-9@:\\[\\]/?#%.]{0,30}",
        "[ -~]{0,30}",
    ]
}

proptest! {
    /// CreateUrl then CrackUrl gives back the components (absent ones as empty strings,
    /// port 0 as the scheme's default, IPv6 hosts in brackets).
    #[test]
    fn create_then_crack_round_trips(c in components()) {
        let url = create_flags(&c, 0).map_err(|e| TestCaseError::fail(e.to_string()))?.url;
        let back = crack_flags(&url, 0).map_err(|e| TestCaseError::fail(format!("{url:?}: {e}")))?;
        prop_assert_eq!(back, expected_crack(&c), "url {:?}", url);
    }

    /// Whatever CrackUrl accepts, CreateUrl rebuilds into a URL that cracks the same way.
    #[test]
    fn crack_create_crack_is_stable(url in url_text()) {
        if let Ok(first) = crack_flags(&url, 0) {
            let rebuilt = create_flags(&first, 0)
                .map_err(|e| TestCaseError::fail(format!("{url:?} cracked but: {e}")))?
                .url;
            let second = crack_flags(&rebuilt, 0)
                .map_err(|e| TestCaseError::fail(format!("{url:?} -> {rebuilt:?}: {e}")))?;
            let expected = UrlComponents {
                port: if first.port == 0 { default_port(first.scheme_id) } else { first.port },
                ..first
            };
            prop_assert_eq!(second, expected, "{:?} -> {:?}", url, rebuilt);
        }
    }

    /// ICU_ESCAPE leaves no unsafe byte in path or extra info, with or without ICU_DECODE,
    /// and CreateUrl's ICU_ESCAPE output cracks to escaped components.
    #[test]
    fn escape_leaves_nothing_unsafe(url in url_text(), decode_too in any::<bool>()) {
        let flags = icu::ESCAPE | if decode_too { icu::DECODE } else { 0 };
        if let Ok(c) = crack_flags(&url, flags) {
            for part in [&c.url_path, &c.extra_info] {
                let part = part.as_deref().unwrap_or("");
                prop_assert!(!part.bytes().any(needs_escape), "{:?} -> {:?}", url, part);
            }
        }
    }

    /// Escaping then decoding is the identity for text without `%`.
    #[test]
    fn decode_undoes_escape(text in "[^%]{0,40}") {
        let escaped = escape_unsafe(&text);
        prop_assert!(escaped.is_ascii());
        prop_assert_eq!(decode(&escaped, "t").map_err(|e| TestCaseError::fail(e.to_string()))?, text);
    }

    /// CrackUrl never panics and, when it fails, fails with a CrackUrl error number.
    #[test]
    fn crack_fails_only_with_its_own_errors(url in "\\PC{0,60}", flags in any::<u32>()) {
        if let Err(e) = crack_flags(&url, flags) {
            prop_assert!(matches!(e.code(), 87 | 12005 | 12006), "{:?}: {}", url, e);
        }
    }
}
