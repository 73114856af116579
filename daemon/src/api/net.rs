//! How sessions and requests reach servers: their proxy (WINHTTP_OPTION_PROXY), TLS
//! versions (SECURE_PROTOCOLS), HTTP/2 (ENABLE_HTTP_PROTOCOL) and client certificate
//! (HINET_OPTION_CLIENT_CERT_PEM, CLIENT_CERT_CONTEXT); and what a request learned of its
//! connection (HTTP_PROTOCOL_USED, SERVER_CERT_CONTEXT).
//!
//! Settings of the session apply to its requests at each send, unless the request set its
//! own; ENABLE_HTTP_PROTOCOL alone is copied into a request when it is opened, as WinHTTP
//! does.

use super::Ctx;
use super::request::Request;
use crate::engine::Target;
use crate::engine::certinfo;
use crate::engine::pool::{ConnInfo, Connection, PoolKey};
use crate::engine::proxy::{ProxyKind, ProxySetting};
use crate::engine::tls::{ClientCert, TlsSettings, TlsVersions};
use crate::error::{ApiError, ApiResult};
use crate::handles::{Handle, Object, lock};
use hinet_protocol::consts::{hinet_option, http_protocol, option, security_flag};
use hinet_protocol::{ClientCertPem, OptionValue, ProxyInfo, ServerCertInfo};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

pub struct SessionNet {
    pub proxy: Mutex<ProxySetting>,
    /// WINHTTP_FLAG_SECURE_PROTOCOL_* bits as set (checked when set).
    pub secure_protocols: AtomicU32,
    /// WINHTTP_PROTOCOL_FLAG_* bits; requests copy them when opened.
    pub http_protocol: AtomicU32,
    pub client_cert: Mutex<ClientCert>,
}

impl SessionNet {
    pub fn new(proxy: ProxySetting) -> Self {
        SessionNet {
            proxy: Mutex::new(proxy),
            secure_protocols: AtomicU32::new(TlsVersions::DEFAULT_BITS),
            http_protocol: AtomicU32::new(0),
            client_cert: Mutex::new(ClientCert::Unset),
        }
    }
}

pub struct RequestNet {
    pub http_protocol: AtomicU32,
    /// The request's own proxy setting, over the session's.
    pub proxy: Mutex<Option<ProxySetting>>,
    /// The request's own client certificate choice, over the session's.
    pub client_cert: Mutex<Option<ClientCert>>,
    /// The connection of the last send.
    pub conn: Mutex<Option<Arc<ConnInfo>>>,
}

impl RequestNet {
    pub fn new(session: &SessionNet) -> Self {
        RequestNet {
            http_protocol: AtomicU32::new(session.http_protocol.load(Ordering::Relaxed)),
            proxy: Mutex::new(None),
            client_cert: Mutex::new(None),
            conn: Mutex::new(None),
        }
    }
}

/// Everything that decides which connection may carry `request` to `target`.
pub fn pool_key(h: &Handle, request: &Request, target: &Target) -> ApiResult<PoolKey> {
    let session = h.session();
    let setting = lock(&request.net.proxy)
        .clone()
        .unwrap_or_else(|| lock(&session.net.proxy).clone());
    let proxy = setting.route(target)?;
    let tls = if target.secure {
        let bits = session.net.secure_protocols.load(Ordering::Relaxed);
        TlsSettings {
            ignore_flags: request.security_flags.load(Ordering::Relaxed)
                & security_flag::IGNORE_ALL_CERT_ERRORS,
            // The bits were checked when set; the default stands in should they not parse.
            versions: TlsVersions::from_bits(bits).unwrap_or_default(),
            http2: request.net.http_protocol.load(Ordering::Relaxed) & http_protocol::HTTP2 != 0,
            client_cert: lock(&request.net.client_cert)
                .clone()
                .unwrap_or_else(|| lock(&session.net.client_cert).clone()),
        }
    } else {
        TlsSettings::default()
    };
    // What goes with CONNECT when it tunnels: the application's own Proxy-Authorization
    // header, else what its proxy credentials (WinHttpSetCredentials) answer. (Two
    // statements: the request's core is not locked while the credentials are.)
    let tunnel_auth = match &proxy {
        Some(p) if p.kind == ProxyKind::Http && target.secure => {
            let own = lock(&request.core)
                .headers
                .get("Proxy-Authorization")
                .map(str::to_owned);
            own.or_else(|| super::auth::connect_authorization(request, p, target))
        }
        _ => None,
    };
    Ok(PoolKey {
        target: target.clone(),
        tls,
        proxy,
        tunnel_auth,
    })
}

