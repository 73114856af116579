//! WinHttpQueryAuthSchemes, WinHttpSetCredentials and the USERNAME/PASSWORD options, and
//! the answers to Basic and Digest (RFC 7616) challenges on the wire (reference §8).
//!
//! A request keeps, per target (server and proxy), the credentials the application gave
//! and the last challenge it received. When a request goes out, credentials answer that
//! challenge (Digest through `http-auth`'s client, which counts nonce uses); Basic
//! credentials set with SetCredentials are also sent before any challenge, as WinHTTP
//! does. Credentials go only to the server the request was opened for and to the server
//! that sent the challenge, never to a host a redirect leads elsewhere.

use super::Ctx;
use super::headers::{HeaderList, MessageHead};
use super::redirect::Hop;
use super::request::Request;
use crate::engine::Target;
use crate::engine::proxy::ProxyServer;
use crate::error::{ApiError, ApiResult};
use crate::handles::{Handle, RequestState, lock};
use hinet_protocol::consts::{auth_scheme, auth_target, disable, option};
use hinet_protocol::{Empty, QueryAuthSchemesParams, QueryAuthSchemesResult, SetCredentialsParams};
use http_auth::{ChallengeParser, DigestClient, PasswordParams};
use std::sync::atomic::Ordering;

/// The scheme names WinHTTP recognises, with their bits.
const SCHEMES: &[(&str, u32)] = &[
    ("Basic", auth_scheme::BASIC),
    ("NTLM", auth_scheme::NTLM),
    ("Passport1.4", auth_scheme::PASSPORT),
    ("Passport", auth_scheme::PASSPORT),
    ("Digest", auth_scheme::DIGEST),
    ("Negotiate", auth_scheme::NEGOTIATE),
];

fn scheme_bit(name: &str) -> Option<u32> {
    SCHEMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, bit)| *bit)
}

/// The recognised schemes of a list of challenge header values, in the server's order
/// (repeats kept out). Unknown schemes such as Bearer are skipped.
fn offered<'a>(values: impl Iterator<Item = &'a str>) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    let mut add = |bit: Option<u32>| {
        if let Some(bit) = bit
            && !out.contains(&bit)
        {
            out.push(bit);
        }
    };
    for value in values {
        let mut parsed_any = false;
        for challenge in ChallengeParser::new(value) {
            match challenge {
                Ok(c) => {
                    parsed_any = true;
                    add(scheme_bit(c.scheme));
                }
                // NTLM and Negotiate carry token68 data the parser does not take; as
                // WinHTTP does, the first word names the scheme then.
                Err(_) => {
                    if !parsed_any {
                        add(value.split_whitespace().next().and_then(scheme_bit));
                    }
                    break;
                }
            }
        }
    }
    out
}

/// Credentials from WinHttpSetCredentials.
#[derive(Clone)]
struct Credentials {
    scheme: u32,
    user: String,
    password: String,
}

/// A challenge kept to be answered by the next send.
struct Challenge {
    /// The server that sent it.
    origin: Target,
    /// Recognised schemes in the server's order.
    offers: Vec<u32>,
    digest: Option<DigestClient>,
    /// The header values as received, to recognise a repeat.
    raw: Vec<String>,
}

/// What the last request sent carried for one target.
#[derive(Clone, PartialEq, Eq)]
enum Sent {
    Nothing,
    /// The application's own Authorization header: not ours to answer again.
    App,
    /// Basic credentials.
    Basic,
    /// A Digest answer to the challenge with these header values.
    Digest(Vec<String>),
}

/// One target's side: server or proxy.
struct Side {
    explicit: Option<Credentials>,
    /// USERNAME/PASSWORD (or the PROXY_ ones); SetCredentials wins over them.
    user: Option<String>,
    password: Option<String>,
    challenge: Option<Challenge>,
    sent: Sent,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            explicit: None,
            user: None,
            password: None,
            challenge: None,
            sent: Sent::Nothing,
        }
    }
}

