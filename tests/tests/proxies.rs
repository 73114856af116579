//! Proxies end to end: the real daemon through a real HTTP proxy (Debian's tinyproxy) and a
//! SOCKS5 relay, to real local origins.
//!
//! NAMED_PROXY lists and bypass lists, DEFAULT_PROXY from the environment, AUTOMATIC_PROXY
//! refused, WINHTTP_OPTION_PROXY per session and per request, absolute-form HTTP, CONNECT
//! tunnels for HTTPS (HTTP/2 inside them too), 407 answers handed to the application, and
//! `socks5://` / `socks5h://`.

use std::net::SocketAddr;
use std::time::Duration;

use hinet_tests::{
    Daemon, HttpServer, RpcConn, RpcError, Socks5Server, SocksTarget, TestCert, Tinyproxy, b64,
    closed_port, unb64,
};
use serde_json::{Value, json};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const CALL_LIMIT: Duration = Duration::from_secs(10);

const DEFAULT_PROXY: u32 = 0;
const NO_PROXY: u32 = 1;
const NAMED_PROXY: u32 = 3;
const AUTOMATIC_PROXY: u32 = 4;
const SECURE: u32 = 0x0080_0000;
const OPTION_PROXY: u32 = 38;
const OPTION_ENABLE_HTTP_PROTOCOL: u32 = 133;
const OPTION_HTTP_PROTOCOL_USED: u32 = 134;
const QUERY_STATUS_CODE: u32 = 19;
const QUERY_PROXY_AUTHENTICATE: u32 = 41;
const FLAG_NUMBER: u32 = 0x2000_0000;
const ADD_OR_REPLACE: u32 = 0xA000_0000;

const ERROR_NOT_SUPPORTED: i64 = 50;
const ERROR_INVALID_PARAMETER: i64 = 87;
const ERROR_WINHTTP_CANNOT_CONNECT: i64 = 12029;

async fn try_call(c: &RpcConn, method: &str, params: Value) -> Result<Value, RpcError> {
    match c.call_timeout(method, params.clone(), CALL_LIMIT).await {
        Some(r) => r,
        None => panic!("{method}({params}) did not return within {CALL_LIMIT:?}"),
    }
}

async fn ok(c: &RpcConn, method: &str, params: Value) -> Value {
    try_call(c, method, params.clone())
        .await
        .unwrap_or_else(|e| panic!("{method}({params}) failed: {e}"))
}

async fn fails(c: &RpcConn, method: &str, params: Value) -> RpcError {
    match try_call(c, method, params.clone()).await {
        Ok(v) => panic!("{method}({params}) unexpectedly succeeded with {v}"),
        Err(e) => e,
    }
}

fn handle_of(v: &Value) -> u64 {
    v["handle"]
        .as_u64()
        .unwrap_or_else(|| panic!("no handle in {v}"))
}

async fn open(c: &RpcConn, access: u32, proxy: Option<&str>, bypass: Option<&str>) -> u64 {
    handle_of(
        &ok(
            c,
            "WinHttpOpen",
            json!({"accessType": access, "proxyName": proxy, "proxyBypass": bypass}),
        )
        .await,
    )
}

async fn request(c: &RpcConn, ses: u64, host: &str, port: u16, path: &str, flags: u32) -> u64 {
    let con = handle_of(
        &ok(
            c,
            "WinHttpConnect",
            json!({"handle": ses, "serverName": host, "serverPort": port}),
        )
        .await,
    );
    handle_of(
        &ok(
            c,
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": path, "flags": flags}),
        )
        .await,
    )
}

/// Sends and receives: the status code, or the error of the send or receive.
async fn exchange(c: &RpcConn, req: u64) -> Result<u64, RpcError> {
    try_call(c, "WinHttpSendRequest", json!({"handle": req})).await?;
    try_call(c, "WinHttpReceiveResponse", json!({"handle": req})).await?;
    let status = ok(
        c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": QUERY_STATUS_CODE | FLAG_NUMBER}),
    )
    .await;
    Ok(status["value"].as_u64().expect("status number"))
}

async fn read_all(c: &RpcConn, req: u64) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let r = ok(
            c,
            "WinHttpReadData",
            json!({"handle": req, "bytesToRead": 65536}),
        )
        .await;
        let chunk = unb64(r["data"].as_str().unwrap_or(""));
        if chunk.is_empty() {
            return body;
        }
        body.extend_from_slice(&chunk);
    }
}

