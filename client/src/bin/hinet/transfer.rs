//! `hinet URL`: one transfer, the WinHTTP way — an async session, a connect handle, a
//! request handle; options; SendRequest (+ WriteData); ReceiveResponse; QueryHeaders;
//! ReadData until the end; CloseHandle on the session.

use crate::args::RequestArgs;
use crate::exit::{CACERT, Failure, HTTP_ERROR, Phase, TIMEOUT, TLS};
use crate::output::{Dest, Output};
use crate::trace::Tracer;
use crate::upload::Body;
use crate::{Ui, auth};
use futures::StreamExt;
use hinet_client::protocol::consts::{
    access_type, decompression, http_protocol, open_flag, option, redirect_policy, security_flag,
};
use hinet_client::protocol::error::{ERROR_NOT_SUPPORTED, ERROR_WINHTTP_INVALID_OPTION};
use hinet_client::{Client, Connection, Error, OpenParams, OptionValue, Request, Session, Target};
use std::time::{Duration, Instant};

/// WinHTTP's default timeouts (resolve, connect, send, receive), replaced piecewise by
/// --connect-timeout and --max-time.
const DEFAULT_TIMEOUTS_MS: [i32; 4] = [0, 60_000, 30_000, 30_000];

/// Handles kept until the session is closed, so that one CloseHandle closes the whole tree
/// (children first, every HANDLE_CLOSING before the answer) and the -v trace is complete.
#[derive(Default)]
struct Held {
    connection: Option<Connection>,
    request: Option<Request>,
}

pub async fn run(args: &RequestArgs, client: &Client, ui: &Ui) -> Result<(), Failure> {
    let t0 = Instant::now();
    let setup = |e: Error| Failure::from_client(&e, Phase::Setup);
    let url = args.url.as_deref().unwrap_or_default();
    let target = Target::crack(client, url).await.map_err(setup)?;
    if let Some(ca) = &args.cacert {
        // The daemon verifies against its own store; the file itself can still be wrong.
        tokio::fs::metadata(ca)
            .await
            .map_err(|e| Failure::new(CACERT, format!("--cacert {}: {e}", ca.display())))?;
    }
    let body = Body::from_args(args).await?;
    let dest = Dest::from_args(args, &target)?;
    let session = open_session(client, args).await?;
    let tracer = match args.verbose {
        true => Some(Tracer::start(&session, t0).await.map_err(setup)?),
        false => None,
    };
    let mut held = Held::default();
    let work = exchange(args, ui, &session, &target, &body, &dest, &mut held);
    let result = match args.max_time {
        Some(secs) => tokio::time::timeout(Duration::from_secs_f64(secs), work)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::new(
                    TIMEOUT,
                    format!("operation timed out after {} ms", (secs * 1000.0) as u64),
                ))
            }),
        None => work.await,
    };
    let closed = session.close().await;
    drop(held);
    if let Some(tracer) = tracer {
        tracer.finish().await;
    }
    let result = result.map_err(|mut f| {
        if f.code == TLS && args.cacert.is_some() {
            f.message.push_str(
                "; hinetd verifies certificates against its own trust store: \
                 start it with `hinetd --ca-file FILE` to trust a private CA",
            );
        }
        f
    });
    result?;
    closed.map_err(setup)
}

async fn open_session(client: &Client, args: &RequestArgs) -> Result<Session, Failure> {
    let params = OpenParams {
        user_agent: Some(concat!("hinet/", env!("CARGO_PKG_VERSION")).into()),
        access_type: match args.proxy {
            Some(_) => access_type::NAMED_PROXY,
            None => access_type::NO_PROXY,
        },
        proxy_name: args.proxy.clone(),
        proxy_bypass: None,
        // Async: the daemon reports every step, completions included, which -v shows.
        flags: open_flag::ASYNC,
    };
    let session = Session::open(client, params).await.map_err(|e| {
        let mut f = Failure::from_client(&e, Phase::Setup);
        if let Some(proxy) = &args.proxy
            && e.code() == Some(ERROR_NOT_SUPPORTED)
        {
            f.message = format!("--proxy {proxy}: this hinetd does not support proxies ({e})");
        }
        f
    })?;
    if args.connect_timeout.is_some() || args.max_time.is_some() {
        let [mut resolve, mut connect, mut send, mut receive] = DEFAULT_TIMEOUTS_MS;
        if let Some(secs) = args.connect_timeout {
            (resolve, connect) = (ms(secs), ms(secs));
        }
        if let Some(secs) = args.max_time {
            // The whole transfer is bounded here too; the daemon stops waiting as well.
            let cap = ms(secs);
            resolve = if resolve == 0 { cap } else { resolve.min(cap) };
            (connect, send, receive) = (connect.min(cap), cap, cap);
        }
        session
            .set_timeouts(resolve, connect, send, receive)
            .await
            .map_err(|e| Failure::from_client(&e, Phase::Setup))?;
    }
    Ok(session)
}

fn ms(secs: f64) -> i32 {
    // At least 1: 0 would mean "no limit".
    ((secs * 1000.0).ceil() as i32).max(1)
}