impl Side {
    /// The credentials to use and the schemes they may answer.
    fn credentials(&self) -> Option<(u32, &str, &str)> {
        if let Some(c) = &self.explicit {
            return Some((c.scheme, &c.user, &c.password));
        }
        match (&self.user, &self.password) {
            (Some(u), p) => Some((
                auth_scheme::BASIC | auth_scheme::DIGEST,
                u,
                p.as_deref().unwrap_or(""),
            )),
            _ => None,
        }
    }

    /// The scheme the stored challenge from `origin` would be answered with.
    fn answerable(&self, origin: &Target) -> Option<u32> {
        let (allowed, _, _) = self.credentials()?;
        let challenge = self.challenge.as_ref().filter(|c| &c.origin == origin)?;
        challenge.offers.iter().copied().find(|s| {
            allowed & s != 0
                && match *s {
                    auth_scheme::BASIC => true,
                    auth_scheme::DIGEST => challenge.digest.is_some(),
                    _ => false,
                }
        })
    }

    /// The authorization header value for a request to `target`; records what was sent.
    fn answer(&mut self, home: &Target, target: &Target, verb: &str, uri: &str) -> Option<String> {
        self.sent = Sent::Nothing;
        let value = match self.answerable(target) {
            Some(auth_scheme::DIGEST) => {
                let (_, user, password) = self.credentials()?;
                let (user, password) = (user.to_owned(), password.to_owned());
                let challenge = self.challenge.as_mut()?;
                let raw = challenge.raw.clone();
                let digest = challenge.digest.as_mut()?;
                let params = PasswordParams {
                    username: &user,
                    password: &password,
                    uri,
                    method: verb,
                    body: None,
                };
                match digest.respond(&params) {
                    Ok(v) => {
                        self.sent = Sent::Digest(raw);
                        v
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "cannot answer the Digest challenge");
                        return None;
                    }
                }
            }
            Some(_) => self.basic()?,
            // Basic set with SetCredentials goes out before any challenge, but only to the
            // server the request was opened for.
            None => match &self.explicit {
                Some(c) if c.scheme == auth_scheme::BASIC && target == home => self.basic()?,
                _ => return None,
            },
        };
        Some(value)
    }

    fn basic(&mut self) -> Option<String> {
        let (_, user, password) = self.credentials()?;
        let value = http_auth::basic::encode_credentials(user, password);
        self.sent = Sent::Basic;
        Some(value)
    }
}

/// A request's authentication state.
#[derive(Default)]
pub struct AuthState {
    server: Side,
    proxy: Side,
}

impl AuthState {
    fn side(&mut self, target: u32) -> &mut Side {
        if target == auth_target::PROXY {
            &mut self.proxy
        } else {
            &mut self.server
        }
    }
}

/// Counts the automatic retries of one exchange (SendRequest to ReceiveResponse).
#[derive(Default)]
pub struct Tries([u32; 2]);

pub async fn query_auth_schemes(
    ctx: Ctx<'_>,
    p: QueryAuthSchemesParams,
) -> ApiResult<QueryAuthSchemesResult> {
    let h = ctx.handle(p.handle)?;
    let request = h.as_request()?;
    let headers = {
        let core = lock(&request.core);
        match (core.state, &core.response) {
            (
                RequestState::Response | RequestState::BodyPending | RequestState::Eof,
                Some(head),
            ) => head.headers.clone(),
            _ => {
                return Err(ApiError::InvalidOperation(
                    "there is no response, so no authentication challenge".into(),
                ));
            }
        }
    };
    for (name, target) in [
        ("WWW-Authenticate", auth_target::SERVER),
        ("Proxy-Authenticate", auth_target::PROXY),
    ] {
        let schemes = offered(values(&headers, name));
        if let Some(first) = schemes.first() {
            return Ok(QueryAuthSchemesResult {
                supported_schemes: schemes.iter().fold(0, |a, s| a | s),
                first_scheme: *first,
                auth_target: target,
            });
        }
    }
    Err(ApiError::InvalidOperation(
        "the response has no WWW-Authenticate or Proxy-Authenticate challenge hinetd recognises"
            .into(),
    ))
}

