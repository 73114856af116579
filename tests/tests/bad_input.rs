//! Malformed and hostile input on the JSON-RPC socket.
//!
//! Every case checks the exact JSON-RPC error (code and id) and then proves that the SAME
//! connection still works with a successful `WinHttpOpen`. Raw lines use string ids or ids
//! ≥ 1e9 so they never collide with the harness's own call ids.

use std::time::Duration;

use hinet_tests::{Daemon, HttpServer, RpcConn, unb64};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const MESSAGE_TOO_LARGE: i64 = -32007;

const WAIT: Duration = Duration::from_secs(5);

/// Writes `line` plus `\n` and returns the next unsolicited response.
async fn raw(c: &RpcConn, line: &[u8]) -> Value {
    let mut bytes = line.to_vec();
    bytes.push(b'\n');
    c.send_raw(&bytes).await;
    c.next_raw_response(WAIT).await.unwrap_or_else(|| {
        panic!(
            "no response within {WAIT:?} to {:?}",
            String::from_utf8_lossy(&line[..line.len().min(200)])
        )
    })
}

/// Asserts `v` is a JSON-RPC 2.0 error response with `code` and `id`.
#[track_caller]
fn assert_error(v: &Value, code: i64, id: &Value) {
    assert_eq!(v["jsonrpc"], "2.0", "{v}");
    assert!(v.get("result").is_none(), "an error has no result: {v}");
    assert_eq!(v["error"]["code"], code, "wrong code in {v}");
    assert!(v["error"]["message"].is_string(), "error.message in {v}");
    assert_eq!(
        v.get("id"),
        Some(id),
        "wrong id (must be present, null if unknown): {v}"
    );
}

/// The connection still serves calls: a WinHttpOpen succeeds (and its handle is closed).
async fn still_works(c: &RpcConn) {
    let h = c
        .call("WinHttpOpen", json!({"userAgent": "still-alive"}))
        .await
        .expect("WinHttpOpen after bad input")["handle"]
        .as_u64()
        .expect("a handle number");
    assert!(h > 0);
    c.call("WinHttpCloseHandle", json!({"handle": h}))
        .await
        .expect("close");
    // Nothing unexpected is queued behind the good call.
    assert!(
        c.drain_raw_responses().await.is_empty(),
        "stray responses after a good call"
    );
}

#[tokio::test]
async fn malformed_json_is_a_parse_error_with_null_id() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    for line in [
        &b"{not json"[..],
        b"{\"jsonrpc\":\"2.0\",\"id\":\"p1\",\"method\":\"WinHttpOpen\"",
        b"{\"jsonrpc\":\"2.0\",\"id\":\"p2\",\"method\":\"WinHttpOpen\"}}",
        b"nul",
        b"'single'",
        b"[{\"jsonrpc\":\"2.0\",\"id\":\"p3\",\"method\":\"WinHttpOpen\"}",
    ] {
        let v = raw(&c, line).await;
        assert_error(&v, PARSE_ERROR, &Value::Null);
        still_works(&c).await;
    }
    assert!(
        c.protocol_violations().is_empty(),
        "{:?}",
        c.protocol_violations()
    );
}

#[tokio::test]
async fn valid_json_that_is_not_a_request_is_invalid_request() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    for line in [
        &br#"{"foo":1}"#[..],
        b"[]",
        b"42",
        b"\"text\"",
        b"null",
        b"true",
        br#"{"jsonrpc":"2.0","method":1,"params":"bar"}"#,
    ] {
        let v = raw(&c, line).await;
        assert_error(&v, INVALID_REQUEST, &Value::Null);
        still_works(&c).await;
    }
    // When the id can be read, it is echoed.
    for (line, id) in [
        (
            br#"{"id":"nojr","method":"WinHttpOpen"}"#.as_slice(),
            json!("nojr"),
        ),
        (
            br#"{"jsonrpc":"1.0","id":1000000001,"method":"WinHttpOpen"}"#,
            json!(1_000_000_001u64),
        ),
        (br#"{"jsonrpc":"2.0","id":"nomethod"}"#, json!("nomethod")),
    ] {
        let v = raw(&c, line).await;
        assert_error(&v, INVALID_REQUEST, &id);
        still_works(&c).await;
    }
}

