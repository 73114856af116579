//! HTTP/2 and the TLS options, end to end: the real daemon against real local TLS servers.
//!
//! ENABLE_HTTP_PROTOCOL (133) and HTTP_PROTOCOL_USED (134) with h2 servers and h1-only
//! servers; one shared HTTP/2 connection for concurrent requests; SECURE_PROTOCOLS (84)
//! against servers restricted to TLS 1.2 or 1.3; the server certificate (78); client
//! certificates (HINET_OPTION_CLIENT_CERT_PEM, 12044); SECURE_FAILURE notifications.

use std::time::Duration;

use hinet_tests::{Daemon, HttpServer, RpcConn, RpcError, TestCa, TestCert, unb64};
use serde_json::{Value, json};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const CALL_LIMIT: Duration = Duration::from_secs(10);

const SECURE: u32 = 0x0080_0000;
const QUERY_VERSION: u32 = 18;
const QUERY_STATUS_CODE: u32 = 19;
const QUERY_RAW_HEADERS_CRLF: u32 = 22;
const FLAG_NUMBER: u32 = 0x2000_0000;
const FLAG_REQUEST_HEADERS: u32 = 0x8000_0000;

const OPTION_SERVER_CERT_CONTEXT: u32 = 78;
const OPTION_SECURE_PROTOCOLS: u32 = 84;
const OPTION_ENABLE_HTTP_PROTOCOL: u32 = 133;
const OPTION_HTTP_PROTOCOL_USED: u32 = 134;
const OPTION_CLIENT_CERT_CONTEXT: u32 = 47;
const HINET_OPTION_CLIENT_CERT_PEM: u32 = 0x1_0000;
const HTTP2: u32 = 1;
const TLS1: u32 = 0x80;
const TLS1_1: u32 = 0x200;
const TLS1_2: u32 = 0x800;
const TLS1_3: u32 = 0x2000;

const ERROR_INVALID_PARAMETER: i64 = 87;
const ERROR_WINHTTP_INCORRECT_HANDLE_TYPE: i64 = 12018;
const ERROR_WINHTTP_INCORRECT_HANDLE_STATE: i64 = 12019;
const ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED: i64 = 12044;
const ERROR_WINHTTP_SECURE_FAILURE: i64 = 12175;

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

/// A daemon trusting `cert`.
fn daemon_trusting(cert: &TestCert) -> Daemon {
    let ca = cert.ca_file.to_str().expect("utf-8 path");
    Daemon::spawn(HINETD, &["--ca-file", ca])
}

async fn session(c: &RpcConn) -> u64 {
    handle_of(&ok(c, "WinHttpOpen", json!({"userAgent": "h2-tls-test"})).await)
}

async fn set(c: &RpcConn, h: u64, option: u32, value: Value) {
    ok(
        c,
        "WinHttpSetOption",
        json!({"handle": h, "option": option, "value": value}),
    )
    .await;
}

async fn query(c: &RpcConn, h: u64, option: u32) -> Result<Value, RpcError> {
    try_call(
        c,
        "WinHttpQueryOption",
        json!({"handle": h, "option": option}),
    )
    .await
    .map(|v| v["value"].clone())
}

/// A SECURE request for `path` on 127.0.0.1:`port` under `ses`.
async fn request(c: &RpcConn, ses: u64, port: u16, path: &str) -> u64 {
    let con = handle_of(
        &ok(
            c,
            "WinHttpConnect",
            json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": port}),
        )
        .await,
    );
    handle_of(
        &ok(
            c,
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": path, "flags": SECURE}),
        )
        .await,
    )
}

async fn send(c: &RpcConn, req: u64) -> Result<Value, RpcError> {
    try_call(c, "WinHttpSendRequest", json!({"handle": req})).await
}

/// Sends and receives; the status code.
async fn exchange(c: &RpcConn, req: u64) -> u64 {
    ok(c, "WinHttpSendRequest", json!({"handle": req})).await;
    ok(c, "WinHttpReceiveResponse", json!({"handle": req})).await;
    header_value(c, req, QUERY_STATUS_CODE | FLAG_NUMBER)
        .await
        .as_u64()
        .expect("status number")
}

