//! The shortest complete synchronous exchange, end to end: the pattern the other suites follow.

use hinet_tests::{Daemon, HttpServer, unb64};
use serde_json::json;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

#[tokio::test]
async fn get_hello_through_the_daemon() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;

    let ses = c
        .call("WinHttpOpen", json!({"userAgent": "smoke/1"}))
        .await
        .unwrap()["handle"]
        .as_u64()
        .unwrap();
    let con = c
        .call(
            "WinHttpConnect",
            json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap()["handle"]
        .as_u64()
        .unwrap();
    let req = c
        .call(
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": "/hello"}),
        )
        .await
        .unwrap()["handle"]
        .as_u64()
        .unwrap();
    c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    let status = c
        .call(
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": 19 | 0x2000_0000}),
        )
        .await
        .unwrap();
    assert_eq!(status["value"], 200);
    let read = c
        .call(
            "WinHttpReadData",
            json!({"handle": req, "bytesToRead": 4096}),
        )
        .await
        .unwrap();
    assert_eq!(unb64(read["data"].as_str().unwrap()), b"hello world");
    let end = c
        .call(
            "WinHttpReadData",
            json!({"handle": req, "bytesToRead": 4096}),
        )
        .await
        .unwrap();
    assert_eq!(end["bytesRead"], 0);
    c.call("WinHttpCloseHandle", json!({"handle": ses}))
        .await
        .unwrap();

    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("user-agent"), Some("smoke/1"));
}