#[tokio::test]
async fn unknown_method_echoes_the_id() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    for (line, id) in [
        (
            br#"{"jsonrpc":"2.0","id":"u1","method":"WinHttpNoSuchThing","params":{}}"#.as_slice(),
            json!("u1"),
        ),
        (
            br#"{"jsonrpc":"2.0","id":1000000002,"method":"winhttpopen"}"#,
            json!(1_000_000_002u64),
        ),
        (br#"{"jsonrpc":"2.0","id":"u3","method":""}"#, json!("u3")),
    ] {
        let v = raw(&c, line).await;
        assert_error(&v, METHOD_NOT_FOUND, &id);
        still_works(&c).await;
    }
}

#[tokio::test]
async fn bad_params_are_invalid_params() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let cases: &[(&str, Value)] = &[
        // wrong type
        ("WinHttpCloseHandle", json!({"handle": "x"})),
        ("WinHttpQueryOption", json!({"handle": 1, "option": "nine"})),
        ("WinHttpCloseHandle", json!({"handle": 1.5})),
        ("WinHttpOpen", json!({"userAgent": 7})),
        // missing required field
        ("WinHttpCloseHandle", json!({})),
        ("WinHttpQueryOption", json!({"handle": 1})),
        ("WinHttpCrackUrl", json!({})),
        // unknown field
        ("WinHttpOpen", json!({"userAgent": "a", "bogus": 1})),
        ("WinHttpCloseHandle", json!({"handle": 1, "hadnle": 1})),
        // negative handle, handle 2^64
        ("WinHttpCloseHandle", json!({"handle": -1})),
        // not an object at all
        ("WinHttpCloseHandle", json!("handle")),
    ];
    for (i, (method, params)) in cases.iter().enumerate() {
        let id = format!("bp-{i}");
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let v = raw(&c, line.to_string().as_bytes()).await;
        assert_error(&v, INVALID_PARAMS, &json!(id));
        still_works(&c).await;
    }
    // 2^64 cannot be written with json!; write the line by hand.
    let v = raw(
        &c,
        br#"{"jsonrpc":"2.0","id":"big","method":"WinHttpCloseHandle","params":{"handle":18446744073709551616}}"#,
    )
    .await;
    assert_error(&v, INVALID_PARAMS, &json!("big"));
    still_works(&c).await;
    // Params omitted altogether: a method with a required member says so.
    let v = raw(
        &c,
        br#"{"jsonrpc":"2.0","id":"noparams","method":"WinHttpCloseHandle"}"#,
    )
    .await;
    assert_error(&v, INVALID_PARAMS, &json!("noparams"));
    still_works(&c).await;
    // ... while one whose members are all optional takes the defaults.
    let v = raw(
        &c,
        br#"{"jsonrpc":"2.0","id":"defaults","method":"WinHttpOpen"}"#,
    )
    .await;
    assert_eq!(v["id"], "defaults");
    assert!(v["result"]["handle"].is_u64(), "{v}");
    // A param error is not a WinHTTP error: no handle was touched, so a valid call with
    // an unknown handle still says 6.
    let e = c
        .call("WinHttpCloseHandle", json!({"handle": 77}))
        .await
        .expect_err("unknown handle");
    assert_eq!(e.code, 6);
}