async fn header_value(c: &RpcConn, req: u64, level: u32) -> Value {
    ok(
        c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": level}),
    )
    .await["value"]
        .clone()
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

#[tokio::test]
async fn http2_is_negotiated_when_enabled_and_reported() {
    let cert = TestCert::localhost();
    let origin = HttpServer::start_tls_with_alpn(&cert, &[b"h2", b"http/1.1"]).await;
    let daemon = daemon_trusting(&cert);
    let c = daemon.connect().await;
    let ses = session(&c).await;
    set(&c, ses, OPTION_ENABLE_HTTP_PROTOCOL, json!(HTTP2)).await;
    let req = request(&c, ses, origin.port(), "/echo").await;
    assert_eq!(
        query(&c, req, OPTION_HTTP_PROTOCOL_USED).await.unwrap(),
        0,
        "nothing used before the send"
    );
    assert_eq!(exchange(&c, req).await, 200);
    assert_eq!(header_value(&c, req, QUERY_VERSION).await, "HTTP/2");
    assert_eq!(query(&c, req, OPTION_HTTP_PROTOCOL_USED).await.unwrap(), 1);
    let raw = header_value(&c, req, QUERY_RAW_HEADERS_CRLF).await;
    let raw = raw.as_str().expect("raw headers text");
    assert!(raw.starts_with("HTTP/2 200"), "raw headers: {raw:?}");
    assert!(raw.ends_with("\r\n\r\n"), "raw headers: {raw:?}");
    let sent = header_value(&c, req, QUERY_RAW_HEADERS_CRLF | FLAG_REQUEST_HEADERS).await;
    let sent = sent.as_str().expect("request headers text");
    assert!(
        !sent.to_ascii_lowercase().contains("connection:"),
        "no Connection header went out over HTTP/2: {sent:?}"
    );
    let echo: Value = serde_json::from_slice(&read_all(&c, req).await).expect("echo JSON");
    assert_eq!(echo["version"], "HTTP/2.0");
    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].version, "HTTP/2.0");
    assert_eq!(seen[0].path, "/echo");
    assert!(seen[0].header("connection").is_none());
    assert!(seen[0].header("keep-alive").is_none());
}

#[tokio::test]
async fn without_the_option_or_an_h2_server_http11_is_used() {
    let cert = TestCert::localhost();
    let h2_origin = HttpServer::start_tls_with_alpn(&cert, &[b"h2", b"http/1.1"]).await;
    let h1_origin = HttpServer::start_tls(&cert).await;
    let daemon = daemon_trusting(&cert);
    let c = daemon.connect().await;

    // The server offers h2, the session does not ask for it.
    let ses = session(&c).await;
    let req = request(&c, ses, h2_origin.port(), "/hello").await;
    assert_eq!(exchange(&c, req).await, 200);
    assert_eq!(header_value(&c, req, QUERY_VERSION).await, "HTTP/1.1");
    assert_eq!(query(&c, req, OPTION_HTTP_PROTOCOL_USED).await.unwrap(), 0);
    assert_eq!(h2_origin.requests()[0].version, "HTTP/1.1");

    // The request asks for h2 (on the request handle only), the server has only http/1.1.
    let req = request(&c, ses, h1_origin.port(), "/hello").await;
    set(&c, req, OPTION_ENABLE_HTTP_PROTOCOL, json!(HTTP2)).await;
    assert_eq!(exchange(&c, req).await, 200);
    assert_eq!(read_all(&c, req).await, b"hello world");
    assert_eq!(header_value(&c, req, QUERY_VERSION).await, "HTTP/1.1");
    assert_eq!(query(&c, req, OPTION_HTTP_PROTOCOL_USED).await.unwrap(), 0);

    // The request-level option is the request's own: a sibling still uses HTTP/1.1.
    let req = request(&c, ses, h2_origin.port(), "/hello").await;
    assert_eq!(exchange(&c, req).await, 200);
    assert_eq!(query(&c, req, OPTION_HTTP_PROTOCOL_USED).await.unwrap(), 0);
}

