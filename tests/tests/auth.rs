//! Authentication: WinHttpQueryAuthSchemes, WinHttpSetCredentials, the credential options,
//! Basic (pre-emptive too) and Digest (MD5 and SHA-256, checked by the server), automatic
//! retries inside ReceiveResponse and where they stop.

use hinet_tests::calls::{
    FLAG_REQUEST_HEADERS, code, header, open, read_all, request, send_receive, set_option, status,
};
use hinet_tests::{Daemon, HttpServer, RpcConn, b64, percent_encode};
use serde_json::{Value, json};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

const BASIC: u64 = 0x1;
const NTLM: u64 = 0x2;
const PASSPORT: u64 = 0x4;
const DIGEST: u64 = 0x8;
const NEGOTIATE: u64 = 0x10;
const OPTION_USERNAME: u32 = 0x1000;
const OPTION_PASSWORD: u32 = 0x1001;
const OPTION_DISABLE_FEATURE: u32 = 63;
const DISABLE_AUTHENTICATION: u64 = 0x4;

async fn schemes(c: &RpcConn, req: u64) -> Result<Value, hinet_tests::RpcError> {
    c.call("WinHttpQueryAuthSchemes", json!({"handle": req}))
        .await
}

async fn credentials(c: &RpcConn, req: u64, scheme: u64, user: &str, pass: &str) {
    c.call(
        "WinHttpSetCredentials",
        json!({"handle": req, "authTargets": 0, "authScheme": scheme,
               "userName": user, "password": pass}),
    )
    .await
    .expect("WinHttpSetCredentials");
}

fn digest_path(alg: &str, user: &str, pass: &str) -> String {
    format!("/digest-auth?user={user}&pass={pass}&algorithm={alg}")
}

/// `/respond` answering `status` with these headers.
fn respond_path(status: u16, headers: &[(&str, &str)]) -> String {
    let mut p = format!("/respond?status={status}");
    for (n, v) in headers {
        p.push_str(&format!("&{n}={}", percent_encode(v)));
    }
    p
}

struct Setup {
    origin: HttpServer,
    _daemon: Daemon,
    c: RpcConn,
    session: u64,
}

async fn setup() -> Setup {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let session = open(&c, json!({})).await;
    Setup {
        origin,
        _daemon: daemon,
        c,
        session,
    }
}

impl Setup {
    async fn request(&self, verb: &str, path: &str) -> u64 {
        request(
            &self.c,
            self.session,
            "127.0.0.1",
            self.origin.port(),
            verb,
            path,
            0,
        )
        .await
    }

    fn authorizations(&self) -> Vec<Option<String>> {
        self.origin
            .requests()
            .iter()
            .map(|r| r.header("authorization").map(str::to_owned))
            .collect()
    }
}

#[tokio::test]
async fn query_auth_schemes_needs_a_challenge() {
    let t = setup().await;
    let req = t.request("GET", "/hello").await;
    // Before any response, and after one without a challenge: 4317.
    assert_eq!(code(schemes(&t.c, req).await), 4317);
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(code(schemes(&t.c, req).await), 4317);
    // A session handle is not a request.
    assert_eq!(code(schemes(&t.c, t.session).await), 12018);
}

#[tokio::test]
async fn query_auth_schemes_reports_every_recognised_scheme_in_order() {
    let t = setup().await;
    let path = respond_path(
        401,
        &[
            ("WWW-Authenticate", "Bearer realm=\"api\""),
            ("WWW-Authenticate", "Negotiate"),
            ("WWW-Authenticate", "NTLM"),
            (
                "WWW-Authenticate",
                "Digest realm=\"r\", nonce=\"n\", qop=\"auth\"",
            ),
            ("WWW-Authenticate", "Basic realm=\"r\""),
            ("WWW-Authenticate", "Passport1.4 x=1"),
        ],
    );
    let req = t.request("GET", &path).await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 401);
    let r = schemes(&t.c, req).await.unwrap();
    assert_eq!(
        r,
        json!({"supportedSchemes": NEGOTIATE | NTLM | DIGEST | BASIC | PASSPORT,
               "firstScheme": NEGOTIATE, "authTarget": 0})
    );
    // Only Proxy-Authenticate: the proxy target.
    let path = respond_path(407, &[("Proxy-Authenticate", "Basic realm=\"p\"")]);
    let req = t.request("GET", &path).await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    let r = schemes(&t.c, req).await.unwrap();
    assert_eq!(
        r,
        json!({"supportedSchemes": BASIC, "firstScheme": BASIC, "authTarget": 1})
    );
    // Only schemes WinHTTP does not know: no challenge.
    let path = respond_path(401, &[("WWW-Authenticate", "Bearer realm=\"api\"")]);
    let req = t.request("GET", &path).await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(code(schemes(&t.c, req).await), 4317);
}