async fn add_header(c: &RpcConn, req: u64, line: &str) {
    ok(
        c,
        "WinHttpAddRequestHeaders",
        json!({"handle": req, "headers": line, "modifiers": ADD_OR_REPLACE}),
    )
    .await;
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Proxy-Authorization: Basic {}",
        b64(format!("{user}:{password}").as_bytes())
    )
}

#[tokio::test]
async fn http_goes_through_the_proxy_in_absolute_form() {
    let proxy = Tinyproxy::start();
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open(&c, NAMED_PROXY, Some(&proxy.host_port()), None).await;
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/echo?x=1", 0).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    let echo: Value = serde_json::from_slice(&read_all(&c, req).await).expect("echo JSON");
    assert_eq!(echo["path"], "/echo?x=1");
    let seen = origin.requests();
    assert_eq!(seen.len(), 1, "the origin got the request");
    assert_eq!(
        seen[0].header("host"),
        Some(format!("127.0.0.1:{}", origin.port()).as_str())
    );
    let lines = proxy.request_lines();
    let expected = format!("GET http://127.0.0.1:{}/echo?x=1 HTTP/1.1", origin.port());
    assert!(lines.contains(&expected), "proxy saw {lines:?}");
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel() {
    let proxy = Tinyproxy::start();
    let cert = TestCert::localhost();
    let origin = HttpServer::start_tls_with_alpn(&cert, &[b"h2", b"http/1.1"]).await;
    let daemon = Daemon::spawn(HINETD, &["--ca-file", cert.ca_file.to_str().unwrap()]);
    let c = daemon.connect().await;
    // Per-scheme entries: https requests use the https= entry.
    let list = format!(
        "http=127.0.0.1:{};https={}",
        closed_port(),
        proxy.host_port()
    );
    let ses = open(&c, NAMED_PROXY, Some(&list), None).await;
    let req = request(&c, ses, "localhost", origin.port(), "/hello", SECURE).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    assert_eq!(read_all(&c, req).await, b"hello world");
    let connect = format!("CONNECT localhost:{} HTTP/1.1", origin.port());
    assert!(
        proxy.request_lines().contains(&connect),
        "proxy saw {:?}",
        proxy.request_lines()
    );

    // HTTP/2 inside the tunnel.
    let req = request(&c, ses, "localhost", origin.port(), "/hello", SECURE).await;
    ok(
        &c,
        "WinHttpSetOption",
        json!({"handle": req, "option": OPTION_ENABLE_HTTP_PROTOCOL, "value": 1}),
    )
    .await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    let used = ok(
        &c,
        "WinHttpQueryOption",
        json!({"handle": req, "option": OPTION_HTTP_PROTOCOL_USED}),
    )
    .await;
    assert_eq!(used["value"], 1);
    assert_eq!(origin.requests().last().unwrap().version, "HTTP/2.0");
}

#[tokio::test]
async fn proxy_authentication_answers_reach_the_application() {
    let proxy = Tinyproxy::start_with_auth("alice", "s3cret");
    let plain = HttpServer::start().await;
    let cert = TestCert::localhost();
    let tls = HttpServer::start_tls(&cert).await;
    let daemon = Daemon::spawn(HINETD, &["--ca-file", cert.ca_file.to_str().unwrap()]);
    let c = daemon.connect().await;
    let ses = open(&c, NAMED_PROXY, Some(&proxy.host_port()), None).await;

    for (port, flags) in [(plain.port(), 0), (tls.port(), SECURE)] {
        // Without credentials the proxy's 407 is the response, headers and body.
        let req = request(&c, ses, "127.0.0.1", port, "/hello", flags).await;
        assert_eq!(exchange(&c, req).await.unwrap(), 407, "flags {flags:#x}");
        let challenge = ok(
            &c,
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": QUERY_PROXY_AUTHENTICATE}),
        )
        .await;
        assert!(
            challenge["value"]
                .as_str()
                .unwrap_or("")
                .starts_with("Basic"),
            "challenge {challenge}"
        );
        let _ = read_all(&c, req).await;

        // With the application's own Proxy-Authorization header it goes through, and the
        // header never reaches the origin over a tunnel.
        let req = request(&c, ses, "127.0.0.1", port, "/echo", flags).await;
        add_header(&c, req, &basic("alice", "s3cret")).await;
        assert_eq!(exchange(&c, req).await.unwrap(), 200, "flags {flags:#x}");
        let echo: Value = serde_json::from_slice(&read_all(&c, req).await).expect("echo JSON");
        let headers = echo["headers"].to_string().to_ascii_lowercase();
        assert!(!headers.contains("proxy-authorization"), "{headers}");
    }
    assert_eq!(plain.requests().len(), 1);
    assert_eq!(tls.requests().len(), 1);

    // Credentials in the proxy's URL are used for both.
    let list = format!("http://alice:s3cret@{}", proxy.host_port());
    let ses = open(&c, NAMED_PROXY, Some(&list), None).await;
    for (port, flags) in [(plain.port(), 0), (tls.port(), SECURE)] {
        let req = request(&c, ses, "127.0.0.1", port, "/hello", flags).await;
        assert_eq!(exchange(&c, req).await.unwrap(), 200, "flags {flags:#x}");
    }
}

#[tokio::test]
async fn proxy_credentials_answer_a_407_on_resend() {
    let proxy = Tinyproxy::start_with_auth("alice", "s3cret");
    let plain = HttpServer::start().await;
    let cert = TestCert::localhost();
    let tls = HttpServer::start_tls(&cert).await;
    let daemon = Daemon::spawn(HINETD, &["--ca-file", cert.ca_file.to_str().unwrap()]);
    let c = daemon.connect().await;
    let ses = open(&c, NAMED_PROXY, Some(&proxy.host_port()), None).await;
    for (port, flags) in [(plain.port(), 0), (tls.port(), SECURE)] {
        let req = request(&c, ses, "127.0.0.1", port, "/hello", flags).await;
        assert_eq!(exchange(&c, req).await.unwrap(), 407, "flags {flags:#x}");
        let schemes = ok(&c, "WinHttpQueryAuthSchemes", json!({"handle": req})).await;
        assert_eq!(schemes["authTarget"], 1, "the proxy asks: {schemes}");
        assert_ne!(
            schemes["supportedSchemes"].as_u64().unwrap() & 1,
            0,
            "Basic"
        );
        let _ = read_all(&c, req).await;
        ok(
            &c,
            "WinHttpSetCredentials",
            json!({"handle": req, "authTargets": 1, "authScheme": 1,
                   "userName": "alice", "password": "s3cret"}),
        )
        .await;
        assert_eq!(exchange(&c, req).await.unwrap(), 200, "flags {flags:#x}");
        assert_eq!(read_all(&c, req).await, b"hello world");
    }
}

#[tokio::test]
async fn bypass_lists_send_matching_hosts_direct() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    // A proxy nobody listens on: anything that goes to it fails with 12029.
    let dead = format!("127.0.0.1:{}", closed_port());

    let ses = open(&c, NAMED_PROXY, Some(&dead), None).await;
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(
        exchange(&c, req).await.unwrap_err().code,
        ERROR_WINHTTP_CANNOT_CONNECT
    );

    let cases = [
        ("127.0.0.1", "127.0.0.1", true),
        ("127.0.0.*", "127.0.0.1", true),
        (
            &format!("127.0.0.1:{}", origin.port()) as &str,
            "127.0.0.1",
            true,
        ),
        ("127.0.0.1:1", "127.0.0.1", false),
        ("<local>", "localhost", true),
        ("<local>", "127.0.0.1", false),
        ("*.example.com; localhost", "localhost", true),
        ("*.example.com", "localhost", false),
    ];
    for (bypass, host, direct) in cases {
        let ses = open(&c, NAMED_PROXY, Some(&dead), Some(bypass)).await;
        let req = request(&c, ses, host, origin.port(), "/hello", 0).await;
        let result = exchange(&c, req).await;
        if direct {
            assert_eq!(result.unwrap(), 200, "bypass {bypass:?} for {host}");
        } else {
            assert_eq!(
                result.unwrap_err().code,
                ERROR_WINHTTP_CANNOT_CONNECT,
                "bypass {bypass:?} for {host}"
            );
        }
    }

    // An http= only list leaves https requests direct.
    let cert = TestCert::localhost();
    let tls = HttpServer::start_tls(&cert).await;
    let daemon = Daemon::spawn(HINETD, &["--ca-file", cert.ca_file.to_str().unwrap()]);
    let c = daemon.connect().await;
    let ses = open(&c, NAMED_PROXY, Some(&format!("http={dead}")), None).await;
    let req = request(&c, ses, "127.0.0.1", tls.port(), "/hello", SECURE).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
}

