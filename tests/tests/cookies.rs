//! The per-session cookie jar: Set-Cookie stored from every response (redirect hops too),
//! sent back per RFC 6265 (domain, path, secure, expiry), never across sessions, and
//! WINHTTP_DISABLE_COOKIES.

use hinet_tests::calls::{
    FLAG_REQUEST_HEADERS, header, open, read_all, request, send_receive, set_option, status,
};
use hinet_tests::{Daemon, HttpServer, RpcConn, TestCert, percent_encode};
use serde_json::json;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const OPTION_DISABLE_FEATURE: u32 = 63;
const DISABLE_COOKIES: u64 = 0x1;
const FLAG_SECURE: u32 = 0x0080_0000;

/// `/respond` setting these cookies (with `status` and more headers).
fn set_cookies(status: u16, cookies: &[&str], more: &[(&str, &str)]) -> String {
    let mut p = format!("/respond?status={status}");
    for c in cookies {
        p.push_str(&format!("&Set-Cookie={}", percent_encode(c)));
    }
    for (n, v) in more {
        p.push_str(&format!("&{n}={}", percent_encode(v)));
    }
    p
}

/// Sends `GET path` to `host:port` in `session` and reads the answer; returns the request.
async fn get(c: &RpcConn, session: u64, host: &str, port: u16, path: &str, flags: u32) -> u64 {
    let req = request(c, session, host, port, "GET", path, flags).await;
    send_receive(c, req, json!({}))
        .await
        .expect("send and receive");
    read_all(c, req, 65536).await.expect("body");
    req
}

/// The Cookie header of the last request `origin` saw.
fn last_cookie(origin: &HttpServer) -> Option<String> {
    origin
        .requests()
        .last()
        .and_then(|r| r.header("cookie").map(str::to_owned))
}

#[tokio::test]
async fn cookies_go_back_by_path_and_expire() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, json!({})).await;
    let port = origin.port();
    get(
        &c,
        s,
        "127.0.0.1",
        port,
        &set_cookies(
            200,
            &["a=1", "b=2; Path=/echo", "c=3; Path=/elsewhere"],
            &[],
        ),
        0,
    )
    .await;
    assert_eq!(last_cookie(&origin), None);
    // Longer paths first.
    let req = get(&c, s, "127.0.0.1", port, "/echo", 0).await;
    assert_eq!(last_cookie(&origin).as_deref(), Some("b=2; a=1"));
    // What was sent is what QueryHeaders reports.
    assert_eq!(
        header(&c, req, "Cookie", FLAG_REQUEST_HEADERS)
            .await
            .unwrap(),
        "b=2; a=1"
    );
    get(&c, s, "127.0.0.1", port, "/hello", 0).await;
    assert_eq!(last_cookie(&origin).as_deref(), Some("a=1"));
    // Max-Age=0 removes a cookie; a new value replaces the old.
    get(
        &c,
        s,
        "127.0.0.1",
        port,
        &set_cookies(200, &["a=; Max-Age=0", "b=22; Path=/echo"], &[]),
        0,
    )
    .await;
    get(&c, s, "127.0.0.1", port, "/echo", 0).await;
    assert_eq!(last_cookie(&origin).as_deref(), Some("b=22"));
}

#[tokio::test]
async fn cookies_are_kept_across_a_redirect_but_not_given_to_another_host() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, json!({})).await;
    let port = origin.port();
    // The 302 sets the cookie; the hop it leads to carries it already.
    let path = set_cookies(302, &["hop=1"], &[("Location", "/echo")]);
    let req = get(&c, s, "127.0.0.1", port, &path, 0).await;
    assert_eq!(status(&c, req).await, 200);
    assert_eq!(last_cookie(&origin).as_deref(), Some("hop=1"));
    // A redirect to another host name: that host gets none of 127.0.0.1's cookies.
    let other = HttpServer::start().await;
    let to = other.url_with_host("localhost", "/echo");
    let path = set_cookies(302, &["more=2"], &[("Location", &to)]);
    get(&c, s, "127.0.0.1", port, &path, 0).await;
    assert_eq!(other.requests().len(), 1);
    assert_eq!(last_cookie(&other), None);
}