#[tokio::test]
async fn bad_base64_body_is_invalid_params_and_sends_nothing() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = c.call("WinHttpOpen", json!({})).await.unwrap()["handle"]
        .as_u64()
        .unwrap();
    let k = c
        .call(
            "WinHttpConnect",
            json!({"handle": s, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap()["handle"]
        .as_u64()
        .unwrap();
    let r = c
        .call(
            "WinHttpOpenRequest",
            json!({"handle": k, "verb": "POST", "objectName": "/upload"}),
        )
        .await
        .unwrap()["handle"]
        .as_u64()
        .unwrap();
    for (i, bad) in [
        "***not base64***",
        "abc",
        "aGVsbG8=x",
        "4pyTIMOgIGxhIG1vZGU==",
    ]
    .iter()
    .enumerate()
    {
        let id = format!("b64-{i}");
        let line = json!({"jsonrpc": "2.0", "id": id, "method": "WinHttpSendRequest",
                          "params": {"handle": r, "optional": bad}});
        let v = raw(&c, line.to_string().as_bytes()).await;
        assert_error(&v, INVALID_PARAMS, &json!(id));
        still_works(&c).await;
    }
    // Same for WriteData.
    let line = json!({"jsonrpc": "2.0", "id": "wd", "method": "WinHttpWriteData",
                      "params": {"handle": r, "data": "%%%"}});
    assert_error(
        &raw(&c, line.to_string().as_bytes()).await,
        INVALID_PARAMS,
        &json!("wd"),
    );
    assert!(origin.requests().is_empty(), "nothing may be sent");

    // The request handle is untouched and still usable with a good body.
    c.call(
        "WinHttpSendRequest",
        json!({"handle": r, "optional": hinet_tests::b64(b"hello"), "totalLength": 5}),
    )
    .await
    .expect("send with a valid body");
    c.call("WinHttpReceiveResponse", json!({"handle": r}))
        .await
        .expect("receive");
    let read = c
        .call("WinHttpReadData", json!({"handle": r, "bytesToRead": 4096}))
        .await
        .expect("read");
    let body: Value = serde_json::from_slice(&unb64(read["data"].as_str().unwrap())).unwrap();
    assert_eq!(body["len"], 5);
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn invalid_utf8_is_a_parse_error() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    for line in [
        &b"{\"jsonrpc\":\"2.0\",\"id\":\"utf\",\"method\":\"WinHttpOpen\",\"params\":{\"userAgent\":\"\xff\xfe\"}}"[..],
        b"\xc3\x28",
        b"{\"jsonrpc\":\"2.0\",\"id\":\"\xed\xa0\x80\",\"method\":\"WinHttpOpen\"}",
    ] {
        let v = raw(&c, line).await;
        assert_error(&v, PARSE_ERROR, &Value::Null);
        still_works(&c).await;
    }
}

#[tokio::test]
async fn batch_gets_one_array_with_every_answer() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": "b1", "method": "WinHttpOpen", "params": {"userAgent": "one"}},
        {"jsonrpc": "2.0", "id": "b2", "method": "WinHttpNoSuchMethod", "params": {}},
        {"jsonrpc": "2.0", "id": "b3", "method": "WinHttpCloseHandle", "params": {"handle": 0}},
    ]);
    let v = raw(&c, batch.to_string().as_bytes()).await;
    let answers = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
    assert_eq!(answers.len(), 3, "{v}");
    let by_id = |id: &str| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer for {id} in {v}"))
    };
    let b1 = by_id("b1");
    assert_eq!(b1["jsonrpc"], "2.0");
    let session = b1["result"]["handle"]
        .as_u64()
        .expect("b1 opened a session");
    assert_error(by_id("b2"), METHOD_NOT_FOUND, &json!("b2"));
    assert_error(by_id("b3"), 6, &json!("b3"));
    assert!(
        by_id("b3")["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("ERROR_INVALID_HANDLE")
    );
    // The session from the batch is real.
    let t = c
        .call(
            "WinHttpQueryOption",
            json!({"handle": session, "option": 9}),
        )
        .await
        .expect("the batch's session exists");
    assert_eq!(t["value"], 1);
    still_works(&c).await;

    // Invalid entries get their own errors inside the array.
    let v = raw(
        &c,
        br#"[1, {"foo": 1}, {"jsonrpc":"2.0","id":"ok","method":"WinHttpOpen"}]"#,
    )
    .await;
    let answers = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
    assert_eq!(answers.len(), 3, "{v}");
    assert_eq!(
        answers
            .iter()
            .filter(|a| a["error"]["code"] == INVALID_REQUEST)
            .count(),
        2,
        "{v}"
    );
    assert!(
        answers
            .iter()
            .any(|a| a["id"] == "ok" && a["result"]["handle"].is_u64())
    );
    still_works(&c).await;

    // A batch of notifications only gets no answer at all; with one call, one answer.
    c.send_raw(
        b"[{\"jsonrpc\":\"2.0\",\"method\":\"WinHttpOpen\"},{\"jsonrpc\":\"2.0\",\"method\":\"Nope\"}]\n",
    )
    .await;
    let v = raw(
        &c,
        br#"[{"jsonrpc":"2.0","method":"WinHttpOpen"},{"jsonrpc":"2.0","id":"only","method":"WinHttpOpen"}]"#,
    )
    .await;
    let answers = v.as_array().unwrap_or_else(|| {
        panic!("expected the one-call batch's array (and nothing for the notification batch): {v}")
    });
    assert_eq!(answers.len(), 1, "{v}");
    assert_eq!(answers[0]["id"], "only");
    still_works(&c).await;
}

