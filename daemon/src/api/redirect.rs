//! Automatic redirects inside WinHttpReceiveResponse (reference §7, issue rules): which 3xx
//! responses are followed, where to, and with which method and body.

use crate::engine::Target;
use crate::error::{ApiError, ApiResult};
use hinet_protocol::consts::redirect_policy;

/// The redirect settings of a request.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// `redirect_policy::*`.
    pub policy: u32,
    /// WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS.
    pub max: u32,
    /// WINHTTP_DISABLE_REDIRECTS was set.
    pub disabled: bool,
}

/// Where a followed redirect goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub url: String,
    pub target: Target,
    /// Path and query, as sent in the request line.
    pub path: String,
    pub verb: String,
    /// The body goes along (307/308, or a method that did not change).
    pub keep_body: bool,
}

/// Decides whether the response `status` with `location` is followed.
///
/// `Ok(None)`: the response goes to the application (not a redirect, policy NEVER, redirects
/// disabled, or a 307/308 whose body cannot be sent again). `Err`: the redirect is refused
/// (12156 HTTPS→HTTP under the default policy or too many hops, 12005/12006 bad target).
pub fn decide(
    status: u16,
    location: Option<&str>,
    current_url: &str,
    verb: &str,
    policy: Policy,
    hops_so_far: u32,
    body_replayable: bool,
) -> ApiResult<Option<Hop>> {
    if !matches!(status, 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(location) = location.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    if policy.disabled || policy.policy == redirect_policy::NEVER {
        return Ok(None);
    }
    let keeps_method = matches!(status, 307 | 308);
    if keeps_method && !body_replayable {
        // A body streamed through WinHttpWriteData is gone: the 3xx is the answer.
        return Ok(None);
    }
    let base = url::Url::parse(current_url)
        .map_err(|e| ApiError::InvalidUrl(format!("current URL {current_url:?}: {e}")))?;
    let next = base
        .join(location)
        .map_err(|e| ApiError::InvalidUrl(format!("redirect to {location:?}: {e}")))?;
    let secure = match next.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(ApiError::UnrecognizedScheme(other.to_owned())),
    };
    if base.scheme() == "https" && !secure && policy.policy != redirect_policy::ALWAYS {
        return Err(ApiError::RedirectFailed(format!(
            "redirect from HTTPS to HTTP ({next}) is refused by the redirect policy"
        )));
    }
    if hops_so_far >= policy.max {
        return Err(ApiError::RedirectFailed(format!(
            "more than {} redirects (last to {next})",
            policy.max
        )));
    }
    let host = next
        .host_str()
        .ok_or_else(|| ApiError::InvalidUrl(format!("redirect to {next} has no host")))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_owned();
    let port = next
        .port_or_known_default()
        .unwrap_or(if secure { 443 } else { 80 });
    let mut path = next.path().to_owned();
    if let Some(q) = next.query() {
        path.push('?');
        path.push_str(q);
    }
    let to_get = !verb.eq_ignore_ascii_case("HEAD")
        && (status == 303 || (matches!(status, 301 | 302) && verb.eq_ignore_ascii_case("POST")));
    let verb = if to_get {
        "GET".to_owned()
    } else {
        verb.to_owned()
    };
    let mut url = next.clone();
    url.set_fragment(None);
    Ok(Some(Hop {
        url: url.to_string(),
        target: Target { secure, host, port },
        path,
        verb,
        keep_body: !to_get,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Policy = Policy {
        policy: redirect_policy::DISALLOW_HTTPS_TO_HTTP,
        max: 10,
        disabled: false,
    };

    #[test]
    fn follows_relative_and_absolute_locations() {
        let hop = decide(
            302,
            Some("/b?x=1"),
            "http://h:8080/a",
            "GET",
            DEFAULT,
            0,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(hop.url, "http://h:8080/b?x=1");
        assert_eq!(hop.path, "/b?x=1");
        assert_eq!(hop.target.port, 8080);
        let hop = decide(
            301,
            Some("https://other/"),
            "http://h/a",
            "GET",
            DEFAULT,
            0,
            true,
        )
        .unwrap()
        .unwrap();
        assert!(hop.target.secure);
        assert_eq!(hop.target.port, 443);
    }

    #[test]
    fn post_becomes_get_except_for_307_and_308() {
        let to = |s| {
            decide(s, Some("/x"), "http://h/", "POST", DEFAULT, 0, true)
                .unwrap()
                .unwrap()
        };
        assert_eq!(to(302).verb, "GET");
        assert!(!to(302).keep_body);
        assert_eq!(to(303).verb, "GET");
        assert_eq!(to(307).verb, "POST");
        assert!(to(308).keep_body);
        assert_eq!(
            decide(307, Some("/x"), "http://h/", "POST", DEFAULT, 0, false).unwrap(),
            None
        );
    }

    #[test]
    fn policy_limits_and_refusals() {
        let never = Policy {
            policy: redirect_policy::NEVER,
            ..DEFAULT
        };
        assert_eq!(
            decide(302, Some("/x"), "http://h/", "GET", never, 0, true).unwrap(),
            None
        );
        let off = Policy {
            disabled: true,
            ..DEFAULT
        };
        assert_eq!(
            decide(302, Some("/x"), "http://h/", "GET", off, 0, true).unwrap(),
            None
        );
        let down = decide(
            302,
            Some("http://h/"),
            "https://h/",
            "GET",
            DEFAULT,
            0,
            true,
        );
        assert_eq!(down.unwrap_err().code(), 12156);
        let always = Policy {
            policy: redirect_policy::ALWAYS,
            ..DEFAULT
        };
        assert!(
            decide(302, Some("http://h/"), "https://h/", "GET", always, 0, true)
                .unwrap()
                .is_some()
        );
        assert_eq!(
            decide(302, Some("/x"), "http://h/", "GET", DEFAULT, 10, true)
                .unwrap_err()
                .code(),
            12156
        );
        assert_eq!(
            decide(302, Some("ftp://h/"), "http://h/", "GET", DEFAULT, 0, true)
                .unwrap_err()
                .code(),
            12006
        );
        assert_eq!(
            decide(200, Some("/x"), "http://h/", "GET", DEFAULT, 0, true).unwrap(),
            None
        );
    }
}
