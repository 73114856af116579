//! Short forms of the WinHTTP calls the feature suites make over and over: open a tree,
//! send and receive, read a body in fixed-size reads, query headers and options. Each
//! panics on an unexpected failure, naming the call; the calls whose failure a test checks
//! return the `Result`.

use crate::rpc::{RpcConn, RpcError, unb64};
use serde_json::{Value, json};

/// `WinHttpQueryHeaders` levels and modifiers the suites use.
pub const QUERY_CONTENT_LENGTH: u32 = 5;
pub const QUERY_STATUS_CODE: u32 = 19;
pub const QUERY_CONTENT_ENCODING: u32 = 29;
pub const QUERY_CUSTOM: u32 = 65535;
pub const FLAG_NUMBER: u32 = 0x2000_0000;
pub const FLAG_REQUEST_HEADERS: u32 = 0x8000_0000;

fn handle(v: Value, call: &str) -> u64 {
    v["handle"]
        .as_u64()
        .unwrap_or_else(|| panic!("{call} answered no handle: {v}"))
}

/// A session (`WinHttpOpen` with `params`).
pub async fn open(c: &RpcConn, params: Value) -> u64 {
    let r = c.call("WinHttpOpen", params).await;
    handle(r.expect("WinHttpOpen"), "WinHttpOpen")
}

/// A connect handle for `host:port` and a request for `verb path` under it.
pub async fn request(
    c: &RpcConn,
    session: u64,
    host: &str,
    port: u16,
    verb: &str,
    path: &str,
    flags: u32,
) -> u64 {
    let con = c
        .call(
            "WinHttpConnect",
            json!({"handle": session, "serverName": host, "serverPort": port}),
        )
        .await
        .expect("WinHttpConnect");
    let con = handle(con, "WinHttpConnect");
    let req = c
        .call(
            "WinHttpOpenRequest",
            json!({"handle": con, "verb": verb, "objectName": path, "flags": flags}),
        )
        .await
        .expect("WinHttpOpenRequest");
    handle(req, "WinHttpOpenRequest")
}

/// `WinHttpSendRequest` with `params` (the handle is added), then `WinHttpReceiveResponse`.
pub async fn send_receive(c: &RpcConn, req: u64, params: Value) -> Result<Value, RpcError> {
    let mut p = params;
    p["handle"] = json!(req);
    c.call("WinHttpSendRequest", p).await?;
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
}

/// The response's status code.
pub async fn status(c: &RpcConn, req: u64) -> u64 {
    let v = c
        .call(
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": QUERY_STATUS_CODE | FLAG_NUMBER}),
        )
        .await
        .expect("QueryHeaders STATUS_CODE");
    v["value"].as_u64().expect("a number")
}

/// A header of the response (`Err` when absent), or of the request with
/// [`FLAG_REQUEST_HEADERS`] in `modifiers`.
pub async fn header(c: &RpcConn, req: u64, name: &str, modifiers: u32) -> Result<String, RpcError> {
    let v = c
        .call(
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": QUERY_CUSTOM | modifiers, "name": name}),
        )
        .await?;
    Ok(v["value"].as_str().unwrap_or_default().to_owned())
}

/// Reads the whole body in reads of `chunk` bytes.
pub async fn read_all(c: &RpcConn, req: u64, chunk: u64) -> Result<Vec<u8>, RpcError> {
    let mut out = Vec::new();
    loop {
        let r = c
            .call(
                "WinHttpReadData",
                json!({"handle": req, "bytesToRead": chunk}),
            )
            .await?;
        let data = unb64(r["data"].as_str().unwrap_or_default());
        assert!(data.len() as u64 <= chunk, "read more than asked");
        if data.is_empty() {
            return Ok(out);
        }
        out.extend(data);
    }
}

/// `WinHttpSetOption`.
pub async fn set_option(c: &RpcConn, h: u64, option: u32, value: Value) -> Result<Value, RpcError> {
    c.call(
        "WinHttpSetOption",
        json!({"handle": h, "option": option, "value": value}),
    )
    .await
}

/// `WinHttpQueryOption`'s value.
pub async fn query_option(c: &RpcConn, h: u64, option: u32) -> Result<Value, RpcError> {
    let v = c
        .call("WinHttpQueryOption", json!({"handle": h, "option": option}))
        .await?;
    Ok(v["value"].clone())
}

/// The WinHTTP error number of a failed call (panics on success).
pub fn code<T: std::fmt::Debug>(r: Result<T, RpcError>) -> i64 {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code,
    }
}