#[tokio::test]
async fn notifications_get_no_response() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    for note in [
        // valid
        &br#"{"jsonrpc":"2.0","method":"WinHttpOpen","params":{"userAgent":"n"}}"#[..],
        // failing WinHTTP call
        br#"{"jsonrpc":"2.0","method":"WinHttpCloseHandle","params":{"handle":0}}"#,
        // unknown method
        br#"{"jsonrpc":"2.0","method":"WinHttpNoSuchThing"}"#,
        // bad params
        br#"{"jsonrpc":"2.0","method":"WinHttpCloseHandle","params":{"handle":"x"}}"#,
    ] {
        let mut line = note.to_vec();
        line.push(b'\n');
        c.send_raw(&line).await;
        // The very next thing received answers the next call.
        let v = raw(
            &c,
            br#"{"jsonrpc":"2.0","id":"after","method":"WinHttpOpen"}"#,
        )
        .await;
        assert_eq!(v["id"], "after", "a notification was answered: {v}");
        assert!(v["result"]["handle"].is_u64(), "{v}");
        still_works(&c).await;
    }
    // Still nothing late.
    assert!(
        c.next_raw_response(Duration::from_millis(300))
            .await
            .is_none()
    );
    assert!(c.drain_notifications().await.is_empty());
}

#[tokio::test]
async fn over_long_line_is_rejected_and_skipped() {
    let daemon = Daemon::spawn(HINETD, &["--max-message", "1024"]);
    let c = daemon.connect().await;

    // A well-formed request that is simply too long.
    let long = json!({"jsonrpc": "2.0", "id": "long", "method": "WinHttpOpen",
                      "params": {"userAgent": "x".repeat(5000)}})
    .to_string();
    assert!(long.len() > 5000);
    let v = raw(&c, long.as_bytes()).await;
    assert_error(&v, MESSAGE_TOO_LARGE, &Value::Null);
    still_works(&c).await;

    // The same, arriving in pieces: one error, and the tail is not read as a new message.
    let mut bytes = vec![b'y'; 3000];
    c.send_raw(&bytes).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    bytes = br#"{"jsonrpc":"2.0","id":"tail","method":"WinHttpOpen"}"#.to_vec();
    bytes.push(b'\n');
    c.send_raw(&bytes).await;
    let v = c
        .next_raw_response(WAIT)
        .await
        .expect("an error for the long line");
    assert_error(&v, MESSAGE_TOO_LARGE, &Value::Null);
    assert!(
        c.next_raw_response(Duration::from_millis(300))
            .await
            .is_none(),
        "the tail of the long line must be discarded"
    );
    still_works(&c).await;

    // A request just under the limit is fine.
    let ok = json!({"jsonrpc": "2.0", "id": "fits", "method": "WinHttpOpen",
                    "params": {"userAgent": "z".repeat(900)}})
    .to_string();
    assert!(ok.len() < 1024);
    let v = raw(&c, ok.as_bytes()).await;
    assert_eq!(v["id"], "fits");
    assert!(v["result"]["handle"].is_u64(), "{v}");
    still_works(&c).await;
}

#[tokio::test]
async fn deep_nesting_is_an_error_not_a_crash() {
    let mut daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let params = format!(
        r#"{{"jsonrpc":"2.0","id":"deep","method":"WinHttpOpen","params":{{"userAgent":{}}}}}"#,
        arrays
    );
    for line in [&arrays, &objects, &params] {
        let v = raw(&c, line.as_bytes()).await;
        // A top-level error, or (for the array) a batch whose every answer is an error.
        let answers = match v.as_array() {
            Some(a) => a.clone(),
            None => vec![v.clone()],
        };
        assert!(!answers.is_empty(), "empty answer");
        for a in &answers {
            let code = a["error"]["code"].as_i64();
            let text = a.to_string();
            assert!(
                matches!(code, Some(PARSE_ERROR | INVALID_REQUEST | INVALID_PARAMS)),
                "expected a protocol error, got {}",
                &text[..text.len().min(300)]
            );
        }
        still_works(&c).await;
    }
    assert!(daemon.try_wait().is_none(), "the daemon must still run");
    let c2 = daemon.connect().await;
    still_works(&c2).await;
}

