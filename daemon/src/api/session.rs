//! WinHttpOpen: sessions, and the settings their connects and requests inherit.

use super::Ctx;
use crate::engine::Pool;
use crate::error::{ApiError, ApiResult};
use crate::handles::{Object, lock};
use hinet_protocol::consts::{open_flag, redirect_policy};
use hinet_protocol::{HandleResult, OpenParams};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};

/// WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS default.
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;
use std::time::Duration;

/// WinHTTP's timeouts in milliseconds, as set and queried (0 or -1: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub resolve: i32,
    pub connect: i32,
    pub send: i32,
    pub receive: i32,
    pub receive_response: i32,
}

impl Default for Timeouts {
    /// WinHTTP's documented defaults: no resolve limit, 60 s connect, 30 s send and receive.
    /// The receive-response limit reads back as 0xFFFFFFFF (-1) as on Windows.
    fn default() -> Self {
        Timeouts {
            resolve: 0,
            connect: 60_000,
            send: 30_000,
            receive: 30_000,
            receive_response: -1,
        }
    }
}

impl Timeouts {
    pub fn limits(&self) -> crate::engine::Limits {
        crate::engine::Limits {
            resolve: as_duration(self.resolve),
            connect: as_duration(self.connect),
            send: as_duration(self.send),
            receive: as_duration(self.receive),
        }
    }
}

fn as_duration(ms: i32) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms as u64))
}

pub struct Session {
    pub flags: u32,
    pub user_agent: Mutex<Option<String>>,
    /// Read live by connect handles, copied by requests at creation.
    pub timeouts: Mutex<Timeouts>,
    pub pool: Arc<Pool>,
    /// Copied by requests at creation (reference §1.6).
    pub redirect_policy: AtomicU32,
    pub max_redirects: AtomicU32,
    /// Proxy, TLS versions, HTTP/2, client certificate.
    pub net: Box<super::net::SessionNet>,
    /// The cookie jar and stored option values.
    pub extras: super::features::SessionExtras,
}

impl Session {
    pub fn is_async(&self) -> bool {
        self.flags & open_flag::ASYNC != 0
    }

    pub fn user_agent(&self) -> Option<String> {
        lock(&self.user_agent).clone()
    }

    pub fn timeouts(&self) -> Timeouts {
        *lock(&self.timeouts)
    }
}

pub async fn open(ctx: Ctx<'_>, p: OpenParams) -> ApiResult<HandleResult> {
    // proxyName and proxyBypass mean something only with NAMED_PROXY.
    let proxy = crate::engine::proxy::ProxySetting::from_winhttp(
        p.access_type,
        p.proxy_name.as_deref(),
        p.proxy_bypass.as_deref(),
    )?;
    let known = open_flag::SECURE_DEFAULTS;
    if p.flags & !known != 0 {
        return Err(ApiError::invalid_parameter(format!(
            "unknown WinHttpOpen flags {:#x}",
            p.flags & !known
        )));
    }
    let session = Session {
        flags: p.flags,
        user_agent: Mutex::new(p.user_agent.filter(|ua| !ua.is_empty())),
        timeouts: Mutex::new(Timeouts::default()),
        pool: Arc::new(Pool::default()),
        redirect_policy: AtomicU32::new(redirect_policy::DISALLOW_HTTPS_TO_HTTP),
        max_redirects: AtomicU32::new(DEFAULT_MAX_REDIRECTS),
        net: Box::new(super::net::SessionNet::new(proxy)),
        extras: super::features::SessionExtras::default(),
    };
    let h = ctx
        .daemon
        .handles
        .insert(ctx.client, None, Object::Session(session))?;
    Ok(HandleResult { handle: h.id })
}