#[tokio::test]
async fn proxy_option_applies_per_session_and_per_request() {
    let proxy = Tinyproxy::start();
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open(&c, NO_PROXY, None, None).await;
    let info = ok(
        &c,
        "WinHttpQueryOption",
        json!({"handle": ses, "option": OPTION_PROXY}),
    )
    .await;
    assert_eq!(info["value"]["accessType"], NO_PROXY);

    // Direct first, leaving an idle connection to the origin in the pool.
    let direct = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(exchange(&c, direct).await.unwrap(), 200);
    assert_eq!(read_all(&c, direct).await, b"hello world");
    assert!(proxy.request_lines().is_empty());

    // The request's own proxy setting: it must not ride the pooled direct connection.
    let named =
        json!({"accessType": NAMED_PROXY, "proxy": proxy.host_port(), "bypass": "*.example.com"});
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    ok(
        &c,
        "WinHttpSetOption",
        json!({"handle": req, "option": OPTION_PROXY, "value": named}),
    )
    .await;
    let back = ok(
        &c,
        "WinHttpQueryOption",
        json!({"handle": req, "option": OPTION_PROXY}),
    )
    .await;
    assert_eq!(back["value"], named);
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    assert_eq!(
        proxy.request_lines().len(),
        1,
        "{:?}",
        proxy.request_lines()
    );

    // A sibling request still goes direct.
    let sibling = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(exchange(&c, sibling).await.unwrap(), 200);
    assert_eq!(proxy.request_lines().len(), 1);

    // On the session: every request without its own setting.
    ok(
        &c,
        "WinHttpSetOption",
        json!({"handle": ses, "option": OPTION_PROXY, "value": named}),
    )
    .await;
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    assert_eq!(proxy.request_lines().len(), 2);
    // ... and a request may opt out.
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    ok(
        &c,
        "WinHttpSetOption",
        json!({"handle": req, "option": OPTION_PROXY, "value": {"accessType": NO_PROXY}}),
    )
    .await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    assert_eq!(proxy.request_lines().len(), 2);

    // Bad values.
    for (value, code) in [
        (json!({"accessType": AUTOMATIC_PROXY}), ERROR_NOT_SUPPORTED),
        (json!({"accessType": NAMED_PROXY}), ERROR_INVALID_PARAMETER),
        (
            json!({"accessType": NAMED_PROXY, "proxy": "https://p:1"}),
            ERROR_INVALID_PARAMETER,
        ),
        (json!({"accessType": 2}), ERROR_INVALID_PARAMETER),
        (json!(3), ERROR_INVALID_PARAMETER),
    ] {
        let e = fails(
            &c,
            "WinHttpSetOption",
            json!({"handle": ses, "option": OPTION_PROXY, "value": value}),
        )
        .await;
        assert_eq!(e.code, code, "{value}: {e}");
    }
}