fn values<'a>(headers: &'a HeaderList, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .0
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub async fn set_credentials(ctx: Ctx<'_>, p: SetCredentialsParams) -> ApiResult<Empty> {
    let h = ctx.handle(p.handle)?;
    let request = h.as_request()?;
    if p.auth_targets != auth_target::SERVER && p.auth_targets != auth_target::PROXY {
        return Err(ApiError::invalid_parameter(format!(
            "authTargets {} (0 SERVER, 1 PROXY)",
            p.auth_targets
        )));
    }
    let name = match p.auth_scheme {
        auth_scheme::BASIC => "Basic",
        auth_scheme::DIGEST => "Digest",
        auth_scheme::NTLM => "NTLM",
        auth_scheme::NEGOTIATE => "Negotiate",
        auth_scheme::PASSPORT => "Passport",
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "authScheme {other:#x} is not one WINHTTP_AUTH_SCHEME_* bit"
            )));
        }
    };
    if !matches!(p.auth_scheme, auth_scheme::BASIC | auth_scheme::DIGEST) {
        return Err(ApiError::NotSupported(format!(
            "{name} authentication is not supported by hinetd (it needs Windows security \
             packages); only Basic and Digest are"
        )));
    }
    let (Some(user), Some(password)) = (p.user_name, p.password) else {
        return Err(ApiError::invalid_parameter(format!(
            "{name} credentials need both userName and password"
        )));
    };
    let mut auth = lock(&request.extras.auth);
    auth.side(p.auth_targets).explicit = Some(Credentials {
        scheme: p.auth_scheme,
        user,
        password,
    });
    Ok(Empty {})
}

/// SetOption of USERNAME, PASSWORD, PROXY_USERNAME or PROXY_PASSWORD.
pub fn set_option_text(request: &Request, opt: u32, text: String) {
    let mut auth = lock(&request.extras.auth);
    match opt {
        option::USERNAME => auth.server.user = Some(text),
        option::PASSWORD => auth.server.password = Some(text),
        option::PROXY_USERNAME => auth.proxy.user = Some(text),
        _ => auth.proxy.password = Some(text),
    }
}

/// QueryOption of those options: `""` when unset.
pub fn option_text(request: &Request, opt: u32) -> String {
    let auth = lock(&request.extras.auth);
    let value = match opt {
        option::USERNAME => &auth.server.user,
        option::PASSWORD => &auth.server.password,
        option::PROXY_USERNAME => &auth.proxy.user,
        _ => &auth.proxy.password,
    };
    value.clone().unwrap_or_default()
}

/// The `Authorization` value for a request about to go to `target` with `verb` and request
/// target `uri`, if its credentials give one.
pub fn authorization(
    h: &Handle,
    request: &Request,
    target: &Target,
    verb: &str,
    uri: &str,
) -> Option<String> {
    let home = request.target(h);
    lock(&request.extras.auth)
        .server
        .answer(&home, target, verb, uri)
}

/// The request about to go carries the application's own Authorization header.
pub fn app_authorized(request: &Request) {
    lock(&request.extras.auth).server.sent = Sent::App;
}

/// The `Proxy-Authorization` value for a request through the proxy `proxy` (for the code
/// that talks to proxies: a CONNECT, or an absolute-form request). Proxy credentials answer
/// only a challenge from that proxy, or go pre-emptively as Basic.
pub fn proxy_authorization(
    request: &Request,
    proxy: &Target,
    verb: &str,
    uri: &str,
) -> Option<String> {
    lock(&request.extras.auth)
        .proxy
        .answer(proxy, proxy, verb, uri)
}