#[tokio::test]
async fn set_credentials_checks_its_arguments() {
    let t = setup().await;
    let req = t.request("GET", "/hello").await;
    let call = |p: Value| {
        let mut p = p;
        p["handle"] = json!(req);
        t.c.call("WinHttpSetCredentials", p)
    };
    let user = json!("u");
    for (targets, scheme) in [(0, 0), (0, 3), (0, 0x20), (2, BASIC)] {
        let r = call(json!({"authTargets": targets, "authScheme": scheme,
                            "userName": user, "password": "p"}))
        .await;
        assert_eq!(code(r), 87, "targets {targets} scheme {scheme}");
    }
    // Basic and Digest need both strings.
    for scheme in [BASIC, DIGEST] {
        assert_eq!(
            code(call(json!({"authTargets": 0, "authScheme": scheme, "userName": "u"})).await),
            87
        );
        assert_eq!(
            code(call(json!({"authTargets": 0, "authScheme": scheme, "password": "p"})).await),
            87
        );
    }
    // NTLM, Negotiate and Passport: a clear "not supported", not a silent success.
    for scheme in [NTLM, NEGOTIATE, PASSPORT] {
        let e = call(json!({"authTargets": 0, "authScheme": scheme}))
            .await
            .unwrap_err();
        assert_eq!(e.code, 50, "{e}");
        assert!(e.message.contains("not supported by hinetd"), "{e}");
    }
    // A session handle: 12018.
    let e =
        t.c.call(
            "WinHttpSetCredentials",
            json!({"handle": t.session, "authTargets": 0, "authScheme": BASIC,
                   "userName": "u", "password": "p"}),
        )
        .await;
    assert_eq!(code(e), 12018);
}

#[tokio::test]
async fn basic_after_a_challenge_then_resend() {
    let t = setup().await;
    let req = t.request("GET", "/basic-auth?user=alice&pass=s3cret").await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 401);
    let r = schemes(&t.c, req).await.unwrap();
    assert_eq!(r["firstScheme"], BASIC);
    assert_eq!(r["authTarget"], 0);
    credentials(&t.c, req, BASIC, "alice", "s3cret").await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 200);
    assert_eq!(read_all(&t.c, req, 4096).await.unwrap(), b"authenticated");
    let expected = format!("Basic {}", b64(b"alice:s3cret"));
    assert_eq!(t.authorizations(), [None, Some(expected.clone())]);
    // QueryHeaders shows the header as sent.
    assert_eq!(
        header(&t.c, req, "Authorization", FLAG_REQUEST_HEADERS)
            .await
            .unwrap(),
        expected
    );
}

#[tokio::test]
async fn basic_credentials_go_before_any_challenge_in_utf8() {
    let t = setup().await;
    let path = format!(
        "/basic-auth?user={}&pass={}",
        percent_encode("jürgen"),
        percent_encode("pässword")
    );
    let req = t.request("GET", &path).await;
    credentials(&t.c, req, BASIC, "jürgen", "pässword").await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 200);
    assert_eq!(t.origin.requests().len(), 1);
}

#[tokio::test]
async fn digest_md5_and_sha256_after_a_challenge() {
    let t = setup().await;
    for alg in ["MD5", "SHA-256"] {
        t.origin.clear_requests();
        let req = t.request("GET", &digest_path(alg, "bob", "pw")).await;
        send_receive(&t.c, req, json!({})).await.unwrap();
        assert_eq!(status(&t.c, req).await, 401, "{alg}");
        let r = schemes(&t.c, req).await.unwrap();
        assert_eq!(r["firstScheme"], DIGEST);
        credentials(&t.c, req, DIGEST, "bob", "pw").await;
        send_receive(&t.c, req, json!({})).await.unwrap();
        // The server computed the expected answer itself: a 200 means it was right.
        assert_eq!(status(&t.c, req).await, 200, "{alg}");
        assert_eq!(read_all(&t.c, req, 4096).await.unwrap(), b"authenticated");
        let auths = t.authorizations();
        assert_eq!(auths.len(), 2, "{alg}: {auths:?}");
        let answer = auths[1].clone().expect("an Authorization header");
        assert!(answer.starts_with("Digest "), "{answer}");
        assert!(answer.contains("qop=auth"), "{answer}");
        assert!(answer.contains(&format!("algorithm={alg}")), "{answer}");
        // The same request sent again answers the same challenge with the next count.
        send_receive(&t.c, req, json!({})).await.unwrap();
        assert_eq!(status(&t.c, req).await, 200, "{alg}");
        let third = t.authorizations()[2].clone().expect("Authorization");
        assert!(third.contains("nc=00000002"), "{third}");
    }
}