async fn exchange(
    args: &RequestArgs,
    ui: &Ui,
    session: &Session,
    target: &Target,
    body: &Body,
    dest: &Dest,
    held: &mut Held,
) -> Result<(), Failure> {
    let setup = |e: Error| Failure::from_client(&e, Phase::Setup);
    let connection = held.connection.insert(
        session
            .connect(&target.host, target.port)
            .await
            .map_err(setup)?,
    );
    let verb = match &args.method {
        Some(m) => m.clone(),
        None if args.head => "HEAD".into(),
        None if body.is_some() => "POST".into(),
        None => "GET".into(),
    };
    let request = held.request.insert(
        connection
            .open_request(&verb, &target.object, target.request_flags())
            .await
            .map_err(setup)?,
    );
    set_options(request, args, ui, target).await?;
    let credentials = auth::Credentials::from_args(args, target);
    let mut basic_header = None;
    if let Some(c) = &credentials {
        basic_header = c.preemptive(request).await?;
    }
    let headers = header_lines(args, body, basic_header.as_deref());
    send_and_receive(request, body, headers.as_deref(), args.verbose).await?;
    if let Some(c) = &credentials
        && basic_header.is_none()
        && body.replayable()
        && c.retry_with_digest(request).await?
    {
        send_and_receive(request, body, headers.as_deref(), args.verbose).await?;
    }

    let status = request.status_code().await.map_err(setup)?;
    if args.fail && status >= 400 {
        return Err(Failure::new(
            HTTP_ERROR,
            format!("the requested URL returned error: {status}"),
        ));
    }
    let total = request.content_length().await.unwrap_or(None);
    let mut out = Output::open(dest, !args.silent, total).await?;
    if args.include || args.head {
        let raw = request.raw_headers().await.map_err(setup)?;
        out.write_headers(raw.as_bytes()).await?;
    }
    if !args.head {
        let mut chunks = request.body();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| Failure::from_client(&e, Phase::Body))?;
            out.write_body(&chunk).await?;
        }
    }
    out.finish().await
}

/// SendRequest (+ WriteData) and ReceiveResponse; with -v the request and response heads.
async fn send_and_receive(
    request: &mut Request,
    body: &Body,
    headers: Option<&str>,
    verbose: bool,
) -> Result<(), Failure> {
    body.send(request, headers).await?;
    if verbose && let Ok(head) = request.raw_request_headers().await {
        print_head('>', &head);
    }
    request
        .receive_response()
        .await
        .map_err(|e| Failure::from_client(&e, Phase::Receive))?;
    if verbose && let Ok(head) = request.raw_headers().await {
        print_head('<', &head);
    }
    Ok(())
}

fn print_head(mark: char, head: &str) {
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        eprintln!("{mark} {line}");
    }
}

async fn set_options(
    request: &Request,
    args: &RequestArgs,
    ui: &Ui,
    target: &Target,
) -> Result<(), Failure> {
    if args.insecure && target.secure {
        request
            .set_option(
                option::SECURITY_FLAGS,
                OptionValue::Number(security_flag::IGNORE_ALL_CERT_ERRORS.into()),
            )
            .await
            .map_err(|e| Failure::from_client(&e, Phase::Setup))?;
    }
    // curl follows redirects only with -L, while WinHTTP's default policy follows them.
    let policy = match args.location {
        true => redirect_policy::ALWAYS,
        false => redirect_policy::NEVER,
    };
    if optional(request, option::REDIRECT_POLICY, policy).await? {
        if let (true, Some(max)) = (args.location, args.max_redirs) {
            optional(request, option::MAX_HTTP_AUTOMATIC_REDIRECTS, max).await?;
        }
    } else if args.location {
        ui.warn("-L: this hinetd does not follow redirects; the redirect itself is the response");
    }
    if args.http2 && !optional(request, option::ENABLE_HTTP_PROTOCOL, http_protocol::HTTP2).await? {
        ui.warn("--http2: this hinetd speaks HTTP/1.1 only; continuing with HTTP/1.1");
    }
    if args.compressed && !optional(request, option::DECOMPRESSION, decompression::ALL).await? {
        ui.warn(
            "--compressed: this hinetd does not decompress; asking for an uncompressed response",
        );
    }
    Ok(())
}

/// Sets an option a daemon may not know yet: false when it answers 12009.
async fn optional(request: &Request, option: u32, value: u32) -> Result<bool, Failure> {
    match request
        .set_option(option, OptionValue::Number(value.into()))
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if e.code() == Some(ERROR_WINHTTP_INVALID_OPTION) => Ok(false),
        Err(e) => Err(Failure::from_client(&e, Phase::Setup)),
    }
}

/// The extra header lines for SendRequest: -H, then what curl adds (a form Content-Type
/// for data, a Basic Authorization when the daemon cannot set credentials).
fn header_lines(args: &RequestArgs, body: &Body, basic: Option<&str>) -> Option<String> {
    let given = |name: &str| {
        args.headers.iter().any(|h| {
            h.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
    };
    let mut lines: Vec<String> = args.headers.clone();
    if body.is_some() && !given("content-type") {
        lines.push("Content-Type: application/x-www-form-urlencoded".into());
    }
    if let Some(h) = body.header() {
        lines.push(h.into());
    }
    if let Some(b) = basic
        && !given("authorization")
    {
        lines.push(format!("Authorization: Basic {b}"));
    }
    (!lines.is_empty()).then(|| lines.join("\r\n"))
}
