//! The egress policy: deny and allow rules, blocking private destinations by their resolved
//! address, and redirects that lead into a blocked destination.

use hinet_tests::{Daemon, HttpServer, RpcConn, TempDir, percent_encode};
use serde_json::{Value, json};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

fn handle(v: Value) -> u64 {
    v["handle"].as_u64().expect("a handle")
}

/// A daemon with `config` as its configuration file.
fn daemon_with(config: &str) -> (Daemon, TempDir) {
    let dir = TempDir::new("hinetd-egress");
    let path = dir.path().join("hinetd.toml");
    std::fs::write(&path, config).expect("write config");
    let daemon = Daemon::spawn(HINETD, &["--config", path.to_str().unwrap()]);
    (daemon, dir)
}

/// GET `path` from `host:port` in a sync session: the status code, or the error.
async fn get(c: &RpcConn, host: &str, port: u16, path: &str) -> Result<u64, hinet_tests::RpcError> {
    let s = handle(c.call("WinHttpOpen", json!({})).await.unwrap());
    let k = handle(
        c.call(
            "WinHttpConnect",
            json!({"handle": s, "serverName": host, "serverPort": port}),
        )
        .await
        .unwrap(),
    );
    let r = handle(
        c.call(
            "WinHttpOpenRequest",
            json!({"handle": k, "objectName": path}),
        )
        .await
        .unwrap(),
    );
    let result = async {
        c.call("WinHttpSendRequest", json!({"handle": r})).await?;
        c.call("WinHttpReceiveResponse", json!({"handle": r}))
            .await?;
        let v = c
            .call(
                "WinHttpQueryHeaders",
                json!({"handle": r, "infoLevel": 0x2000_0013u32}),
            )
            .await?;
        Ok(v["number"].as_u64().or(v["value"].as_u64()).unwrap_or(0))
    }
    .await;
    c.call("WinHttpCloseHandle", json!({"handle": s}))
        .await
        .unwrap();
    result
}

fn denied(r: Result<u64, hinet_tests::RpcError>, mentions: &str) {
    let e = r.expect_err("the policy refuses this request");
    assert_eq!(e.code, 5, "{e}");
    assert!(e.to_string().contains(mentions), "{e}");
}

#[tokio::test]
async fn everything_is_allowed_by_default() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    assert_eq!(
        get(&c, "127.0.0.1", origin.port(), "/hello").await.unwrap(),
        200
    );
    assert_eq!(
        get(&c, "localhost", origin.port(), "/hello").await.unwrap(),
        200
    );
}

#[tokio::test]
async fn a_deny_rule_refuses_and_names_itself() {
    let blocked = HttpServer::start().await;
    let open = HttpServer::start().await;
    let (daemon, _dir) = daemon_with(&format!(
        r#"
        [[egress.rules]]
        action = "deny"
        name = "no-internal-admin"
        hosts = ["127.0.0.1"]
        ports = [{}]
        "#,
        blocked.port()
    ));
    let c = daemon.connect().await;
    denied(
        get(&c, "127.0.0.1", blocked.port(), "/hello").await,
        "no-internal-admin",
    );
    assert_eq!(
        blocked.connections(),
        0,
        "nothing reached the denied server"
    );
    assert_eq!(
        get(&c, "127.0.0.1", open.port(), "/hello").await.unwrap(),
        200
    );
    let log = daemon.stderr_log();
    assert!(
        log.lines()
            .any(|l| l.contains("egress denied") && l.contains("no-internal-admin")),
        "{log}"
    );
    let st = c.call("HinetStatus", json!({})).await.unwrap();
    let fives = st["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == 5)
        .cloned()
        .unwrap_or_default();
    assert_eq!(fives["count"], 1, "{st}");
}

#[tokio::test]
async fn with_default_deny_only_allowed_destinations_are_reached() {
    let allowed = HttpServer::start().await;
    let other = HttpServer::start().await;
    let (daemon, _dir) = daemon_with(&format!(
        r#"
        [egress]
        default = "deny"
        [[egress.rules]]
        action = "allow"
        hosts = ["127.0.0.0/8"]
        ports = [{}]
        schemes = ["http"]
        "#,
        allowed.port()
    ));
    let c = daemon.connect().await;
    assert_eq!(
        get(&c, "127.0.0.1", allowed.port(), "/hello")
            .await
            .unwrap(),
        200
    );
    denied(
        get(&c, "127.0.0.1", other.port(), "/hello").await,
        "egress.default",
    );
    assert_eq!(other.connections(), 0);
}

#[tokio::test]
async fn private_destinations_are_blocked_by_their_resolved_address() {
    let origin = HttpServer::start().await;
    let (daemon, _dir) = daemon_with("[egress]\nblock_private = true\n");
    let c = daemon.connect().await;
    // The name is harmless; what it resolves to is not.
    denied(
        get(&c, "localhost", origin.port(), "/hello").await,
        "block_private",
    );
    denied(
        get(&c, "127.0.0.1", origin.port(), "/hello").await,
        "loopback",
    );
    assert_eq!(origin.connections(), 0);
}

#[tokio::test]
async fn a_redirect_into_a_blocked_destination_is_refused() {
    let origin = HttpServer::start().await;
    let (daemon, _dir) = daemon_with(
        r#"
        [[egress.rules]]
        action = "deny"
        name = "no-localhost"
        hosts = ["localhost"]
        "#,
    );
    let c = daemon.connect().await;
    let target = format!("http://localhost:{}/hello", origin.port());
    let path = format!("/redirect?to={}", percent_encode(&target));
    denied(
        get(&c, "127.0.0.1", origin.port(), &path).await,
        "no-localhost",
    );
    // The first hop was allowed and answered; the second never happened.
    let paths: Vec<String> = origin.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert!(paths[0].starts_with("/redirect"), "{paths:?}");
}

/// A proxy is no way around the policy: the real target is judged too.
#[tokio::test]
async fn a_proxy_does_not_bypass_the_policy() {
    let blocked = HttpServer::start().await;
    let proxy = hinet_tests::proxy::Tinyproxy::start();
    let (daemon, _dir) = daemon_with(&format!(
        r#"
        [[egress.rules]]
        action = "deny"
        name = "no-blocked-origin"
        hosts = ["127.0.0.1"]
        ports = [{}]
        "#,
        blocked.port()
    ));
    let c = daemon.connect().await;
    let s = handle(
        c.call(
            "WinHttpOpen",
            json!({"accessType": 3, "proxyName": format!("127.0.0.1:{}", proxy.port())}),
        )
        .await
        .unwrap(),
    );
    let k = handle(
        c.call(
            "WinHttpConnect",
            json!({"handle": s, "serverName": "127.0.0.1", "serverPort": blocked.port()}),
        )
        .await
        .unwrap(),
    );
    let r = handle(
        c.call(
            "WinHttpOpenRequest",
            json!({"handle": k, "objectName": "/hello"}),
        )
        .await
        .unwrap(),
    );
    let e = c
        .call("WinHttpSendRequest", json!({"handle": r}))
        .await
        .expect_err("the target is denied even through the proxy");
    assert_eq!(e.code, 5, "{e}");
    assert!(e.to_string().contains("no-blocked-origin"), "{e}");
    assert_eq!(blocked.connections(), 0);
}
