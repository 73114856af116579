//! Every option of the reference's option table (§5.2) on session, connect and request
//! handles: set and query answer with WinHTTP's rules — 12018 for a handle of the wrong
//! kind, 12011 for read-only options, 87 for querying set-only ones, 12009/87 for options
//! hinetd does not support — and the size rules (122) of number options. Then the options
//! hinetd only keeps: defaults, value checks and inheritance.

use hinet_tests::calls::{code, open, query_option, request, set_option};
use hinet_tests::{Daemon, RpcConn};
use serde_json::{Value, json};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

/// The expected outcome of one call: 0 = success, else the error number.
type Codes = [i64; 3];

struct Row {
    option: u32,
    name: &'static str,
    /// A value that is valid wherever the option may be set.
    value: Value,
    /// Set on session, connect, request.
    set: Codes,
    /// Query on session, connect, request.
    query: Codes,
    /// Bytes of a number option (4 DWORD, 8 DWORD_PTR); 0 for text and objects.
    size: u32,
}

fn row(option: u32, name: &'static str, value: Value, set: Codes, query: Codes, size: u32) -> Row {
    Row {
        option,
        name,
        value,
        set,
        query,
        size,
    }
}

const OK: i64 = 0;
const BAD: i64 = 87;
const RO: i64 = 12011;
const TYPE: i64 = 12018;
const STATE: i64 = 12019;