#[tokio::test]
async fn access_types_at_open() {
    let daemon = Daemon::spawn_with_env(
        HINETD,
        &[],
        &[
            ("http_proxy", ""),
            ("https_proxy", ""),
            ("all_proxy", ""),
            ("no_proxy", ""),
        ],
    );
    let c = daemon.connect().await;
    let e = fails(&c, "WinHttpOpen", json!({"accessType": AUTOMATIC_PROXY})).await;
    assert_eq!(e.code, ERROR_NOT_SUPPORTED);
    assert!(e.message.contains("PAC/WPAD"), "{}", e.message);
    for (name, code) in [
        (None, ERROR_INVALID_PARAMETER),
        (Some(""), ERROR_INVALID_PARAMETER),
        (Some("ftp=x:21"), ERROR_INVALID_PARAMETER),
        (Some("p:99999"), ERROR_INVALID_PARAMETER),
    ] {
        let e = fails(
            &c,
            "WinHttpOpen",
            json!({"accessType": NAMED_PROXY, "proxyName": name}),
        )
        .await;
        assert_eq!(e.code, code, "{name:?}");
    }
    let e = fails(&c, "WinHttpOpen", json!({"accessType": 2})).await;
    assert_eq!(e.code, ERROR_INVALID_PARAMETER);
    // Empty environment: DEFAULT_PROXY is direct.
    let origin = HttpServer::start().await;
    let ses = open(&c, DEFAULT_PROXY, None, None).await;
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
}