#[tokio::test]
async fn credentials_set_before_the_challenge_are_used_inside_receive_response() {
    let t = setup().await;
    // SetCredentials(Digest) before the first send: Digest never goes pre-emptively, so
    // the 401 comes and ReceiveResponse answers it by itself.
    let req = t
        .request("POST", &digest_path("SHA-256", "carol", "pw"))
        .await;
    credentials(&t.c, req, DIGEST, "carol", "pw").await;
    send_receive(&t.c, req, json!({"optional": b64(b"the body")}))
        .await
        .unwrap();
    assert_eq!(status(&t.c, req).await, 200);
    let seen = t.origin.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].header("authorization").is_none());
    assert!(seen[1].header("authorization").is_some());
    // The body went again with the retry.
    assert_eq!(seen[1].body, b"the body");

    // The USERNAME/PASSWORD options do the same, for Basic as well.
    t.origin.clear_requests();
    let req = t.request("GET", "/basic-auth?user=dave&pass=pw").await;
    set_option(&t.c, req, OPTION_USERNAME, json!("dave"))
        .await
        .unwrap();
    set_option(&t.c, req, OPTION_PASSWORD, json!("pw"))
        .await
        .unwrap();
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 200);
    let auths = t.authorizations();
    assert_eq!(auths, [None, Some(format!("Basic {}", b64(b"dave:pw")))]);
}

#[tokio::test]
async fn set_credentials_wins_over_the_options() {
    let t = setup().await;
    let req = t.request("GET", "/basic-auth?user=erin&pass=right").await;
    set_option(&t.c, req, OPTION_USERNAME, json!("erin"))
        .await
        .unwrap();
    set_option(&t.c, req, OPTION_PASSWORD, json!("wrong"))
        .await
        .unwrap();
    credentials(&t.c, req, BASIC, "erin", "right").await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 200);
    assert_eq!(t.origin.requests().len(), 1);
}

#[tokio::test]
async fn wrong_credentials_end_with_the_401() {
    let t = setup().await;
    // Digest: one automatic answer, then the 401 is the application's.
    let req = t
        .request("GET", &digest_path("MD5", "frank", "right"))
        .await;
    credentials(&t.c, req, DIGEST, "frank", "wrong").await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 401);
    assert_eq!(t.origin.requests().len(), 2);
    // Sent again by the application: the same challenge comes back; no further retry.
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 401);
    assert_eq!(t.origin.requests().len(), 3);

    // Basic: the pre-emptive credentials were refused; sending them again is pointless.
    t.origin.clear_requests();
    let req = t.request("GET", "/basic-auth?user=frank&pass=right").await;
    credentials(&t.c, req, BASIC, "frank", "wrong").await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 401);
    assert_eq!(t.origin.requests().len(), 1);
    // Correct ones, set after the 401, then work.
    credentials(&t.c, req, BASIC, "frank", "right").await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 200);
}

#[tokio::test]
async fn no_automatic_retry_when_disabled_or_the_body_was_streamed() {
    let t = setup().await;
    let req = t.request("GET", &digest_path("MD5", "gina", "pw")).await;
    credentials(&t.c, req, DIGEST, "gina", "pw").await;
    set_option(
        &t.c,
        req,
        OPTION_DISABLE_FEATURE,
        json!(DISABLE_AUTHENTICATION),
    )
    .await
    .unwrap();
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 401);
    assert_eq!(t.origin.requests().len(), 1);
    // The application may still answer by sending again itself.
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 200);

    // A body written with WriteData cannot be sent again: the 401 is returned.
    t.origin.clear_requests();
    let req = t.request("PUT", &digest_path("MD5", "gina", "pw")).await;
    credentials(&t.c, req, DIGEST, "gina", "pw").await;
    t.c.call(
        "WinHttpSendRequest",
        json!({"handle": req, "optional": b64(b"12345"), "totalLength": 10}),
    )
    .await
    .unwrap();
    t.c.call(
        "WinHttpWriteData",
        json!({"handle": req, "data": b64(b"67890")}),
    )
    .await
    .unwrap();
    t.c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    assert_eq!(status(&t.c, req).await, 401);
    assert_eq!(t.origin.requests().len(), 1);
}