/// Notes the connection a send went out on, for the options that report it. Over HTTP/2
/// the connection-specific headers were not sent, so the request's sent headers lose them.
pub fn connected(request: &Request, conn: &Connection) {
    *lock(&request.net.conn) = Some(conn.info.clone());
    if conn.is_http2()
        && let Some(sent) = lock(&request.core).sent_headers.as_mut()
    {
        const DROPPED: [&str; 5] = [
            "Connection",
            "Keep-Alive",
            "Proxy-Connection",
            "Transfer-Encoding",
            "Upgrade",
        ];
        sent.0
            .retain(|(n, _)| !DROPPED.iter().any(|d| n.eq_ignore_ascii_case(d)));
    }
}

/// Whether this module answers option `opt`.
pub fn handles_option(opt: u32) -> bool {
    matches!(
        opt,
        option::PROXY
            | option::CLIENT_CERT_CONTEXT
            | option::SERVER_CERT_CONTEXT
            | option::SECURE_PROTOCOLS
            | option::ENABLE_HTTP_PROTOCOL
            | option::HTTP_PROTOCOL_USED
            | hinet_option::CLIENT_CERT_PEM
    )
}

/// WinHttpSetOption for this module's options; `number` reads a DWORD value with the
/// common size checks.
pub fn set_option(
    ctx: &Ctx<'_>,
    h: &Handle,
    opt: u32,
    value: &OptionValue,
    number: &dyn Fn() -> ApiResult<u64>,
) -> ApiResult<()> {
    match opt {
        option::PROXY => {
            let ProxyInfo {
                access_type,
                proxy,
                bypass,
            } = match value {
                OptionValue::Proxy(info) => info,
                other => {
                    return Err(ApiError::invalid_parameter(format!(
                        "PROXY takes {{accessType, proxy, bypass}}, not {other:?}"
                    )));
                }
            };
            let setting =
                ProxySetting::from_winhttp(*access_type, proxy.as_deref(), bypass.as_deref())?;
            match &h.object {
                Object::Session(s) => *lock(&s.net.proxy) = setting,
                Object::Request(r) => *lock(&r.net.proxy) = Some(setting),
                Object::Connect(_) => return Err(h.wrong_type("session or request")),
            }
        }
        option::SECURE_PROTOCOLS => {
            let session = h.as_session()?;
            let bits = number()? as u32;
            TlsVersions::from_bits(bits).map_err(ApiError::invalid_parameter)?;
            session.net.secure_protocols.store(bits, Ordering::Relaxed);
        }
        option::ENABLE_HTTP_PROTOCOL => {
            let slot = match &h.object {
                Object::Session(s) => &s.net.http_protocol,
                Object::Request(r) => &r.net.http_protocol,
                Object::Connect(_) => return Err(h.wrong_type("session or request")),
            };
            let bits = number()? as u32;
            let known = http_protocol::HTTP2 | http_protocol::HTTP3;
            if bits & !known != 0 {
                return Err(ApiError::invalid_parameter(format!(
                    "unknown ENABLE_HTTP_PROTOCOL bits {:#x} (HTTP2 1, HTTP3 2)",
                    bits & !known
                )));
            }
            // HTTP3 is accepted, as a wish WinHTTP too may not grant; hinetd never uses it.
            slot.store(bits, Ordering::Relaxed);
        }
        option::CLIENT_CERT_CONTEXT => {
            let request = h.as_request()?;
            // Only WINHTTP_NO_CLIENT_CERT_CONTEXT has a meaning without Windows' store.
            if *value != OptionValue::Null {
                return Err(ApiError::invalid_parameter(
                    "CLIENT_CERT_CONTEXT takes only null (no certificate); give a certificate \
                     with HINET_OPTION_CLIENT_CERT_PEM",
                ));
            }
            *lock(&request.net.client_cert) = Some(ClientCert::Declined);
        }
        hinet_option::CLIENT_CERT_PEM => {
            let choice = match value {
                OptionValue::Null => ClientCert::Declined,
                OptionValue::ClientCert(ClientCertPem { cert_pem, key_pem }) => {
                    identity(ctx, cert_pem, key_pem)?
                }
                // One PEM text holding both the certificate and the key.
                OptionValue::Text(pem) => identity(ctx, pem, pem)?,
                other => {
                    return Err(ApiError::invalid_parameter(format!(
                        "HINET_OPTION_CLIENT_CERT_PEM takes {{certPem, keyPem}}, PEM text or \
                         null, not {other:?}"
                    )));
                }
            };
            match &h.object {
                Object::Session(s) => *lock(&s.net.client_cert) = choice,
                Object::Request(r) => *lock(&r.net.client_cert) = Some(choice),
                Object::Connect(_) => return Err(h.wrong_type("session or request")),
            }
        }
        other => return Err(ApiError::InvalidOption(other)),
    }
    Ok(())
}

