//! WinHttpOpenRequest, WinHttpSendRequest and WinHttpReceiveResponse: a request's life up to
//! its response headers.

use super::headers::{HeaderList, MessageHead, parse_block};
use super::session::Timeouts;
use super::{Ctx, Outcome, redirect, run_request_op};
use crate::engine::body::{Download, Upload, empty_body, full_body};
use crate::engine::decode::ResponseBody;
use crate::engine::pool::ReqBody;
use crate::engine::{Connection, Progress, ProgressSink, Target, map_hyper_error, within};
use crate::error::{ApiError, ApiResult};
use crate::handles::{Handle, Object, RequestState, lock};
use bytes::Bytes;
use hinet_protocol::callback::StatusInfo;
use hinet_protocol::consts::{addreq, disable, request_flag};
use hinet_protocol::status::{self, api};
use hinet_protocol::{
    Empty, HandleResult, OpenRequestParams, ReceiveResponseParams, SendRequestParams,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

type ResponseFuture =
    Pin<Box<dyn Future<Output = hyper::Result<http::Response<hyper::body::Incoming>>> + Send>>;

/// A request sent and awaiting ReceiveResponse.
pub struct InFlight {
    response: ResponseFuture,
    conn: Connection,
}

/// The mutable part of a request. Operations take pieces out, work without the lock, and
/// put results back.
pub struct Core {
    pub state: RequestState,
    /// Headers added by AddRequestHeaders and SendRequest.
    pub headers: HeaderList,
    pub upload: Option<Upload>,
    pub in_flight: Option<InFlight>,
    pub response: Option<MessageHead>,
    pub download: Option<ResponseBody>,
    /// The URL of the last send (WINHTTP_OPTION_URL).
    pub url: String,
    /// The headers of the last send, as sent, for FLAG_REQUEST_HEADERS queries.
    pub sent_headers: Option<HeaderList>,
    /// Where a followed redirect moved the request (later sends go there too, as in
    /// WinHTTP); None = the connect handle's server and the opened path.
    pub location: Option<(Target, String)>,
    /// The method of the last request sent, when a redirect changed it (POST → GET).
    pub sent_verb: Option<String>,
    /// The body of the last send, when it can be sent again for a 307/308 redirect (not
    /// when it was streamed through WriteData).
    pub replay: Option<Bytes>,
}

pub struct Request {
    pub verb: String,
    /// Path and query as sent in the request line.
    pub path: String,
    pub version: http::Version,
    pub flags: u32,
    pub referrer: Option<String>,
    pub accept: Option<String>,
    /// A snapshot of the session's timeouts at creation; SetTimeouts on the request changes
    /// only this.
    pub timeouts: Mutex<Timeouts>,
    pub security_flags: AtomicU32,
    /// WINHTTP_DISABLE_* bits, ORed cumulatively.
    pub disabled: AtomicU32,
    /// WINHTTP_OPTION_REDIRECT_POLICY and MAX_HTTP_AUTOMATIC_REDIRECTS, copied from the
    /// session at creation.
    pub redirect_policy: AtomicU32,
    pub max_redirects: AtomicU32,
    /// Proxy, HTTP/2 and client certificate settings, and the connection last used.
    pub net: super::net::RequestNet,
    /// Cookies, credentials, decompression and stored option values.
    pub extras: super::features::RequestExtras,
    pub core: Mutex<Core>,
}

impl Request {
    pub fn secure(&self) -> bool {
        self.flags & request_flag::SECURE != 0
    }

    pub fn timeouts(&self) -> Timeouts {
        *lock(&self.timeouts)
    }

    pub fn target(&self, handle: &Handle) -> Target {
        let (host, port) = handle
            .connect()
            .map(|c| (c.server_name.clone(), c.server_port))
            .unwrap_or_default();
        let secure = self.secure();
        let port = match port {
            0 if secure => 443,
            0 => 80,
            p => p,
        };
        Target { secure, host, port }
    }

    /// Where the next send goes: the redirect location, or the connect handle's server and
    /// the opened path.
    pub fn current(&self, handle: &Handle, core: &Core) -> (Target, String) {
        core.location
            .clone()
            .unwrap_or_else(|| (self.target(handle), self.path.clone()))
    }

    /// The request line and headers as they are (or would be) sent.
    pub fn request_head(&self, handle: &Handle) -> MessageHead {
        let core = lock(&self.core);
        let headers = match &core.sent_headers {
            Some(sent) => sent.clone(),
            None => {
                let (target, _) = self.current(handle, &core);
                self.wire_headers(handle, &core.headers, None, &target)
            }
        };
        MessageHead {
            start_line: format!("{} {} {}", self.verb, self.path, version_text(self.version)),
            version: version_text(self.version).to_owned(),
            headers,
            ..MessageHead::default()
        }
    }

    /// Every header of the request in wire order: the application's, then those WinHTTP
    /// adds itself (reference §2.1).
    fn wire_headers(
        &self,
        handle: &Handle,
        app: &HeaderList,
        content_length: Option<u64>,
        target: &Target,
    ) -> HeaderList {
        let mut h = HeaderList::default();
        if let Some(a) = &self.accept {
            h.push("Accept", a);
        }
        if let Some(r) = &self.referrer {
            h.push("Referer", r);
        }
        h.0.extend(app.0.iter().cloned());
        if !h.contains("User-Agent")
            && let Some(ua) = handle.session().user_agent()
        {
            h.push("User-Agent", &ua);
        }
        if !h.contains("Host") {
            h.push("Host", &target.authority());
        }
        if let Some(n) = content_length
            && !h.contains("Content-Length")
            && !h.contains("Transfer-Encoding")
        {
            h.push("Content-Length", &n.to_string());
        }
        let keep_alive = self.disabled.load(Ordering::Relaxed) & disable::KEEP_ALIVE == 0;
        if !h.contains("Connection") && self.version == http::Version::HTTP_11 {
            h.push(
                "Connection",
                if keep_alive { "Keep-Alive" } else { "Close" },
            );
        }
        h
    }
}

fn version_text(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2",
        _ => "HTTP/1.1",
    }
}