#[tokio::test]
async fn half_a_line_then_disconnect() {
    let mut daemon = Daemon::spawn(HINETD, &[]);
    let other = daemon.connect().await;
    still_works(&other).await;
    for _ in 0..3 {
        let mut s = tokio::net::UnixStream::connect(daemon.socket_path())
            .await
            .expect("connect");
        s.write_all(br#"{"jsonrpc":"2.0","id":1,"method":"WinHttpOp"#)
            .await
            .expect("write half a line");
        s.flush().await.expect("flush");
        drop(s);
    }
    // Also a client that opened a handle, then sent half a line and vanished.
    let quitter = daemon.connect().await;
    still_works(&quitter).await;
    quitter.send_raw(br#"{"jsonrpc":"2.0","id":"q","#).await;
    drop(quitter);

    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(daemon.try_wait().is_none(), "the daemon must still run");
    still_works(&other).await;
    let fresh = daemon.connect().await;
    still_works(&fresh).await;
}

#[tokio::test]
async fn a_flooding_client_does_not_disturb_another() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let flooder = daemon.connect().await;
    let good = daemon.connect().await;

    const ROUNDS: usize = 20;
    const PER_ROUND: usize = 50;
    let flood = async {
        let mut answered = 0;
        for round in 0..ROUNDS {
            let mut block = Vec::new();
            for i in 0..PER_ROUND {
                let line = match i % 5 {
                    0 => "{garbage".to_owned(),
                    1 => format!(r#"{{"jsonrpc":"2.0","id":"f{round}-{i}","method":"Nope"}}"#),
                    2 => format!(
                        r#"{{"jsonrpc":"2.0","id":"f{round}-{i}","method":"WinHttpCloseHandle","params":{{"handle":"x"}}}}"#
                    ),
                    3 => "42".to_owned(),
                    _ => format!(
                        r#"{{"jsonrpc":"2.0","id":"f{round}-{i}","method":"WinHttpCloseHandle","params":{{"handle":0}}}}"#
                    ),
                };
                block.extend_from_slice(line.as_bytes());
                block.push(b'\n');
            }
            flooder.send_raw(&block).await;
            for _ in 0..PER_ROUND {
                let v = flooder
                    .next_raw_response(WAIT)
                    .await
                    .expect("every bad line is answered");
                assert!(v["error"]["code"].is_i64(), "{v}");
                answered += 1;
            }
        }
        answered
    };
    let get = async {
        let s = good
            .call("WinHttpOpen", json!({"userAgent": "good"}))
            .await
            .unwrap()["handle"]
            .as_u64()
            .unwrap();
        let k = good
            .call(
                "WinHttpConnect",
                json!({"handle": s, "serverName": "127.0.0.1", "serverPort": origin.port()}),
            )
            .await
            .unwrap()["handle"]
            .as_u64()
            .unwrap();
        let mut bodies = Vec::new();
        for _ in 0..5 {
            let r = good
                .call(
                    "WinHttpOpenRequest",
                    json!({"handle": k, "objectName": "/hello"}),
                )
                .await
                .unwrap()["handle"]
                .as_u64()
                .unwrap();
            good.call("WinHttpSendRequest", json!({"handle": r}))
                .await
                .unwrap();
            good.call("WinHttpReceiveResponse", json!({"handle": r}))
                .await
                .unwrap();
            let status = good
                .call(
                    "WinHttpQueryHeaders",
                    json!({"handle": r, "infoLevel": 19 | 0x2000_0000}),
                )
                .await
                .unwrap();
            assert_eq!(status["value"], 200);
            let read = good
                .call("WinHttpReadData", json!({"handle": r, "bytesToRead": 4096}))
                .await
                .unwrap();
            bodies.push(unb64(read["data"].as_str().unwrap()));
            good.call("WinHttpCloseHandle", json!({"handle": r}))
                .await
                .unwrap();
        }
        bodies
    };
    let (answered, bodies) =
        tokio::time::timeout(Duration::from_secs(30), async { tokio::join!(flood, get) })
            .await
            .expect("neither client may hang");
    assert_eq!(answered, ROUNDS * PER_ROUND);
    for b in bodies {
        assert_eq!(b, b"hello world");
    }
    assert_eq!(origin.requests().len(), 5);
    assert!(good.drain_raw_responses().await.is_empty());
    still_works(&flooder).await;
    still_works(&good).await;
}

/// Ids must be strings, unsigned integers or null; anything else is an invalid request
/// answered with -32600, never run silently as a notification.
#[tokio::test]
async fn requests_with_invalid_ids_are_rejected_not_run() {
    let daemon = hinet_tests::Daemon::spawn(env!("CARGO_BIN_EXE_hinetd"), &[]);
    let c = daemon.connect().await;
    for id in ["-1", "1.5", "{\"a\":1}", "[1]", "true"] {
        c.send_raw(
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"WinHttpOpen\",\"params\":{{}}}}\n"
            )
            .as_bytes(),
        )
        .await;
        let r = c
            .next_raw_response(std::time::Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no answer for id {id}"));
        assert_eq!(r["error"]["code"], -32600, "id {id}: {r}");
    }
    let status = c.call("HinetStatus", serde_json::json!({})).await.unwrap();
    assert_eq!(status["sessions"], 0, "none of them ran: {status}");
}

/// Numbers beyond every range, and a batch of 100,000 entries: each gets its error, nothing
/// runs, and another client is served meanwhile.
#[tokio::test]
async fn huge_numbers_and_a_huge_batch() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let other = daemon.connect().await;
    let digits = "9".repeat(400);
    let cases = [
        // Beyond u64 / i32 / u32, as integers, exponents and fractions.
        format!(r#""WinHttpCloseHandle","params":{{"handle":{digits}}}"#),
        r#""WinHttpCloseHandle","params":{"handle":1e300}"#.to_owned(),
        r#""WinHttpReadData","params":{"handle":1,"bytesToRead":18446744073709551616}"#.to_owned(),
        r#""WinHttpSetTimeouts","params":{"handle":1,"resolveTimeout":2147483648,"connectTimeout":0,"sendTimeout":0,"receiveTimeout":0}"#.to_owned(),
        r#""WinHttpSetTimeouts","params":{"handle":1,"resolveTimeout":-2147483649,"connectTimeout":0,"sendTimeout":0,"receiveTimeout":0}"#.to_owned(),
        r#""WinHttpSetOption","params":{"handle":1,"option":45,"value":-1e400}"#.to_owned(),
    ];
    for (i, case) in cases.iter().enumerate() {
        let id = format!("huge-{i}");
        let line = format!(r#"{{"jsonrpc":"2.0","id":"{id}","method":{case}}}"#);
        let v = raw(&c, line.as_bytes()).await;
        // Out of range for the member's type (-32602), or (1e400 is no finite number) a
        // parse error with a null id.
        let code = v["error"]["code"].as_i64().unwrap_or(0);
        match code {
            INVALID_PARAMS => assert_error(&v, INVALID_PARAMS, &json!(id)),
            PARSE_ERROR => assert_error(&v, PARSE_ERROR, &Value::Null),
            _ => panic!("case {i}: {v}"),
        }
        still_works(&c).await;
    }

    // 100,000 entries: refused whole with -32010, none of them runs.
    let entry = r#"{"jsonrpc":"2.0","id":1,"method":"WinHttpOpen","params":{}}"#;
    let mut batch = String::with_capacity(100_000 * (entry.len() + 1) + 2);
    batch.push('[');
    for i in 0..100_000 {
        if i > 0 {
            batch.push(',');
        }
        batch.push_str(entry);
    }
    batch.push(']');
    let writer = async {
        let v = raw(&c, batch.as_bytes()).await;
        assert_error(&v, -32010, &Value::Null);
    };
    // The other client keeps being served while the batch is read and refused.
    let bystander = async {
        for _ in 0..5 {
            still_works(&other).await;
        }
    };
    tokio::join!(writer, bystander);
    let status = c.call("HinetStatus", json!({})).await.unwrap();
    assert_eq!(status["sessions"], 0, "nothing of the batch ran: {status}");
    still_works(&c).await;
}
