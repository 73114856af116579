//! Session and connect handles: `WinHttpOpen`, `WinHttpConnect`, `WinHttpOpenRequest`.

use crate::client::{Client, Deferred};
use crate::error::Result;
use crate::handle::{HandleInner, handle_methods};
use crate::request::Request;
use crate::route::{Notifications, Route};
use hinet_protocol::consts::open_flag;
use hinet_protocol::status::flag;
use hinet_protocol::{
    ConnectParams, OpenParams, OpenRequestParams, SetTimeoutsParams, WinHttpConnect, WinHttpOpen,
    WinHttpOpenRequest, WinHttpSetTimeouts,
};
use std::sync::Arc;

/// A session handle (`WinHttpOpen`): settings, a connection pool, sync or async mode.
///
/// In an async session (`flags` with `open_flag::ASYNC`) every request operation answers
/// at once in the daemon and completes later through a status callback; this type installs
/// that callback when it opens the session, and the request methods await their completion,
/// so the code reads the same in both modes.
///
/// ```no_run
/// use hinet_client::{Client, OpenParams, Session};
/// # async fn demo() -> hinet_client::Result<()> {
/// let client = Client::connect_default().await?;
/// let session = Session::open(&client, OpenParams {
///     user_agent: Some("demo/1".into()),
///     ..Default::default()
/// })
/// .await?;
/// let connection = session.connect("127.0.0.1", 8000).await?;
/// let mut request = connection.open_request("GET", "/", 0).await?;
/// request.send(None, &[], 0).await?;
/// request.receive_response().await?;
/// println!("{}", request.status_code().await?);
/// let body = request.read_to_end().await?;
/// # let _ = body;
/// session.close().await?;
/// # Ok(()) }
/// ```
pub struct Session {
    h: Arc<HandleInner>,
    is_async: bool,
}

handle_methods!(Session);

impl Session {
    /// `WinHttpOpen`.
    pub async fn open(client: &Client, params: OpenParams) -> Result<Session> {
        let is_async = params.flags & open_flag::ASYNC != 0;
        let id = client.call::<WinHttpOpen>(&params).await?.handle;
        if !is_async {
            return Ok(Session {
                h: HandleInner::new(id, client.clone(), None, None),
                is_async,
            });
        }
        // Before any child exists, so every connect and request handle inherits it.
        let route = Route::new(id);
        if let Err(e) = client
            .install(id, flag::ALL_NOTIFICATIONS, route.clone())
            .await
        {
            client.defer(Deferred::Close(id));
            return Err(e);
        }
        let h = HandleInner::new(id, client.clone(), Some(route.clone()), None);
        let _ = h.own_route.set(route);
        Ok(Session { h, is_async })
    }

    /// Whether the session was opened with `open_flag::ASYNC`.
    pub fn is_async(&self) -> bool {
        self.is_async
    }

    /// `WinHttpConnect`: names the server (no network I/O happens yet). Port 0 picks 80 or
    /// 443 from each request's SECURE flag.
    pub async fn connect(&self, host: &str, port: u16) -> Result<Connection> {
        let id = self
            .h
            .client
            .call::<WinHttpConnect>(&ConnectParams {
                handle: self.h.id,
                server_name: Some(host.to_owned()),
                server_port: port,
            })
            .await?
            .handle;
        Ok(Connection {
            h: HandleInner::new(
                id,
                self.h.client.clone(),
                self.h.route.clone(),
                Some(self.h.clone()),
            ),
            is_async: self.is_async,
        })
    }

    /// `WinHttpSetTimeouts`, in milliseconds (0 or -1: no limit). Requests opened later
    /// take these values.
    pub async fn set_timeouts(
        &self,
        resolve_ms: i32,
        connect_ms: i32,
        send_ms: i32,
        receive_ms: i32,
    ) -> Result<()> {
        set_timeouts(&self.h, resolve_ms, connect_ms, send_ms, receive_ms).await
    }

    /// The status callbacks of this session and of every handle created under it from now
    /// on, filtered by `mask` (`status::flag::*`, or `u32::MAX` for all).
    ///
    /// The session keeps one callback for all its streams: an async session's is installed
    /// when it opens; a sync session's at the first call of this method, so handles created
    /// before that call report nothing. The stream ends after the session's HANDLE_CLOSING.
    pub async fn notifications(&self, mask: u32) -> Result<Notifications> {
        let route = self
            .h
            .own_route
            .get_or_try_init(|| async {
                let route = Route::new(self.h.id);
                self.h
                    .client
                    .install(self.h.id, flag::ALL_NOTIFICATIONS, route.clone())
                    .await?;
                Ok::<_, crate::Error>(route)
            })
            .await?;
        Ok(route.tap(mask))
    }
}

/// A connect handle (`WinHttpConnect`): one server, for any number of requests.
pub struct Connection {
    h: Arc<HandleInner>,
    is_async: bool,
}

handle_methods!(Connection);

impl Connection {
    /// `WinHttpOpenRequest` with a verb (empty = GET), a path with query (empty = "/") and
    /// `consts::request_flag` bits (SECURE for HTTPS).
    pub async fn open_request(&self, verb: &str, path: &str, flags: u32) -> Result<Request> {
        self.open_request_with(OpenRequestParams {
            verb: (!verb.is_empty()).then(|| verb.to_owned()),
            object_name: (!path.is_empty()).then(|| path.to_owned()),
            flags,
            ..Default::default()
        })
        .await
    }

    /// `WinHttpOpenRequest` with every parameter (`handle` is filled in).
    pub async fn open_request_with(&self, mut params: OpenRequestParams) -> Result<Request> {
        params.handle = self.h.id;
        let id = self
            .h
            .client
            .call::<WinHttpOpenRequest>(&params)
            .await?
            .handle;
        Ok(Request::new(
            HandleInner::new(
                id,
                self.h.client.clone(),
                self.h.route.clone(),
                Some(self.h.clone()),
            ),
            self.is_async,
        ))
    }
}

pub(crate) async fn set_timeouts(
    h: &HandleInner,
    resolve_ms: i32,
    connect_ms: i32,
    send_ms: i32,
    receive_ms: i32,
) -> Result<()> {
    h.client
        .call::<WinHttpSetTimeouts>(&SetTimeoutsParams {
            handle: h.id,
            resolve_timeout: resolve_ms,
            connect_timeout: connect_ms,
            send_timeout: send_ms,
            receive_timeout: receive_ms,
        })
        .await
        .map(|_| ())
}