pub async fn open_request(ctx: Ctx<'_>, p: OpenRequestParams) -> ApiResult<HandleResult> {
    let connect = ctx.handle(p.handle)?;
    connect.as_connect()?;
    let verb = p
        .verb
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "GET".into());
    if !verb.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid_parameter(format!(
            "invalid verb {verb:?}"
        )));
    }
    let version = match p.version.as_deref() {
        None | Some("") | Some("HTTP/1.1") => http::Version::HTTP_11,
        Some("HTTP/1.0") => http::Version::HTTP_10,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "HTTP version {other:?} (HTTP/1.0 or HTTP/1.1)"
            )));
        }
    };
    let path = escape_path(p.object_name.as_deref().unwrap_or("/"), p.flags);
    let accept = p
        .accept_types
        .filter(|t| !t.is_empty())
        .map(|t| t.join(", "));
    let session = connect.session();
    let timeouts = session.timeouts();
    let request = Request {
        verb,
        path,
        version,
        flags: p.flags,
        referrer: p.referrer.filter(|r| !r.is_empty()),
        accept,
        timeouts: Mutex::new(timeouts),
        security_flags: AtomicU32::new(0),
        disabled: AtomicU32::new(0),
        redirect_policy: AtomicU32::new(session.redirect_policy.load(Ordering::Relaxed)),
        max_redirects: AtomicU32::new(session.max_redirects.load(Ordering::Relaxed)),
        net: super::net::RequestNet::new(&session.net),
        extras: super::features::RequestExtras::new(&session.extras),
        core: Mutex::new(Core {
            state: RequestState::Open,
            headers: HeaderList::default(),
            upload: None,
            in_flight: None,
            response: None,
            download: None,
            url: String::new(),
            sent_headers: None,
            location: None,
            sent_verb: None,
            replay: None,
        }),
    };
    let h = ctx.daemon.handles.insert(
        ctx.client,
        Some(connect),
        Object::Request(Box::new(request)),
    )?;
    h.callback.notify(
        h.id,
        h.context(),
        status::HANDLE_CREATED,
        StatusInfo::Handle { handle: h.id },
    );
    if let Ok(r) = h.as_request() {
        lock(&r.core).url = r.target(&h).url(&r.path);
    }
    Ok(HandleResult { handle: h.id })
}