fn table() -> Vec<Row> {
    let n = |v: u64| json!(v);
    let s = |v: &str| json!(v);
    vec![
        row(
            2,
            "RESOLVE_TIMEOUT",
            n(1000),
            [OK, TYPE, OK],
            [OK, OK, OK],
            4,
        ),
        row(
            3,
            "CONNECT_TIMEOUT",
            n(1000),
            [OK, TYPE, OK],
            [OK, OK, OK],
            4,
        ),
        row(
            4,
            "CONNECT_RETRIES",
            n(3),
            [OK, TYPE, OK],
            [OK, TYPE, OK],
            4,
        ),
        row(5, "SEND_TIMEOUT", n(1000), [OK, TYPE, OK], [OK, OK, OK], 4),
        row(
            6,
            "RECEIVE_TIMEOUT",
            n(1000),
            [OK, TYPE, OK],
            [OK, OK, OK],
            4,
        ),
        row(
            7,
            "RECEIVE_RESPONSE_TIMEOUT",
            n(1000),
            [OK, TYPE, OK],
            [OK, OK, OK],
            4,
        ),
        row(9, "HANDLE_TYPE", n(1), [RO, RO, RO], [OK, OK, OK], 4),
        row(
            12,
            "READ_BUFFER_SIZE",
            n(4096),
            [TYPE, TYPE, OK],
            [TYPE, TYPE, OK],
            4,
        ),
        row(
            13,
            "WRITE_BUFFER_SIZE",
            n(4096),
            [TYPE, TYPE, OK],
            [TYPE, TYPE, OK],
            4,
        ),
        row(21, "PARENT_HANDLE", n(1), [RO, RO, RO], [TYPE, OK, OK], 8),
        row(24, "EXTENDED_ERROR", n(1), [RO, RO, RO], [OK, OK, OK], 4),
        row(
            31,
            "SECURITY_FLAGS",
            n(0x100),
            [TYPE, TYPE, OK],
            [TYPE, TYPE, OK],
            4,
        ),
        row(34, "URL", s("http://x/"), [RO, RO, RO], [TYPE, TYPE, OK], 0),
        row(
            38,
            "PROXY",
            json!({"accessType": 1}),
            [OK, TYPE, OK],
            [OK, TYPE, OK],
            0,
        ),
        row(
            41,
            "USER_AGENT",
            s("agent/1"),
            [OK, TYPE, TYPE],
            [OK, TYPE, TYPE],
            0,
        ),
        row(45, "CONTEXT_VALUE", n(7), [OK, OK, OK], [OK, OK, OK], 8),
        row(
            47,
            "CLIENT_CERT_CONTEXT",
            Value::Null,
            [TYPE, TYPE, OK],
            [BAD, BAD, BAD],
            0,
        ),
        row(
            58,
            "REQUEST_PRIORITY",
            n(2),
            [TYPE, TYPE, OK],
            [TYPE, TYPE, OK],
            4,
        ),
        row(
            59,
            "HTTP_VERSION",
            Value::Null,
            [TYPE, TYPE, TYPE],
            [TYPE, TYPE, TYPE],
            0,
        ),
        row(
            63,
            "DISABLE_FEATURE",
            n(0x8),
            [TYPE, TYPE, OK],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            68,
            "CODEPAGE",
            n(65001),
            [OK, TYPE, TYPE],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            73,
            "MAX_CONNS_PER_SERVER",
            n(4),
            [OK, TYPE, TYPE],
            [OK, TYPE, TYPE],
            4,
        ),
        row(
            74,
            "MAX_CONNS_PER_1_0_SERVER",
            n(4),
            [OK, TYPE, TYPE],
            [OK, TYPE, TYPE],
            4,
        ),
        row(
            77,
            "AUTOLOGON_POLICY",
            n(2),
            [TYPE, TYPE, OK],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            78,
            "SERVER_CERT_CONTEXT",
            Value::Null,
            [RO, RO, RO],
            [TYPE, TYPE, STATE],
            0,
        ),
        row(
            79,
            "ENABLE_FEATURE",
            n(0),
            [OK, TYPE, OK],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            80,
            "WORKER_THREAD_COUNT",
            n(4),
            [TYPE, TYPE, TYPE],
            [OK, OK, OK],
            4,
        ),
        row(
            84,
            "SECURE_PROTOCOLS",
            n(0x2800),
            [OK, TYPE, TYPE],
            [OK, TYPE, TYPE],
            4,
        ),
        row(
            85,
            "ENABLETRACING",
            n(1),
            [TYPE, TYPE, TYPE],
            [TYPE, TYPE, TYPE],
            4,
        ),
        row(
            88,
            "REDIRECT_POLICY",
            n(2),
            [OK, TYPE, OK],
            [OK, TYPE, OK],
            4,
        ),
        row(
            89,
            "MAX_HTTP_AUTOMATIC_REDIRECTS",
            n(5),
            [OK, TYPE, OK],
            [OK, TYPE, OK],
            4,
        ),
        row(
            90,
            "MAX_HTTP_STATUS_CONTINUE",
            n(3),
            [OK, TYPE, OK],
            [OK, TYPE, OK],
            4,
        ),
        row(
            91,
            "MAX_RESPONSE_HEADER_SIZE",
            n(8192),
            [OK, TYPE, OK],
            [OK, TYPE, OK],
            4,
        ),
        row(
            92,
            "MAX_RESPONSE_DRAIN_SIZE",
            n(8192),
            [OK, TYPE, OK],
            [OK, TYPE, OK],
            4,
        ),
        row(96, "SPN", n(1), [TYPE, TYPE, OK], [BAD, BAD, BAD], 4),
        row(
            97,
            "GLOBAL_PROXY_CREDS",
            Value::Null,
            [TYPE, TYPE, TYPE],
            [BAD, BAD, BAD],
            0,
        ),
        row(
            98,
            "GLOBAL_SERVER_CREDS",
            Value::Null,
            [TYPE, TYPE, TYPE],
            [BAD, BAD, BAD],
            0,
        ),
        row(
            100,
            "REJECT_USERPWD_IN_URL",
            n(1),
            [TYPE, TYPE, OK],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            101,
            "USE_GLOBAL_SERVER_CREDENTIALS",
            n(1),
            [OK, TYPE, TYPE],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            111,
            "ASSURED_NON_BLOCKING_CALLBACKS",
            n(1),
            [OK, TYPE, TYPE],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            115,
            "WEB_SOCKET_CLOSE_TIMEOUT",
            n(1000),
            [TYPE, TYPE, TYPE],
            [TYPE, TYPE, TYPE],
            4,
        ),
        row(
            116,
            "WEB_SOCKET_KEEPALIVE_INTERVAL",
            n(30000),
            [TYPE, TYPE, TYPE],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            118,
            "DECOMPRESSION",
            n(3),
            [OK, TYPE, OK],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            122,
            "WEB_SOCKET_RECEIVE_BUFFER_SIZE",
            n(4096),
            [OK, TYPE, OK],
            [OK, TYPE, OK],
            4,
        ),
        row(
            123,
            "WEB_SOCKET_SEND_BUFFER_SIZE",
            n(4096),
            [OK, TYPE, OK],
            [OK, TYPE, OK],
            4,
        ),
        row(
            133,
            "ENABLE_HTTP_PROTOCOL",
            n(1),
            [OK, TYPE, OK],
            [BAD, BAD, BAD],
            4,
        ),
        row(
            134,
            "HTTP_PROTOCOL_USED",
            n(1),
            [RO, RO, RO],
            [TYPE, TYPE, OK],
            4,
        ),
        row(
            0x1000,
            "USERNAME",
            s("user"),
            [TYPE, TYPE, OK],
            [TYPE, TYPE, OK],
            0,
        ),
        row(
            0x1001,
            "PASSWORD",
            s("pass"),
            [TYPE, TYPE, OK],
            [TYPE, TYPE, OK],
            0,
        ),
        row(
            0x1002,
            "PROXY_USERNAME",
            s("user"),
            [TYPE, TYPE, OK],
            [TYPE, TYPE, OK],
            0,
        ),
        row(
            0x1003,
            "PROXY_PASSWORD",
            s("pass"),
            [TYPE, TYPE, OK],
            [TYPE, TYPE, OK],
            0,
        ),
        row(
            0x1_0000,
            "HINET_OPTION_CLIENT_CERT_PEM",
            Value::Null,
            [OK, TYPE, OK],
            [BAD, BAD, BAD],
            0,
        ),
    ]
}