/// The `Proxy-Authorization` of a CONNECT to `target` through the HTTP proxy `proxy`.
pub fn connect_authorization(
    request: &Request,
    proxy: &ProxyServer,
    target: &Target,
) -> Option<String> {
    let authority = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let proxy = Target {
        secure: false,
        host: proxy.host.clone(),
        port: proxy.port,
    };
    proxy_authorization(request, &proxy, "CONNECT", &authority)
}

/// Keeps the challenge of a 401 from `target`, or of a 407 from `proxy` (the HTTP proxy
/// the request went through), for the next send.
pub fn on_response(request: &Request, target: &Target, proxy: Option<&Target>, head: &MessageHead) {
    let (side, name, origin) = match (head.status, proxy) {
        (401, _) => (auth_target::SERVER, "WWW-Authenticate", target),
        (407, Some(proxy)) => (auth_target::PROXY, "Proxy-Authenticate", proxy),
        _ => return,
    };
    let raw: Vec<String> = values(&head.headers, name).map(str::to_owned).collect();
    if raw.is_empty() {
        return;
    }
    let digest = raw.iter().find_map(|v| {
        ChallengeParser::new(v)
            .map_while(Result::ok)
            .find(|c| c.scheme.eq_ignore_ascii_case("Digest"))
            .and_then(|c| DigestClient::try_from(&c).ok())
    });
    let challenge = Challenge {
        origin: origin.clone(),
        offers: offered(raw.iter().map(String::as_str)),
        digest,
        raw,
    };
    lock(&request.extras.auth).side(side).challenge = Some(challenge);
}

/// After a 401 or 407: whether ReceiveResponse sends the request again by itself, and
/// where (the same place: proxy credentials are added on the way).
///
/// It does when credentials were set that answer the challenge just received, the body can
/// be sent again, authentication is not disabled, and the answer would differ from what
/// the refused request carried (the same Basic credentials, or an answer to the very same
/// Digest challenge, would only be refused again). At most once per target and exchange,
/// so wrong credentials end with the 401 or 407 in the application's hands.
pub fn retry(
    request: &Request,
    target: &Target,
    path: &str,
    verb: &str,
    head: &MessageHead,
    replayable: bool,
    tries: &mut Tries,
) -> Option<Hop> {
    let which = match head.status {
        401 => auth_target::SERVER,
        407 => auth_target::PROXY,
        _ => return None,
    };
    let tried = &mut tries.0[which as usize];
    if !replayable
        || *tried > 0
        || request.disabled.load(Ordering::Relaxed) & disable::AUTHENTICATION != 0
    {
        return None;
    }
    let mut auth = lock(&request.extras.auth);
    let side = auth.side(which);
    // The challenge of this very response (`on_response` ran first) says where it came
    // from: the server, or the proxy.
    let origin = match (which, &side.challenge) {
        (auth_target::PROXY, Some(c)) => c.origin.clone(),
        _ => target.clone(),
    };
    let scheme = side.answerable(&origin)?;
    let repeat = match (&side.sent, scheme) {
        (Sent::App, _) => true,
        (Sent::Nothing, _) => false,
        (_, auth_scheme::BASIC) => true,
        (Sent::Digest(raw), _) => side.challenge.as_ref().is_some_and(|c| &c.raw == raw),
        (Sent::Basic, _) => false,
    };
    if repeat {
        return None;
    }
    *tried += 1;
    Some(Hop {
        url: target.url(path),
        target: target.clone(),
        path: path.to_owned(),
        verb: verb.to_owned(),
        keep_body: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_in_order_unknown_skipped() {
        let v = offered(
            [
                "Bearer realm=\"x\"",
                "Negotiate",
                "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAFASgKAAAADw==",
                "Digest realm=\"r\", nonce=\"n\", qop=\"auth\", Basic realm=\"r\"",
            ]
            .into_iter(),
        );
        assert_eq!(
            v,
            [
                auth_scheme::NEGOTIATE,
                auth_scheme::NTLM,
                auth_scheme::DIGEST,
                auth_scheme::BASIC
            ]
        );
        assert!(offered(["Bearer x=1"].into_iter()).is_empty());
    }
}