#[tokio::test]
async fn credentials_do_not_follow_a_redirect_to_another_host() {
    let t = setup().await;
    let other = HttpServer::start().await;
    let to = other.url_with_host("localhost", "/echo");
    let req = t
        .request("GET", &format!("/redirect?to={}", percent_encode(&to)))
        .await;
    credentials(&t.c, req, BASIC, "henry", "pw").await;
    send_receive(&t.c, req, json!({})).await.unwrap();
    assert_eq!(status(&t.c, req).await, 200);
    assert!(t.authorizations()[0].is_some());
    let seen = other.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), None);
}

#[tokio::test]
async fn async_session_answers_digest_inside_receive_response() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let session = open(&c, json!({"flags": 0x1000_0000u32})).await;
    let req = request(
        &c,
        session,
        "127.0.0.1",
        origin.port(),
        "GET",
        &digest_path("SHA-256", "ivy", "pw"),
        0,
    )
    .await;
    let sub = c
        .call(
            "WinHttpSetStatusCallback",
            json!({"handle": req, "notificationFlags": 0xFFFF_FFFFu32}),
        )
        .await
        .unwrap();
    assert!(!sub.is_null());
    credentials(&c, req, DIGEST, "ivy", "pw").await;
    c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    let timeout = std::time::Duration::from_secs(10);
    c.wait_for_notification(timeout, |n| {
        n["params"]["result"]["statusName"] == "SENDREQUEST_COMPLETE"
    })
    .await
    .expect("SENDREQUEST_COMPLETE");
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    c.wait_for_notification(timeout, |n| {
        n["params"]["result"]["statusName"] == "HEADERS_AVAILABLE"
    })
    .await
    .expect("HEADERS_AVAILABLE");
    assert_eq!(status(&c, req).await, 200);
    assert_eq!(origin.requests().len(), 2);
}

#[tokio::test]
async fn proxy_credentials_set_before_the_first_send() {
    let proxy = hinet_tests::Tinyproxy::start_with_auth("pat", "pw");
    let plain = HttpServer::start().await;
    let cert = hinet_tests::TestCert::localhost();
    let tls = HttpServer::start_tls(&cert).await;
    let ca = cert.ca_file.to_str().expect("utf-8 path");
    let daemon = Daemon::spawn(HINETD, &["--ca-file", ca]);
    let c = daemon.connect().await;
    let s = open(&c, json!({"accessType": 3, "proxyName": proxy.host_port()})).await;
    for (port, flags) in [(plain.port(), 0), (tls.port(), 0x0080_0000)] {
        // SetCredentials(PROXY, Basic) goes to the proxy before it asks.
        let req = request(&c, s, "127.0.0.1", port, "GET", "/echo", flags).await;
        c.call(
            "WinHttpSetCredentials",
            json!({"handle": req, "authTargets": 1, "authScheme": BASIC,
                   "userName": "pat", "password": "pw"}),
        )
        .await
        .unwrap();
        send_receive(&c, req, json!({})).await.unwrap();
        assert_eq!(status(&c, req).await, 200, "flags {flags:#x}");
        let echo = read_all(&c, req, 65536).await.unwrap();
        let echo = String::from_utf8_lossy(&echo).to_ascii_lowercase();
        // Meant for the proxy only: the origin never sees it.
        assert!(!echo.contains("proxy-authorization"), "{echo}");

        // PROXY_USERNAME/PROXY_PASSWORD: the 407 is answered inside ReceiveResponse.
        let req = request(&c, s, "127.0.0.1", port, "GET", "/hello", flags).await;
        set_option(&c, req, 0x1002, json!("pat")).await.unwrap();
        set_option(&c, req, 0x1003, json!("pw")).await.unwrap();
        send_receive(&c, req, json!({})).await.unwrap();
        assert_eq!(status(&c, req).await, 200, "flags {flags:#x}");
        assert_eq!(read_all(&c, req, 4096).await.unwrap(), b"hello world");
    }
}

#[tokio::test]
async fn the_applications_own_authorization_header_is_left_alone() {
    let t = setup().await;
    let req = t.request("GET", &digest_path("MD5", "kim", "pw")).await;
    credentials(&t.c, req, DIGEST, "kim", "pw").await;
    send_receive(&t.c, req, json!({"headers": "Authorization: Bearer abc"}))
        .await
        .unwrap();
    // Not replaced, and no automatic answer over it.
    assert_eq!(status(&t.c, req).await, 401);
    assert_eq!(t.authorizations(), [Some("Bearer abc".to_owned())]);
}