#[tokio::test]
async fn concurrent_http2_requests_share_one_connection() {
    let cert = TestCert::localhost();
    let origin = HttpServer::start_tls_with_alpn(&cert, &[b"h2", b"http/1.1"]).await;
    let daemon = daemon_trusting(&cert);
    let c = daemon.connect().await;
    let ses = session(&c).await;
    set(&c, ses, OPTION_ENABLE_HTTP_PROTOCOL, json!(HTTP2)).await;
    let mut reqs = Vec::new();
    for i in 0..6 {
        reqs.push(
            request(
                &c,
                ses,
                origin.port(),
                &format!("/slow-body?delay_ms=200&i={i}"),
            )
            .await,
        );
    }
    // All sent before any body is read: on HTTP/1.1 each would need its own connection.
    let runs = reqs.iter().map(|&req| {
        let c = &c;
        async move {
            assert_eq!(exchange(c, req).await, 200);
            assert_eq!(read_all(c, req).await, b"firstsecond");
            query(c, req, OPTION_HTTP_PROTOCOL_USED).await.unwrap()
        }
    });
    let used = futures::future::join_all(runs).await;
    assert!(
        used.iter().all(|u| *u == 1),
        "every request used HTTP/2: {used:?}"
    );
    assert_eq!(
        origin.connections(),
        1,
        "one TCP connection carried all streams"
    );
    assert_eq!(origin.requests().len(), 6);

    // A streamed upload over the shared connection.
    let con = handle_of(
        &ok(
            &c,
            "WinHttpConnect",
            json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await,
    );
    let req = handle_of(
        &ok(
            &c,
            "WinHttpOpenRequest",
            json!({"handle": con, "verb": "POST", "objectName": "/upload", "flags": SECURE}),
        )
        .await,
    );
    ok(
        &c,
        "WinHttpSendRequest",
        json!({"handle": req, "optional": hinet_tests::b64(b"abc"), "totalLength": 6}),
    )
    .await;
    ok(
        &c,
        "WinHttpWriteData",
        json!({"handle": req, "data": hinet_tests::b64(b"def")}),
    )
    .await;
    ok(&c, "WinHttpReceiveResponse", json!({"handle": req})).await;
    let answer: Value = serde_json::from_slice(&read_all(&c, req).await).expect("upload JSON");
    assert_eq!(answer["len"], 6);
    assert_eq!(unb64(answer["body_b64"].as_str().unwrap()), b"abcdef");
    assert_eq!(origin.connections(), 1);
}

#[tokio::test]
async fn http_protocol_options_follow_winhttp_rules() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = session(&c).await;
    let e = fails(
        &c,
        "WinHttpSetOption",
        json!({"handle": ses, "option": OPTION_ENABLE_HTTP_PROTOCOL, "value": 4}),
    )
    .await;
    assert_eq!(e.code, ERROR_INVALID_PARAMETER);
    // HTTP3 is accepted as a wish; hinetd never uses it.
    set(&c, ses, OPTION_ENABLE_HTTP_PROTOCOL, json!(3)).await;
    let e = query(&c, ses, OPTION_ENABLE_HTTP_PROTOCOL)
        .await
        .unwrap_err();
    assert_eq!(e.code, ERROR_INVALID_PARAMETER, "set-only option");
    let e = query(&c, ses, OPTION_HTTP_PROTOCOL_USED).await.unwrap_err();
    assert_eq!(e.code, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
    let e = fails(
        &c,
        "WinHttpSetOption",
        json!({"handle": ses, "option": OPTION_HTTP_PROTOCOL_USED, "value": 1}),
    )
    .await;
    assert_eq!(e.code, 12011, "query-only option");
}

#[tokio::test]
async fn secure_protocols_restrict_tls_versions() {
    let cert = TestCert::localhost();
    let tls13 = HttpServer::start_tls_with_config(cert.server_config_with(
        &[b"http/1.1"],
        &[&rustls::version::TLS13],
        None,
    ))
    .await;
    let tls12 = HttpServer::start_tls_with_config(cert.server_config_with(
        &[b"http/1.1"],
        &[&rustls::version::TLS12],
        None,
    ))
    .await;
    let daemon = daemon_trusting(&cert);
    let c = daemon.connect().await;

    // The default speaks both.
    let default = session(&c).await;
    assert_eq!(
        query(&c, default, OPTION_SECURE_PROTOCOLS).await.unwrap(),
        TLS1_2 | TLS1_3
    );
    for port in [tls12.port(), tls13.port()] {
        let req = request(&c, default, port, "/hello").await;
        assert_eq!(exchange(&c, req).await, 200);
    }

    // TLS 1.2 only: the 1.3-only server is out of reach.
    let only12 = session(&c).await;
    set(&c, only12, OPTION_SECURE_PROTOCOLS, json!(TLS1_2)).await;
    let req = request(&c, only12, tls13.port(), "/hello").await;
    assert_eq!(
        send(&c, req).await.unwrap_err().code,
        ERROR_WINHTTP_SECURE_FAILURE
    );
    let req = request(&c, only12, tls12.port(), "/hello").await;
    assert_eq!(exchange(&c, req).await, 200);

    // TLS 1.3 only, the other way round.
    let only13 = session(&c).await;
    set(&c, only13, OPTION_SECURE_PROTOCOLS, json!(TLS1_3)).await;
    let req = request(&c, only13, tls12.port(), "/hello").await;
    assert_eq!(
        send(&c, req).await.unwrap_err().code,
        ERROR_WINHTTP_SECURE_FAILURE
    );
    let req = request(&c, only13, tls13.port(), "/hello").await;
    assert_eq!(exchange(&c, req).await, 200);

    // Old protocols alone cannot be had; mixed with TLS 1.2 the supported part is used.
    for old in [TLS1, TLS1 | TLS1_1, 0x8, 0x20, 0xA8, 0] {
        let e = fails(
            &c,
            "WinHttpSetOption",
            json!({"handle": only12, "option": OPTION_SECURE_PROTOCOLS, "value": old}),
        )
        .await;
        assert_eq!(e.code, ERROR_INVALID_PARAMETER, "value {old:#x}: {e}");
    }
    let mixed = session(&c).await;
    set(&c, mixed, OPTION_SECURE_PROTOCOLS, json!(TLS1 | TLS1_2)).await;
    let req = request(&c, mixed, tls12.port(), "/hello").await;
    assert_eq!(exchange(&c, req).await, 200);
    let req = request(&c, mixed, tls13.port(), "/hello").await;
    assert_eq!(
        send(&c, req).await.unwrap_err().code,
        ERROR_WINHTTP_SECURE_FAILURE
    );

    // Session only.
    let e = fails(
        &c,
        "WinHttpSetOption",
        json!({"handle": req, "option": OPTION_SECURE_PROTOCOLS, "value": TLS1_2}),
    )
    .await;
    assert_eq!(e.code, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
}

#[tokio::test]
async fn server_certificate_is_reported_after_the_handshake() {
    let cert = TestCert::localhost();
    let origin = HttpServer::start_tls(&cert).await;
    let plain = HttpServer::start().await;
    let daemon = daemon_trusting(&cert);
    let c = daemon.connect().await;
    let ses = session(&c).await;
    let req = request(&c, ses, origin.port(), "/hello").await;
    let e = query(&c, req, OPTION_SERVER_CERT_CONTEXT)
        .await
        .unwrap_err();
    assert_eq!(
        e.code, ERROR_WINHTTP_INCORRECT_HANDLE_STATE,
        "before the send"
    );
    assert_eq!(exchange(&c, req).await, 200);
    let info = query(&c, req, OPTION_SERVER_CERT_CONTEXT).await.unwrap();
    let subject = info["subject"].as_str().expect("subject");
    assert!(subject.contains("CN="), "subject {subject:?}");
    assert_eq!(info["issuer"], info["subject"], "self-signed");
    let (from, to) = (
        info["notBefore"].as_str().expect("notBefore"),
        info["notAfter"].as_str().expect("notAfter"),
    );
    assert!(
        from.ends_with('Z') && to.ends_with('Z') && from < to,
        "{from} .. {to}"
    );
    assert_eq!(
        unb64(info["der"].as_str().expect("der")),
        cert.cert_der().as_ref()
    );

    // Not on sessions; not for plain HTTP.
    let e = query(&c, ses, OPTION_SERVER_CERT_CONTEXT)
        .await
        .unwrap_err();
    assert_eq!(e.code, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
    let con = handle_of(
        &ok(
            &c,
            "WinHttpConnect",
            json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": plain.port()}),
        )
        .await,
    );
    let req = handle_of(
        &ok(
            &c,
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": "/hello"}),
        )
        .await,
    );
    assert_eq!(exchange(&c, req).await, 200);
    let e = query(&c, req, OPTION_SERVER_CERT_CONTEXT)
        .await
        .unwrap_err();
    assert_eq!(e.code, ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
}

#[tokio::test]
async fn client_certificates_are_asked_for_and_presented() {
    let cert = TestCert::localhost();
    let ca = TestCa::new();
    let (client_pem, client_key) = ca.issue_client("hinet-client");
    let strict = HttpServer::start_tls_with_config(cert.server_config_with(
        &[b"http/1.1"],
        &[&rustls::version::TLS13, &rustls::version::TLS12],
        Some(ca.client_verifier(false)),
    ))
    .await;
    let strict12 = HttpServer::start_tls_with_config(cert.server_config_with(
        &[b"http/1.1"],
        &[&rustls::version::TLS12],
        Some(ca.client_verifier(false)),
    ))
    .await;
    let optional = HttpServer::start_tls_with_config(cert.server_config_with(
        &[b"http/1.1"],
        &[&rustls::version::TLS13],
        Some(ca.client_verifier(true)),
    ))
    .await;
    let daemon = daemon_trusting(&cert);
    let c = daemon.connect().await;
    let ses = session(&c).await;

    // None set: the server's request for one fails the send, whichever TLS version.
    for port in [strict.port(), strict12.port(), optional.port()] {
        let req = request(&c, ses, port, "/hello").await;
        let e = send(&c, req).await.unwrap_err();
        assert_eq!(
            e.code, ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED,
            "port {port}: {e}"
        );
    }

    // Set on the request as {certPem, keyPem}.
    for port in [strict.port(), strict12.port()] {
        let req = request(&c, ses, port, "/hello").await;
        set(
            &c,
            req,
            HINET_OPTION_CLIENT_CERT_PEM,
            json!({"certPem": client_pem, "keyPem": client_key}),
        )
        .await;
        assert_eq!(exchange(&c, req).await, 200);
        assert_eq!(read_all(&c, req).await, b"hello world");
    }

    // Explicitly none (WINHTTP_NO_CLIENT_CERT_CONTEXT): an optional server lets it in,
    // a strict one does not.
    let req = request(&c, ses, optional.port(), "/hello").await;
    set(&c, req, OPTION_CLIENT_CERT_CONTEXT, Value::Null).await;
    assert_eq!(exchange(&c, req).await, 200);
    let req = request(&c, ses, strict.port(), "/hello").await;
    set(&c, req, HINET_OPTION_CLIENT_CERT_PEM, Value::Null).await;
    let failed = match send(&c, req).await {
        Err(e) => e.code,
        Ok(_) => match try_call(&c, "WinHttpReceiveResponse", json!({"handle": req})).await {
            Err(e) => e.code,
            Ok(v) => panic!("a strict server accepted no certificate: {v}"),
        },
    };
    assert_ne!(failed, ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED);

    // Set on the session as one PEM text: every request of the session presents it.
    let both = format!("{client_pem}\n{client_key}");
    set(&c, ses, HINET_OPTION_CLIENT_CERT_PEM, json!(both)).await;
    let req = request(&c, ses, strict.port(), "/hello").await;
    assert_eq!(exchange(&c, req).await, 200);

    // Bad input is refused when set.
    for bad in [
        json!("not PEM at all"),
        json!({"certPem": client_pem, "keyPem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}),
        json!({"certPem": cert.cert_pem, "keyPem": client_key}),
    ] {
        let e = fails(
            &c,
            "WinHttpSetOption",
            json!({"handle": ses, "option": HINET_OPTION_CLIENT_CERT_PEM, "value": bad}),
        )
        .await;
        assert_eq!(e.code, ERROR_INVALID_PARAMETER, "{e}");
    }
    let e = fails(
        &c,
        "WinHttpSetOption",
        json!({"handle": ses, "option": OPTION_CLIENT_CERT_CONTEXT, "value": null}),
    )
    .await;
    assert_eq!(e.code, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE, "request only");
}

#[tokio::test]
async fn untrusted_certificate_sends_secure_failure_with_flags() {
    let cert = TestCert::localhost();
    let origin = HttpServer::start_tls(&cert).await;
    // No --ca-file: the test certificate is from an unknown CA.
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = handle_of(&ok(&c, "WinHttpOpen", json!({"flags": 0x1000_0000})).await);
    ok(
        &c,
        "WinHttpSetStatusCallback",
        json!({"handle": ses, "notificationFlags": 0x0001_0000 | 0x0020_0000}),
    )
    .await;
    let req = request(&c, ses, origin.port(), "/hello").await;
    ok(&c, "WinHttpSendRequest", json!({"handle": req})).await;
    let mut seen = Vec::new();
    loop {
        let n = c
            .wait_for_notification(CALL_LIMIT, |n| n["params"]["result"]["handle"] == req)
            .await
            .unwrap_or_else(|| panic!("no notification; saw {seen:?}"));
        let e = n["params"]["result"].clone();
        let name = e["statusName"].as_str().unwrap_or("").to_owned();
        seen.push(e.clone());
        if name == "REQUEST_ERROR" {
            assert_eq!(e["info"]["error"], ERROR_WINHTTP_SECURE_FAILURE, "{e}");
            break;
        }
    }
    let failure = seen
        .iter()
        .find(|e| e["statusName"] == "SECURE_FAILURE")
        .unwrap_or_else(|| panic!("no SECURE_FAILURE before REQUEST_ERROR: {seen:?}"));
    let flags = failure["info"]["flags"].as_u64().expect("flags");
    assert_ne!(flags & 0x8, 0, "INVALID_CA in {flags:#x}");
}