/// Adds the leading "/" and percent-escapes what may not appear raw in a request target:
/// spaces and control and non-ASCII bytes, and `%` too with ESCAPE_PERCENT. ESCAPE_DISABLE
/// sends the path as given; ESCAPE_DISABLE_QUERY leaves the query alone.
fn escape_path(object: &str, flags: u32) -> String {
    let object = if object.starts_with('/') || object == "*" {
        object.to_owned()
    } else {
        format!("/{object}")
    };
    if flags & request_flag::ESCAPE_DISABLE != 0 {
        return object;
    }
    let (path, query) = match object.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (object.as_str(), None),
    };
    let escape = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            let plain =
                b.is_ascii_graphic() && !(b == b'%' && flags & request_flag::ESCAPE_PERCENT != 0);
            if plain {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    let mut out = escape(path);
    if let Some(q) = query {
        out.push('?');
        if flags & request_flag::ESCAPE_DISABLE_QUERY != 0 {
            out.push_str(q);
        } else {
            out.push_str(&escape(q));
        }
    }
    out
}

/// Reports engine progress as the request's informational status callbacks.
pub struct RequestProgress<'a>(pub &'a Handle);

impl ProgressSink for RequestProgress<'_> {
    fn admit(&self, target: &Target, addrs: &[std::net::SocketAddr]) -> ApiResult<()> {
        crate::policy::admit(&self.0.account, target, addrs)
    }

    fn restricts_egress(&self) -> bool {
        !self.0.account.policy.is_permissive()
    }

    fn progress(&self, event: Progress) {
        let (s, info) = match event {
            Progress::ResolvingName(name) => (status::RESOLVING_NAME, StatusInfo::Name { name }),
            Progress::NameResolved(a) => (
                status::NAME_RESOLVED,
                StatusInfo::Address {
                    address: a.ip().to_string(),
                },
            ),
            Progress::ConnectingToServer(a) => (
                status::CONNECTING_TO_SERVER,
                StatusInfo::Address {
                    address: a.ip().to_string(),
                },
            ),
            Progress::ConnectedToServer(a) => (
                status::CONNECTED_TO_SERVER,
                StatusInfo::Address {
                    address: a.ip().to_string(),
                },
            ),
            Progress::SecureFailure(flags) => (status::SECURE_FAILURE, StatusInfo::Flags { flags }),
        };
        self.notify(s, info);
    }
}

impl RequestProgress<'_> {
    pub fn notify(&self, s: u32, info: StatusInfo) {
        self.0.callback.notify(self.0.id, self.0.context(), s, info);
    }
}

/// Checks SendRequest's arguments and decides how the body travels.
enum BodyPlan {
    None,
    Full(Bytes),
    Fixed { total: u64, first: Bytes },
    AppChunked,
}