#[tokio::test]
async fn default_proxy_comes_from_the_environment() {
    let proxy = Tinyproxy::start();
    let origin = HttpServer::start().await;
    let url = format!("http://{}", proxy.host_port());
    let env = |no_proxy: &'static str| {
        vec![
            ("http_proxy", url.clone()),
            ("https_proxy", String::new()),
            ("all_proxy", String::new()),
            ("no_proxy", no_proxy.to_owned()),
        ]
    };
    let spawn = |vars: Vec<(&'static str, String)>| {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Daemon::spawn_with_env(HINETD, &[], &vars)
    };

    let daemon = spawn(env("example.com"));
    let c = daemon.connect().await;
    let ses = open(&c, DEFAULT_PROXY, None, None).await;
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    assert_eq!(proxy.request_lines().len(), 1);
    // NO_PROXY sessions of the same daemon ignore the environment.
    let ses = open(&c, NO_PROXY, None, None).await;
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    assert_eq!(proxy.request_lines().len(), 1);

    let daemon = spawn(env("localhost,127.0.0.0/8"));
    let c = daemon.connect().await;
    let ses = open(&c, DEFAULT_PROXY, None, None).await;
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    assert_eq!(proxy.request_lines().len(), 1, "no_proxy sent it direct");

    let daemon = spawn(vec![("http_proxy", "gopher://x:70".to_owned())]);
    let c = daemon.connect().await;
    let e = fails(&c, "WinHttpOpen", json!({"accessType": DEFAULT_PROXY})).await;
    assert_eq!(e.code, ERROR_INVALID_PARAMETER);
    assert!(e.message.contains("http_proxy"), "{}", e.message);
}

#[tokio::test]
async fn socks5_proxies_with_and_without_remote_resolution() {
    let socks = Socks5Server::start().await;
    let origin = HttpServer::start().await;
    let cert = TestCert::localhost();
    let tls = HttpServer::start_tls(&cert).await;
    let daemon = Daemon::spawn(HINETD, &["--ca-file", cert.ca_file.to_str().unwrap()]);
    let c = daemon.connect().await;

    // socks5://: the name is resolved here and the proxy gets an address.
    let list = format!("socks5://127.0.0.1:{}", socks.port());
    let ses = open(&c, NAMED_PROXY, Some(&list), None).await;
    let req = request(&c, ses, "localhost", origin.port(), "/hello", 0).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    assert_eq!(read_all(&c, req).await, b"hello world");
    let want: SocketAddr = ([127, 0, 0, 1], origin.port()).into();
    assert_eq!(socks.targets(), vec![SocksTarget::Addr(want)]);

    // socks5h://: the proxy gets the name; HTTPS runs inside.
    let list = format!("socks5h://127.0.0.1:{}", socks.port());
    let ses = open(&c, NAMED_PROXY, Some(&list), None).await;
    let req = request(&c, ses, "localhost", tls.port(), "/hello", SECURE).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    assert_eq!(read_all(&c, req).await, b"hello world");
    assert_eq!(
        socks.targets().last(),
        Some(&SocksTarget::Name("localhost".into(), tls.port()))
    );
    assert_eq!(tls.requests().len(), 1);

    // Username and password.
    let guarded = Socks5Server::start_with_auth("bob", "pw").await;
    let list = format!("socks5://bob:pw@127.0.0.1:{}", guarded.port());
    let ses = open(&c, NAMED_PROXY, Some(&list), None).await;
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(exchange(&c, req).await.unwrap(), 200);
    let list = format!("socks5://bob:wrong@127.0.0.1:{}", guarded.port());
    let ses = open(&c, NAMED_PROXY, Some(&list), None).await;
    let req = request(&c, ses, "127.0.0.1", origin.port(), "/hello", 0).await;
    assert_eq!(
        exchange(&c, req).await.unwrap_err().code,
        ERROR_WINHTTP_CANNOT_CONNECT
    );
    assert_eq!(guarded.targets().len(), 1, "the bad login got no further");
}
