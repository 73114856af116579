//! The HTTP features layered on a plain exchange — cookies, credentials, decompression —
//! and the option values sessions and requests keep: the state they need, and the hooks
//! the request path calls when a request goes out and when a response comes in.

use super::auth::{self, AuthState};
use super::cookies::CookieJar;
use super::headers::{HeaderList, MessageHead};
use super::request::Request;
use crate::engine::Target;
use crate::engine::body::Download;
use crate::engine::decode::{Coding, ResponseBody};
use crate::engine::proxy::ProxyKind;
use crate::handles::{Handle, lock};
use hinet_protocol::consts::{decompression, disable, option};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

/// Option values kept as numbers, by option id (the table in `options.rs` says which).
#[derive(Default)]
pub struct OptionStore(Mutex<HashMap<u32, u64>>);

impl OptionStore {
    pub fn get(&self, opt: u32) -> Option<u64> {
        lock(&self.0).get(&opt).copied()
    }

    pub fn set(&self, opt: u32, value: u64) {
        lock(&self.0).insert(opt, value);
    }

    /// A copy: requests start from their session's values and go their own way after.
    pub fn snapshot(&self) -> OptionStore {
        OptionStore(Mutex::new(lock(&self.0).clone()))
    }
}

/// What a session keeps for its requests.
#[derive(Default)]
pub struct SessionExtras {
    pub cookies: CookieJar,
    pub options: OptionStore,
}

/// What a request keeps of its own.
#[derive(Default)]
pub struct RequestExtras {
    pub options: OptionStore,
    pub auth: Mutex<AuthState>,
}

impl RequestExtras {
    pub fn new(session: &SessionExtras) -> Self {
        RequestExtras {
            options: session.options.snapshot(),
            auth: Mutex::default(),
        }
    }
}

/// Adds what the features put in a request about to go to `target` as `verb path`:
/// Accept-Encoding (replacing the application's) when decompression is on, the session's
/// cookies unless the application set a Cookie header, and Authorization from the
/// request's credentials unless the application set one.
pub fn decorate(
    h: &Handle,
    request: &Request,
    headers: &mut HeaderList,
    verb: &str,
    path: &str,
    target: &Target,
) {
    let accept = accept_encoding(decompression_flags(request));
    if let Some(value) = accept {
        headers
            .0
            .retain(|(n, _)| !n.eq_ignore_ascii_case("Accept-Encoding"));
        headers.push("Accept-Encoding", value);
    }
    if !cookies_disabled(request)
        && !headers.contains("Cookie")
        && let Some(value) = h.session().extras.cookies.header_for(&target.url(path))
    {
        headers.push("Cookie", &value);
    }
    if headers.contains("Authorization") {
        auth::app_authorized(request);
    } else if let Some(value) = auth::authorization(h, request, target, verb, path) {
        headers.push("Authorization", &value);
    }
    // Through an HTTP proxy, plain HTTP requests carry the proxy's credentials themselves
    // (absolute-form, so Digest's uri is the whole URL); tunnels carry them on CONNECT.
    if !target.secure
        && !headers.contains("Proxy-Authorization")
        && let Some(proxy) = http_proxy(h, request, target)
        && let Some(value) = auth::proxy_authorization(request, &proxy, verb, &target.url(path))
    {
        headers.push("Proxy-Authorization", &value);
    }
}

/// The HTTP proxy a request to `target` goes through, if any, as a target of its own.
pub fn http_proxy(h: &Handle, request: &Request, target: &Target) -> Option<Target> {
    let setting = lock(&request.net.proxy)
        .clone()
        .unwrap_or_else(|| lock(&h.session().net.proxy).clone());
    let proxy = setting.route(target).ok().flatten()?;
    (proxy.kind == ProxyKind::Http).then_some(Target {
        secure: false,
        host: proxy.host,
        port: proxy.port,
    })
}

/// Takes what the features keep from a response of `target` for `url` (every response,
/// redirect hops included): its cookies and its authentication challenge.
pub fn on_response(h: &Handle, request: &Request, target: &Target, url: &str, head: &MessageHead) {
    if !cookies_disabled(request) {
        let set_cookies = head
            .headers
            .0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Set-Cookie"))
            .map(|(_, v)| v.as_str());
        h.session().extras.cookies.store(url, set_cookies);
    }
    // A 407 comes from the proxy, whose challenge is answered for the proxy only.
    let proxy = match head.status {
        407 => http_proxy(h, request, target),
        _ => None,
    };
    auth::on_response(request, target, proxy.as_ref(), head);
}

/// The body the application reads: decoded when decompression is on and the response's
/// Content-Encoding is one it covers. Then, as WinHTTP does, the Content-Encoding and
/// Content-Length headers (which describe the encoded body) are no longer reported.
pub fn response_body(
    request: &Request,
    head: &mut MessageHead,
    download: Download,
) -> ResponseBody {
    let flags = decompression_flags(request);
    let coding = head
        .headers
        .get("Content-Encoding")
        .and_then(Coding::from_header)
        .filter(|c| accept_encoding(flags).is_some_and(|a| a.split(", ").any(|n| n == c.name())));
    let Some(coding) = coding.filter(|_| !download.is_done()) else {
        // Nothing to decode (or nothing to decode with): the headers stay as received.
        return ResponseBody::plain(download);
    };
    head.headers.0.retain(|(n, _)| {
        !n.eq_ignore_ascii_case("Content-Encoding") && !n.eq_ignore_ascii_case("Content-Length")
    });
    ResponseBody::decoded(download, coding)
}

fn decompression_flags(request: &Request) -> u32 {
    request
        .extras
        .options
        .get(option::DECOMPRESSION)
        .unwrap_or(0) as u32
}

/// The Accept-Encoding of a DECOMPRESSION setting. ALL goes beyond WinHTTP's gzip and
/// deflate to Brotli and Zstandard.
fn accept_encoding(flags: u32) -> Option<&'static str> {
    match flags & decompression::ALL {
        decompression::ALL => Some("gzip, deflate, br, zstd"),
        decompression::GZIP => Some("gzip"),
        decompression::DEFLATE => Some("deflate"),
        _ => None,
    }
}

fn cookies_disabled(request: &Request) -> bool {
    request.disabled.load(Ordering::Relaxed) & disable::COOKIES != 0
}