#[tokio::test]
async fn sessions_do_not_share_cookies() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let one = open(&c, json!({})).await;
    let two = open(&c, json!({})).await;
    let port = origin.port();
    get(
        &c,
        one,
        "127.0.0.1",
        port,
        &set_cookies(200, &["mine=1"], &[]),
        0,
    )
    .await;
    get(&c, two, "127.0.0.1", port, "/echo", 0).await;
    assert_eq!(last_cookie(&origin), None);
    get(&c, one, "127.0.0.1", port, "/echo", 0).await;
    assert_eq!(last_cookie(&origin).as_deref(), Some("mine=1"));
    // Nor do two connections to the daemon.
    let c2 = daemon.connect().await;
    let three = open(&c2, json!({})).await;
    get(&c2, three, "127.0.0.1", port, "/echo", 0).await;
    assert_eq!(last_cookie(&origin), None);
}

#[tokio::test]
async fn secure_cookies_only_over_https() {
    let cert = TestCert::localhost();
    let tls = HttpServer::start_tls(&cert).await;
    let plain = HttpServer::start().await;
    let ca = cert.ca_file.to_str().expect("utf-8 path");
    let daemon = Daemon::spawn(HINETD, &["--ca-file", ca]);
    let c = daemon.connect().await;
    let s = open(&c, json!({})).await;
    get(
        &c,
        s,
        "localhost",
        tls.port(),
        &set_cookies(200, &["sec=1; Secure", "open=2"], &[]),
        FLAG_SECURE,
    )
    .await;
    get(&c, s, "localhost", tls.port(), "/echo", FLAG_SECURE).await;
    assert_eq!(last_cookie(&tls).as_deref(), Some("sec=1; open=2"));
    // The same host over plain HTTP (another port: cookies ignore ports) gets only the
    // cookie that is not Secure.
    get(&c, s, "localhost", plain.port(), "/echo", 0).await;
    assert_eq!(last_cookie(&plain).as_deref(), Some("open=2"));
    // A Secure cookie set over plain HTTP is refused.
    get(
        &c,
        s,
        "localhost",
        plain.port(),
        &set_cookies(200, &["sneaky=1; Secure"], &[]),
        0,
    )
    .await;
    get(&c, s, "localhost", tls.port(), "/echo", FLAG_SECURE).await;
    assert_eq!(last_cookie(&tls).as_deref(), Some("sec=1; open=2"));
}

#[tokio::test]
async fn disable_cookies_and_the_applications_own_cookie_header() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, json!({})).await;
    let port = origin.port();
    get(
        &c,
        s,
        "127.0.0.1",
        port,
        &set_cookies(200, &["kept=1"], &[]),
        0,
    )
    .await;

    // Disabled: none sent, and what the response sets is not stored.
    let req = request(
        &c,
        s,
        "127.0.0.1",
        port,
        "GET",
        &set_cookies(200, &["ignored=1"], &[]),
        0,
    )
    .await;
    set_option(&c, req, OPTION_DISABLE_FEATURE, json!(DISABLE_COOKIES))
        .await
        .unwrap();
    send_receive(&c, req, json!({})).await.unwrap();
    assert_eq!(last_cookie(&origin), None);
    get(&c, s, "127.0.0.1", port, "/echo", 0).await;
    assert_eq!(last_cookie(&origin).as_deref(), Some("kept=1"));

    // A Cookie header of the application's own is sent instead of the jar's.
    let req = request(&c, s, "127.0.0.1", port, "GET", "/echo", 0).await;
    send_receive(&c, req, json!({"headers": "Cookie: mine=9"}))
        .await
        .unwrap();
    assert_eq!(last_cookie(&origin).as_deref(), Some("mine=9"));
}