/// Options of the reference's table hinetd does not support: 12009 to set, 87 to query.
const UNSUPPORTED: &[u32] = &[
    1, 32, 36, 39, 81, 82, 83, 86, 87, 93, 94, 99, 103, 104, 106, 107, 108, 110, 114, 128, 131,
    136, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 150, 151, 152, 153, 154, 155, 159, 164,
    165, 171, 184, 188, 189, 190, 191, 195,
];

fn outcome<T>(r: Result<T, hinet_tests::RpcError>) -> i64 {
    r.map_or_else(|e| e.code, |_| OK)
}

struct Tree {
    _daemon: Daemon,
    c: RpcConn,
    handles: [u64; 3],
}

async fn tree() -> Tree {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, json!({"userAgent": "table/1"})).await;
    let r = request(&c, s, "127.0.0.1", 9, "GET", "/", 0).await;
    let k = c
        .call("WinHttpQueryOption", json!({"handle": r, "option": 21}))
        .await
        .unwrap()["value"]
        .as_u64()
        .unwrap();
    Tree {
        _daemon: daemon,
        c,
        handles: [s, k, r],
    }
}

const KINDS: [&str; 3] = ["session", "connect", "request"];

#[tokio::test]
async fn every_option_on_every_handle_kind() {
    let t = tree().await;
    let mut failures = Vec::new();
    for row in table() {
        for (i, h) in t.handles.into_iter().enumerate() {
            let got = outcome(set_option(&t.c, h, row.option, row.value.clone()).await);
            if got != row.set[i] {
                failures.push(format!(
                    "set {} ({}) on {}: {got}, expected {}",
                    row.name, row.option, KINDS[i], row.set[i]
                ));
            }
            let got = outcome(query_option(&t.c, h, row.option).await);
            if got != row.query[i] {
                failures.push(format!(
                    "query {} ({}) on {}: {got}, expected {}",
                    row.name, row.option, KINDS[i], row.query[i]
                ));
            }
        }
    }
    for &option in UNSUPPORTED {
        for (i, h) in t.handles.into_iter().enumerate() {
            let set = outcome(set_option(&t.c, h, option, json!(1)).await);
            let query = outcome(query_option(&t.c, h, option).await);
            if (set, query) != (12009, BAD) {
                failures.push(format!(
                    "unsupported option {option} on {}: set {set}, query {query}",
                    KINDS[i]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn number_options_have_exact_sizes() {
    let t = tree().await;
    let mut failures = Vec::new();
    for row in table().into_iter().filter(|r| r.size != 0) {
        for (i, h) in t.handles.into_iter().enumerate() {
            if row.set[i] == OK {
                for wrong in [row.size - 2, row.size + 4] {
                    let r =
                        t.c.call(
                            "WinHttpSetOption",
                            json!({"handle": h, "option": row.option, "value": row.value,
                                   "bufferLength": wrong}),
                        )
                        .await;
                    let required = r.as_ref().err().and_then(|e| e.data.clone());
                    let required = required.and_then(|d| d["required"].as_u64());
                    if outcome(r) != 122 || required != Some(u64::from(row.size)) {
                        failures.push(format!(
                            "set {} on {} with {wrong} bytes: not 122 needing {}",
                            row.name, KINDS[i], row.size
                        ));
                    }
                }
                let exact =
                    t.c.call(
                        "WinHttpSetOption",
                        json!({"handle": h, "option": row.option, "value": row.value,
                               "bufferLength": row.size}),
                    )
                    .await;
                if outcome(exact) != OK {
                    failures.push(format!("set {} on {} with its size", row.name, KINDS[i]));
                }
                if row.size == 4 {
                    let big = set_option(&t.c, h, row.option, json!(1u64 << 32)).await;
                    if outcome(big) != BAD {
                        failures.push(format!("set {} on {} beyond a DWORD", row.name, KINDS[i]));
                    }
                }
            }
            if row.query[i] == OK {
                let r =
                    t.c.call(
                        "WinHttpQueryOption",
                        json!({"handle": h, "option": row.option, "bufferLength": row.size - 1}),
                    )
                    .await;
                let required = r.as_ref().err().and_then(|e| e.data.clone());
                let required = required.and_then(|d| d["required"].as_u64());
                if outcome(r) != 122 || required != Some(u64::from(row.size)) {
                    failures.push(format!(
                        "query {} on {} with {} bytes: not 122 needing {}",
                        row.name,
                        KINDS[i],
                        row.size - 1,
                        row.size
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn text_options_report_their_size_in_bytes() {
    let t = tree().await;
    let [_, _, r] = t.handles;
    // Unset credentials read back empty: 2 bytes with the terminator.
    assert_eq!(query_option(&t.c, r, 0x1000).await.unwrap(), json!(""));
    set_option(&t.c, r, 0x1000, json!("üser")).await.unwrap();
    assert_eq!(query_option(&t.c, r, 0x1000).await.unwrap(), json!("üser"));
    let e =
        t.c.call(
            "WinHttpQueryOption",
            json!({"handle": r, "option": 0x1000, "bufferLength": 9}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 122);
    assert_eq!(e.data.unwrap()["required"], 10);
    // A number is not text.
    assert_eq!(code(set_option(&t.c, r, 0x1001, json!(5)).await), BAD);
}

#[tokio::test]
async fn kept_options_defaults_checks_and_inheritance() {
    let t = tree().await;
    let [s, k, r] = t.handles;
    let q = |h: u64, o: u32| {
        let c = &t.c;
        async move { query_option(c, h, o).await.unwrap() }
    };
    for (option, default) in [
        (4, 5u64),
        (12, 8192),
        (13, 8192),
        (58, 0),
        (73, 0xFFFF_FFFF),
        (74, 0xFFFF_FFFF),
        (90, 10),
        (91, 65536),
        (92, 1_048_576),
        (122, 32768),
        (123, 32768),
        (24, 0),
        (80, 0),
    ] {
        let h = if matches!(option, 12 | 13 | 58) { r } else { s };
        assert_eq!(q(h, option).await, json!(default), "option {option}");
    }
    // WORKER_THREAD_COUNT and EXTENDED_ERROR answer on connect handles too.
    assert_eq!(q(k, 80).await, json!(0));
    // MAX_CONNS_PER_SERVER 0 means 2.
    set_option(&t.c, s, 73, json!(0)).await.unwrap();
    assert_eq!(q(s, 73).await, json!(2));
    // Values outside an option's range: 87, nothing kept.
    for (h, option, value) in [
        (r, 77, 4u64),
        (r, 118, 4),
        (s, 118, 0x10),
        (s, 79, 1),
        (r, 79, 2),
        (r, 96, 2),
        (r, 63, 0x10),
        (r, 88, 3),
    ] {
        assert_eq!(
            code(set_option(&t.c, h, option, json!(value)).await),
            BAD,
            "option {option} = {value}"
        );
    }
    // Requests copy their session's values when opened, then go their own way.
    set_option(&t.c, s, 90, json!(3)).await.unwrap();
    assert_eq!(q(r, 90).await, json!(10));
    let r2 = request(&t.c, s, "127.0.0.1", 9, "GET", "/", 0).await;
    assert_eq!(q(r2, 90).await, json!(3));
    set_option(&t.c, r2, 90, json!(7)).await.unwrap();
    assert_eq!(q(s, 90).await, json!(3));
    assert_eq!(q(r2, 90).await, json!(7));
}