pub async fn send_request(ctx: Ctx<'_>, p: SendRequestParams) -> ApiResult<Outcome<Empty>> {
    let h = ctx.handle(p.handle)?;
    let request = h.as_request()?;
    let extra: Vec<(String, String)> = match p.headers.as_deref() {
        Some(block) => parse_block(block)?
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
        None => Vec::new(),
    };
    let optional = Bytes::from(p.optional.map(|o| o.into_inner()).unwrap_or_default());
    let chunked = {
        let core = lock(&request.core);
        let te = core
            .headers
            .get("Transfer-Encoding")
            .or_else(|| {
                extra
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("Transfer-Encoding"))
                    .map(|(_, v)| v.as_str())
            })
            .map(str::to_owned);
        te.is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    };
    // An application's own Content-Length header announces the body as totalLength does
    // (the way to send more than 4 GiB); both given and different → 87 (reference §2.1).
    let total_length = match app_content_length(request, &extra)? {
        Some(n) if !chunked => {
            if p.total_length != 0 && p.total_length != n {
                return Err(ApiError::invalid_parameter(format!(
                    "totalLength {} disagrees with the Content-Length header {n}",
                    p.total_length
                )));
            }
            if (optional.len() as u64) > n {
                return Err(ApiError::invalid_parameter(format!(
                    "the {} optional bytes exceed the Content-Length header {n}",
                    optional.len()
                )));
            }
            n
        }
        _ => p.total_length,
    };
    let plan = if chunked {
        if !optional.is_empty() || p.total_length != 0 {
            return Err(ApiError::invalid_parameter(
                "with Transfer-Encoding: chunked, optional must be empty and totalLength 0; \
                 the body comes through WinHttpWriteData",
            ));
        }
        if request.verb.eq_ignore_ascii_case("GET") || request.verb.eq_ignore_ascii_case("HEAD") {
            return Err(ApiError::invalid_parameter(format!(
                "a {} request cannot have a chunked body",
                request.verb
            )));
        }
        BodyPlan::AppChunked
    } else if total_length > optional.len() as u64 {
        BodyPlan::Fixed {
            total: total_length,
            first: optional,
        }
    } else if total_length != 0 && total_length < optional.len() as u64 {
        return Err(ApiError::invalid_parameter(format!(
            "totalLength {} is smaller than the {} optional bytes",
            total_length,
            optional.len()
        )));
    } else if optional.is_empty() {
        BodyPlan::None
    } else {
        BodyPlan::Full(optional)
    };
    if p.context != 0 {
        h.context.store(p.context, Ordering::Relaxed);
    }
    let daemon = ctx.daemon.clone();
    run_request_op(
        h,
        api::SEND_REQUEST,
        move |h| async move { do_send(&daemon, &h, extra, plan).await },
        |_| (status::SENDREQUEST_COMPLETE, StatusInfo::Empty {}),
    )
    .await
}

/// The Content-Length the application set itself (SendRequest's headers win, as they
/// replace), if any; a value that is not a number → 87.
fn app_content_length(request: &Request, extra: &[(String, String)]) -> ApiResult<Option<u64>> {
    let value = match extra
        .iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
    {
        Some((_, v)) => v.clone(),
        None => match lock(&request.core).headers.get("Content-Length") {
            Some(v) => v.to_owned(),
            None => return Ok(None),
        },
    };
    value.trim().parse::<u64>().map(Some).map_err(|_| {
        ApiError::invalid_parameter(format!("Content-Length {value:?} is not a number"))
    })
}

