//! The per-session cookie jar: `Set-Cookie` of every response (redirect hops included) is
//! stored, and matching cookies go back in a `Cookie` header of the session's later
//! requests, with RFC 6265's domain, path, secure and expiry rules (the `cookie_store`
//! crate). Each session has its own jar, so cookies never cross sessions.
//!
//! Secure cookies are set and sent over HTTPS only — loopback HTTP included, which browsers
//! would count as secure.
//!
//! There is no public-suffix list: a server may set a cookie for a parent domain such as
//! `example.com` but also, unlike in browsers, for a public suffix such as `co.uk`.

use crate::handles::lock;
use cookie_store::{CookieStore, RawCookie};
use std::sync::Mutex;
use url::Url;

#[derive(Default)]
pub struct CookieJar(Mutex<CookieStore>);

impl CookieJar {
    /// The `Cookie` header value for a request to `url`, if any cookie matches.
    pub fn header_for(&self, url: &str) -> Option<String> {
        let url = Url::parse(url).ok()?;
        let jar = lock(&self.0);
        let secure = url.scheme() == "https";
        let mut cookies = jar.matches(&url);
        // The store counts loopback HTTP as secure, as browsers do; WinHTTP sends Secure
        // cookies over HTTPS only.
        cookies.retain(|c| secure || c.secure() != Some(true));
        // RFC 6265 §5.4: longer paths first, then in the order they were set (the store
        // keeps insertion order and the sort is stable).
        cookies.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let pairs: Vec<String> = cookies
            .iter()
            .map(|c| {
                let (name, value) = c.name_value();
                format!("{name}={value}")
            })
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Stores the cookies a response from `url` sets. Cookies that RFC 6265 rejects (a
    /// domain the URL is not in, `Secure` over plain HTTP, unparsable lines) are dropped,
    /// and a cookie set already expired removes the stored one.
    pub fn store<'a>(&self, url: &str, set_cookies: impl Iterator<Item = &'a str>) {
        let Ok(url) = Url::parse(url) else { return };
        let secure = url.scheme() == "https";
        let mut jar = lock(&self.0);
        for line in set_cookies {
            // Only HTTPS may set a Secure cookie (loopback HTTP included, unlike the store).
            if !secure && RawCookie::parse(line).is_ok_and(|c| c.secure() == Some(true)) {
                tracing::debug!(%url, "Secure cookie over plain HTTP not stored");
                continue;
            }
            if let Err(e) = jar.parse(line, &url) {
                tracing::debug!(%url, error = %e, "Set-Cookie not stored");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_path_secure_and_expiry() {
        let jar = CookieJar::default();
        jar.store(
            "http://a.test/page",
            [
                "plain=1",
                "scoped=2; Path=/x",
                "other=3; Path=/y",
                "wide=5; Domain=a.test",
            ]
            .into_iter(),
        );
        jar.store("https://a.test/", ["sec=4; Secure"].into_iter());
        // Only HTTPS sets a Secure cookie.
        jar.store("http://a.test/", ["sneaky=1; Secure"].into_iter());
        // Longer paths first, then in the order set.
        assert_eq!(
            jar.header_for("http://a.test/x/more").as_deref(),
            Some("scoped=2; plain=1; wide=5")
        );
        assert_eq!(
            jar.header_for("http://a.test/").as_deref(),
            Some("plain=1; wide=5")
        );
        assert_eq!(
            jar.header_for("https://a.test/").as_deref(),
            Some("plain=1; wide=5; sec=4")
        );
        // A subdomain gets only the domain cookie; another host nothing.
        assert_eq!(
            jar.header_for("http://b.a.test/").as_deref(),
            Some("wide=5")
        );
        assert_eq!(jar.header_for("http://b.test/"), None);
        // An expired Set-Cookie removes the cookie.
        jar.store(
            "http://a.test/",
            ["plain=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT"].into_iter(),
        );
        assert_eq!(jar.header_for("http://a.test/").as_deref(), Some("wide=5"));
    }
}