fn identity(ctx: &Ctx<'_>, cert_pem: &str, key_pem: &str) -> ApiResult<ClientCert> {
    let id = ctx
        .daemon
        .tls
        .client_identity(cert_pem, key_pem)
        .map_err(ApiError::invalid_parameter)?;
    Ok(ClientCert::Present(Arc::new(id)))
}

/// WinHttpQueryOption for this module's options.
pub fn query_option(h: &Handle, opt: u32) -> ApiResult<OptionValue> {
    match opt {
        option::PROXY => {
            let setting = match &h.object {
                Object::Session(s) => lock(&s.net.proxy).clone(),
                Object::Request(r) => lock(&r.net.proxy)
                    .clone()
                    .unwrap_or_else(|| lock(&h.session().net.proxy).clone()),
                Object::Connect(_) => return Err(h.wrong_type("session or request")),
            };
            let (access_type, proxy, bypass) = setting.describe();
            Ok(OptionValue::Proxy(ProxyInfo {
                access_type,
                proxy,
                bypass,
            }))
        }
        option::SECURE_PROTOCOLS => {
            let session = h.as_session()?;
            let bits = session.net.secure_protocols.load(Ordering::Relaxed);
            Ok(OptionValue::Number(u64::from(bits)))
        }
        option::HTTP_PROTOCOL_USED => {
            let request = h.as_request()?;
            let http2 = lock(&request.net.conn).as_ref().is_some_and(|c| c.http2);
            Ok(OptionValue::Number(if http2 {
                u64::from(http_protocol::HTTP2)
            } else {
                0
            }))
        }
        option::SERVER_CERT_CONTEXT => {
            let request = h.as_request()?;
            let cert = lock(&request.net.conn)
                .as_ref()
                .and_then(|c| c.server_cert.clone());
            let Some(der) = cert else {
                // No TLS handshake yet (or a plain HTTP request): WinHTTP's answer too.
                return Err(ApiError::IncorrectHandleState {
                    call: "WinHttpQueryOption(SERVER_CERT_CONTEXT)",
                    state: lock(&request.core).state,
                });
            };
            let summary =
                certinfo::summarize(&der).map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(OptionValue::ServerCert(ServerCertInfo {
                subject: summary.subject,
                issuer: summary.issuer,
                not_before: summary.not_before,
                not_after: summary.not_after,
                der: der.as_ref().to_vec().into(),
            }))
        }
        other => Err(ApiError::invalid_parameter(format!(
            "option {other} cannot be queried"
        ))),
    }
}