async fn do_send(
    daemon: &crate::state::Daemon,
    h: &Handle,
    extra: Vec<(String, String)>,
    plan: BodyPlan,
) -> ApiResult<Empty> {
    let request = h.as_request()?;
    let progress = RequestProgress(h);
    let (req, body_bytes, upload, url) = {
        let mut core = lock(&request.core);
        match core.state {
            RequestState::Sending | RequestState::Receiving | RequestState::BodyPending => {
                return Err(ApiError::IncorrectHandleState {
                    call: "WinHttpSendRequest",
                    state: core.state,
                });
            }
            _ => {}
        }
        core.state = RequestState::Sending;
        // A resend drops whatever the previous exchange left.
        core.in_flight = None;
        core.response = None;
        core.download = None;
        if let Some(u) = core.upload.take() {
            u.finish();
        }
        // SendRequest's headers merge with ADD|REPLACE (reference §2.1), so a resend with
        // the same header carries the new value rather than both. (With these flags
        // `apply` cannot fail.)
        for (n, v) in &extra {
            let _ = core
                .headers
                .apply(n, v, addreq::FLAG_ADD | addreq::FLAG_REPLACE);
        }
        core.sent_verb = None;
        core.replay = match &plan {
            BodyPlan::None => Some(Bytes::new()),
            BodyPlan::Full(b) => Some(b.clone()),
            BodyPlan::Fixed { .. } | BodyPlan::AppChunked => None,
        };
        let (content_length, body, upload, sent_body) = match plan {
            BodyPlan::None => {
                let cl = (!is_bodyless_verb(&request.verb)).then_some(0);
                (cl, empty_body(), None, 0)
            }
            BodyPlan::Full(b) => {
                let n = b.len() as u64;
                (Some(n), full_body(b), None, n)
            }
            BodyPlan::Fixed { total, first } => {
                let n = first.len() as u64;
                let (u, body) = Upload::fixed(total, first);
                (Some(total), body, Some(u), n)
            }
            BodyPlan::AppChunked => {
                let (u, body) = Upload::app_chunked();
                (None, body, Some(u), 0)
            }
        };
        let (target, path) = request.current(h, &core);
        let mut headers = request.wire_headers(h, &core.headers, content_length, &target);
        super::features::decorate(h, request, &mut headers, &request.verb, &path, &target);
        let url = target.url(&path);
        core.url = url.clone();
        core.sent_headers = Some(headers.clone());
        let req = match build_request(request, &request.verb, &path, &headers, body) {
            Ok(req) => req,
            Err(e) => {
                // Refused before anything went out: FAILED rather than stuck in SENDING,
                // so the application can fix the request and send it again.
                core.state = RequestState::Failed;
                return Err(e);
            }
        };
        let head_bytes = head_size(&request.verb, &path, request.version, &headers);
        (req, head_bytes + sent_body, upload, (url, target))
    };
    let (url, target) = url;
    let result = send_on_connection(daemon, h, request, req, &target, &progress).await;
    let mut core = lock(&request.core);
    match result {
        Ok(in_flight) => {
            progress.notify(
                status::REQUEST_SENT,
                StatusInfo::Bytes { bytes: body_bytes },
            );
            core.state = RequestState::Sent;
            core.in_flight = Some(in_flight);
            core.upload = upload;
            tracing::debug!(handle = h.id, %url, "request sent");
            Ok(Empty {})
        }
        Err(e) => {
            core.state = RequestState::Failed;
            Err(e)
        }
    }
}

async fn send_on_connection(
    daemon: &crate::state::Daemon,
    h: &Handle,
    request: &Request,
    req: http::Request<ReqBody>,
    target: &Target,
    progress: &RequestProgress<'_>,
) -> ApiResult<InFlight> {
    let limits = request.timeouts().limits();
    let session = h.session();
    let keep_alive = request.disabled.load(Ordering::Relaxed) & disable::KEEP_ALIVE == 0;
    let key = super::net::pool_key(h, request, target)?;
    let mut conn = session
        .pool
        .get(&daemon.tls, key, &limits, progress, keep_alive)
        .await?;
    super::net::connected(request, &conn);
    progress.notify(status::SENDING_REQUEST, StatusInfo::Empty {});
    let response = Box::pin(conn.send(req));
    Ok(InFlight { response, conn })
}

fn is_bodyless_verb(verb: &str) -> bool {
    verb.eq_ignore_ascii_case("GET") || verb.eq_ignore_ascii_case("HEAD")
}

fn build_request(
    request: &Request,
    verb: &str,
    path: &str,
    headers: &HeaderList,
    body: ReqBody,
) -> ApiResult<http::Request<ReqBody>> {
    let mut builder = http::Request::builder()
        .method(verb)
        .uri(path)
        .version(request.version);
    for (n, v) in &headers.0 {
        builder = builder.header(n.as_str(), v.as_str());
    }
    builder
        .body(body)
        .map_err(|e| ApiError::invalid_parameter(format!("cannot build the request: {e}")))
}

/// The size of the request head on the wire, for REQUEST_SENT.
fn head_size(verb: &str, path: &str, version: http::Version, headers: &HeaderList) -> u64 {
    let line = verb.len() + 1 + path.len() + 1 + version_text(version).len() + 2;
    let fields: usize = headers
        .0
        .iter()
        .map(|(n, v)| n.len() + 2 + v.len() + 2)
        .sum();
    (line + fields + 2) as u64
}

pub async fn receive_response(ctx: Ctx<'_>, p: ReceiveResponseParams) -> ApiResult<Outcome<Empty>> {
    let h = ctx.handle(p.handle)?;
    h.as_request()?;
    let daemon = ctx.daemon.clone();
    run_request_op(
        h,
        api::RECEIVE_RESPONSE,
        move |h| async move { do_receive(&daemon, &h).await },
        |_| (status::HEADERS_AVAILABLE, StatusInfo::Empty {}),
    )
    .await
}

async fn do_receive(daemon: &crate::state::Daemon, h: &Handle) -> ApiResult<Empty> {
    let request = h.as_request()?;
    let in_flight = {
        let mut core = lock(&request.core);
        if core.state != RequestState::Sent || core.in_flight.is_none() {
            return Err(ApiError::IncorrectHandleState {
                call: "WinHttpReceiveResponse",
                state: core.state,
            });
        }
        if let Some(u) = core.upload.take() {
            u.finish();
        }
        core.state = RequestState::Receiving;
        core.in_flight.take()
    };
    let Some(in_flight) = in_flight else {
        return Err(ApiError::Internal("request in flight vanished".into()));
    };
    let result = receive_following_redirects(daemon, h, request, in_flight).await;
    let mut core = lock(&request.core);
    let (head, download) = match result {
        Ok(r) => r,
        Err(e) => {
            core.state = RequestState::Failed;
            return Err(e);
        }
    };
    core.state = if download.is_done() {
        RequestState::Eof
    } else {
        RequestState::Response
    };
    core.response = Some(head);
    core.download = Some(download);
    Ok(Empty {})
}

/// Waits for the response head; follows redirects the request's policy allows (each
/// announced with REDIRECT before the next request goes out), and returns the final head
/// with its body.
async fn receive_following_redirects(
    daemon: &crate::state::Daemon,
    h: &Handle,
    request: &Request,
    mut in_flight: InFlight,
) -> ApiResult<(MessageHead, ResponseBody)> {
    let progress = RequestProgress(h);
    let limits = request.timeouts().limits();
    let mut hops = 0;
    let mut auth_tries = super::auth::Tries::default();
    loop {
        let InFlight { response, conn } = in_flight;
        progress.notify(status::RECEIVING_RESPONSE, StatusInfo::Empty {});
        let peer = conn.peer_text();
        let response = within("waiting for the response", limits.receive, async {
            response.await.map_err(|e| map_hyper_error(&peer, &e))
        })
        .await?;
        let (parts, body) = response.into_parts();
        let mut head = response_head(&parts);
        progress.notify(
            status::RESPONSE_RECEIVED,
            StatusInfo::Bytes {
                bytes: head.raw_crlf().len() as u64,
            },
        );
        let ((target, path), url) = {
            let core = lock(&request.core);
            (request.current(h, &core), core.url.clone())
        };
        super::features::on_response(h, request, &target, &url, &head);
        let (hop, verb, replayable) = {
            let core = lock(&request.core);
            let verb = core
                .sent_verb
                .clone()
                .unwrap_or_else(|| request.verb.clone());
            let policy = redirect::Policy {
                policy: request.redirect_policy.load(Ordering::Relaxed),
                max: request.max_redirects.load(Ordering::Relaxed),
                disabled: request.disabled.load(Ordering::Relaxed) & disable::REDIRECTS != 0,
            };
            let hop = redirect::decide(
                head.status,
                head.headers.get("Location"),
                &core.url,
                &verb,
                policy,
                hops,
                core.replay.is_some(),
            )?;
            (hop, verb, core.replay.is_some())
        };
        // A redirect to follow, or a 401 answered with the request's credentials (sent
        // again to the same place), or the response for the application.
        let hop = match hop {
            Some(hop) => {
                hops += 1;
                progress.notify(
                    status::REDIRECT,
                    StatusInfo::Url {
                        url: hop.url.clone(),
                    },
                );
                hop
            }
            None => match super::auth::retry(
                request,
                &target,
                &path,
                &verb,
                &head,
                replayable,
                &mut auth_tries,
            ) {
                Some(hop) => hop,
                None => {
                    let keep_alive = request.disabled.load(Ordering::Relaxed) & disable::KEEP_ALIVE
                        == 0
                        && !head
                            .headers
                            .get("Connection")
                            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
                    let download = Download::new(body, conn, h.session().pool.clone(), keep_alive);
                    let body = super::features::response_body(request, &mut head, download);
                    return Ok((head, body));
                }
            },
        };
        // The 3xx or 401 body is not wanted; its connection is not reused unless already
        // done.
        drop(Download::new(body, conn, h.session().pool.clone(), true));
        let (req, bytes) = {
            let mut core = lock(&request.core);
            let crossing = core
                .location
                .as_ref()
                .map_or_else(|| request.target(h), |(t, _)| t.clone())
                .host
                != hop.target.host;
            let mut app = core.headers.clone();
            // Credentials and cookies meant for one host never follow to another.
            if crossing {
                app.0.retain(|(n, _)| {
                    !n.eq_ignore_ascii_case("Authorization") && !n.eq_ignore_ascii_case("Cookie")
                });
            }
            let body = if hop.keep_body {
                core.replay.clone().unwrap_or_default()
            } else {
                app.0.retain(|(n, _)| {
                    !n.eq_ignore_ascii_case("Content-Length")
                        && !n.eq_ignore_ascii_case("Content-Type")
                        && !n.eq_ignore_ascii_case("Transfer-Encoding")
                });
                core.replay = Some(Bytes::new());
                Bytes::new()
            };
            let content_length = if body.is_empty() && is_bodyless_verb(&hop.verb) {
                None
            } else {
                Some(body.len() as u64)
            };
            let mut headers = request.wire_headers(h, &app, content_length, &hop.target);
            super::features::decorate(h, request, &mut headers, &hop.verb, &hop.path, &hop.target);
            core.location = Some((hop.target.clone(), hop.path.clone()));
            core.url = hop.url.clone();
            core.sent_verb = Some(hop.verb.clone());
            core.sent_headers = Some(headers.clone());
            let bytes =
                head_size(&hop.verb, &hop.path, request.version, &headers) + body.len() as u64;
            let body = if body.is_empty() {
                empty_body()
            } else {
                full_body(body)
            };
            (
                build_request(request, &hop.verb, &hop.path, &headers, body)?,
                bytes,
            )
        };
        in_flight = send_on_connection(daemon, h, request, req, &hop.target, &progress).await?;
        progress.notify(status::REQUEST_SENT, StatusInfo::Bytes { bytes });
    }
}

fn response_head(parts: &http::response::Parts) -> MessageHead {
    let reason = parts
        .extensions
        .get::<hyper::ext::ReasonPhrase>()
        .and_then(|r| std::str::from_utf8(r.as_bytes()).ok().map(str::to_owned))
        .or_else(|| parts.status.canonical_reason().map(str::to_owned))
        .unwrap_or_default();
    let mut headers = HeaderList::default();
    for (name, value) in &parts.headers {
        headers.push(
            &title_case(name.as_str()),
            &String::from_utf8_lossy(value.as_bytes()),
        );
    }
    let version = version_text(parts.version).to_owned();
    MessageHead {
        start_line: format!("{version} {} {reason}", parts.status.as_u16()),
        status: parts.status.as_u16(),
        reason,
        version,
        headers,
    }
}

/// `content-type` → `Content-Type`: hyper lowercases names; WinHTTP programs print them.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_escaped_like_winhttp() {
        assert_eq!(escape_path("a b", 0), "/a%20b");
        assert_eq!(escape_path("/x?q=1 2", 0), "/x?q=1%202");
        assert_eq!(
            escape_path("/x?q=1 2", request_flag::ESCAPE_DISABLE_QUERY),
            "/x?q=1 2"
        );
        assert_eq!(escape_path("/%41", 0), "/%41");
        assert_eq!(escape_path("/%41", request_flag::ESCAPE_PERCENT), "/%2541");
    }
}
