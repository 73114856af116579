//! Fuzzing entry points for hinetd's input handling.
//!
//! The daemon is a binary, and its request handlers act on the network, so the targets do
//! not run the daemon: they run, in process, the code that turns a client's bytes into
//! typed calls. That is:
//!
//! * [`dispatch_stream`]: NDJSON framing, then for each line the same classification as
//!   `daemon/src/rpc/transport.rs` (UTF-8, batch or single, call or notification or
//!   invalid request, the batch limit), with the daemon's own parser types (jsonrpsee's
//!   `Request`, `Notification` and `Params`) and every method's `hinet_protocol` params type;
//!   CrackUrl and CreateUrl go on into the daemon's `url.rs`, which is compiled here from
//!   its source file.
//! * [`crack_and_create`]: the daemon's `crack` and `create` on a raw URL and flags.
//!
//! The invariants checked: nothing panics; parsed params serialize and parse back to the
//! same value (what a client writes, the daemon reads); CrackUrl's output feeds CreateUrl,
//! whose URL cracks back to the same components.

mod daemon_shims;

pub use daemon_shims::{Ctx, handles};

#[path = "../../../daemon/src/error.rs"]
pub mod error;
#[path = "../../../daemon/src/api/url.rs"]
pub mod url;

use hinet_protocol::callback::{SetStatusCallbackParams, UnsetStatusCallbackParams};
use hinet_protocol::consts::icu;
use hinet_protocol::*;
use jsonrpsee_types::{Notification, Params, Request};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::fmt::Debug;

/// The most entries one batch may hold (as in the transport).
pub const MAX_BATCH: usize = 1024;

/// What the daemon would answer a line with, reduced to what the targets check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A call's answer: `Ok` when its params parsed (the handler would run), else the
    /// JSON-RPC error code.
    Call(Result<(), i32>),
    /// A notification: run for its effect, never answered.
    Notification,
    /// One error for the whole line (parse error, invalid request, batch too large).
    Error(i32),
    /// A batch's answers.
    Batch(Vec<Answer>),
}

const PARSE_ERROR: i32 = -32700;
const INVALID_REQUEST: i32 = -32600;
const METHOD_NOT_FOUND: i32 = -32601;
const BATCH_TOO_LARGE: i32 = -32010;

/// Splits `data` into lines as the daemon's reader does (`\n`, a trailing `\r` removed,
/// blank lines skipped) and dispatches each.
pub fn dispatch_stream(data: &[u8]) -> Vec<Answer> {
    data.split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .map(dispatch_line)
        .collect()
}

/// One line, classified the way `transport::handle_message` does.
pub fn dispatch_line(line: &[u8]) -> Answer {
    let Ok(text) = std::str::from_utf8(line) else {
        return Answer::Error(PARSE_ERROR);
    };
    let text = text.trim_start();
    if text.starts_with('[') {
        return batch(text);
    }
    single(text)
}

fn single(text: &str) -> Answer {
    if let Ok(req) = serde_json::from_str::<Request>(text) {
        return Answer::Call(call(&req.method, req.params.as_deref()));
    }
    if let Some(n) = as_notification(text) {
        let _ = call(&n.method, n.params);
        return Answer::Notification;
    }
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        Answer::Error(INVALID_REQUEST)
    } else {
        Answer::Error(PARSE_ERROR)
    }
}

fn as_notification(text: &str) -> Option<Notification<'_, Option<&RawValue>>> {
    let n = serde_json::from_str::<Notification<Option<&RawValue>>>(text).ok()?;
    let members =
        serde_json::from_str::<std::collections::HashMap<String, serde::de::IgnoredAny>>(text)
            .ok()?;
    (!members.contains_key("id")).then_some(n)
}

fn batch(text: &str) -> Answer {
    let Ok(entries) = serde_json::from_str::<Vec<&RawValue>>(text) else {
        return Answer::Error(PARSE_ERROR);
    };
    if entries.is_empty() {
        return Answer::Error(INVALID_REQUEST);
    }
    if entries.len() > MAX_BATCH {
        return Answer::Error(BATCH_TOO_LARGE);
    }
    let answers = entries
        .into_iter()
        .map(|entry| {
            if let Ok(req) = serde_json::from_str::<Request>(entry.get()) {
                Answer::Call(call(&req.method, req.params.as_deref()))
            } else if let Some(n) = as_notification(entry.get()) {
                let _ = call(&n.method, n.params);
                Answer::Notification
            } else {
                Answer::Call(Err(INVALID_REQUEST))
            }
        })
        .collect();
    Answer::Batch(answers)
}

/// Parses `params` as the daemon would for `M`, and checks that the value survives a
/// serialize/parse round trip.
fn parse<M: Method>(params: Option<&RawValue>) -> Result<M::Params, i32>
where
    M::Params: PartialEq + Debug,
{
    let p: M::Params = daemon_params(params).parse().map_err(|e| e.code())?;
    assert_round_trip(&p);
    Ok(p)
}

/// Absent params are an empty named-params object, as in the transport's `call`.
fn daemon_params(params: Option<&RawValue>) -> Params<'_> {
    Params::new(Some(params.map_or("{}", RawValue::get)))
}

fn assert_round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = serde_json::to_string(value).expect("params serialize");
    let back: T = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{json} does not parse back: {e} (from {value:?})"));
    assert_eq!(&back, value, "round trip through {json}");
}

fn call(method: &str, params: Option<&RawValue>) -> Result<(), i32> {
    match method {
        "WinHttpOpen" => parse::<WinHttpOpen>(params).map(drop),
        "WinHttpConnect" => parse::<WinHttpConnect>(params).map(drop),
        "WinHttpOpenRequest" => parse::<WinHttpOpenRequest>(params).map(drop),
        "WinHttpAddRequestHeaders" => parse::<WinHttpAddRequestHeaders>(params).map(drop),
        "WinHttpSendRequest" => parse::<WinHttpSendRequest>(params).map(drop),
        "WinHttpWriteData" => parse::<WinHttpWriteData>(params).map(drop),
        "WinHttpReceiveResponse" => parse::<WinHttpReceiveResponse>(params).map(drop),
        "WinHttpQueryHeaders" => parse::<WinHttpQueryHeaders>(params).map(drop),
        "WinHttpQueryDataAvailable" => parse::<WinHttpQueryDataAvailable>(params).map(drop),
        "WinHttpReadData" => parse::<WinHttpReadData>(params).map(drop),
        "WinHttpCloseHandle" => parse::<WinHttpCloseHandle>(params).map(drop),
        "WinHttpSetTimeouts" => parse::<WinHttpSetTimeouts>(params).map(drop),
        "WinHttpSetOption" => parse::<WinHttpSetOption>(params).map(drop),
        "WinHttpQueryOption" => parse::<WinHttpQueryOption>(params).map(drop),
        "WinHttpCrackUrl" => {
            let p = parse::<WinHttpCrackUrl>(params)?;
            crack_and_create(&p.url, p.flags);
            let _ = url::crack(&p);
            Ok(())
        }
        "WinHttpCreateUrl" => {
            let p = parse::<WinHttpCreateUrl>(params)?;
            if let Ok(r) = url::create(&p) {
                assert_eq!(r.length as usize, r.url.encode_utf16().count());
            }
            Ok(())
        }
        "HinetStatus" => parse::<HinetStatus>(params).map(drop),
        "WinHttpSetStatusCallback" => parse_plain::<SetStatusCallbackParams>(params),
        "WinHttpUnsetStatusCallback" => parse_plain::<UnsetStatusCallbackParams>(params),
        _ => Err(METHOD_NOT_FOUND),
    }
}

fn parse_plain<T: Serialize + DeserializeOwned + PartialEq + Debug>(
    params: Option<&RawValue>,
) -> Result<(), i32> {
    let p: T = daemon_params(params).parse().map_err(|e| e.code())?;
    assert_round_trip(&p);
    Ok(())
}

/// Cracks `url` with `flags`; whatever cracks (without ICU_DECODE, which may produce
/// characters that move boundaries) is rebuilt with CreateUrl and must crack back to the
/// same components, port 0 read as the scheme's default.
pub fn crack_and_create(url_text: &str, flags: u32) {
    let params = CrackUrlParams {
        url: url_text.to_owned(),
        flags,
        component_lengths: None,
    };
    let Ok(first) = url::crack(&params) else {
        return;
    };
    if flags & (icu::DECODE | icu::ESCAPE) != 0 {
        return;
    }
    let rebuilt = url::create(&CreateUrlParams {
        components: first.clone(),
        flags: 0,
        buffer_length: None,
    })
    .unwrap_or_else(|e| panic!("{url_text:?} cracked to {first:?} but CreateUrl fails: {e}"));
    let second = url::crack(&CrackUrlParams {
        url: rebuilt.url.clone(),
        flags: 0,
        component_lengths: None,
    })
    .unwrap_or_else(|e| panic!("{url_text:?} -> {:?} does not crack: {e}", rebuilt.url));
    let default = if first.scheme_id == consts::scheme::HTTPS {
        consts::port::HTTPS
    } else {
        consts::port::HTTP
    };
    let expected = UrlComponents {
        port: if first.port == 0 { default } else { first.port },
        ..first
    };
    assert_eq!(second, expected, "{url_text:?} -> {:?}", rebuilt.url);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_the_daemon() {
        let lines = b"{bad\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"WinHttpOpen\"}\n\
            {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"Nope\"}\n[]\n{\"foo\":1}\n\
            {\"jsonrpc\":\"2.0\",\"method\":\"WinHttpCloseHandle\",\"params\":{\"handle\":1}}\n\
            [{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"WinHttpCrackUrl\",\"params\":{\"url\":\"http://h/\"}},1]\r\n";
        assert_eq!(
            dispatch_stream(lines),
            vec![
                Answer::Error(PARSE_ERROR),
                Answer::Call(Ok(())),
                Answer::Call(Err(METHOD_NOT_FOUND)),
                Answer::Error(INVALID_REQUEST),
                Answer::Error(INVALID_REQUEST),
                Answer::Notification,
                Answer::Batch(vec![
                    Answer::Call(Ok(())),
                    Answer::Call(Err(INVALID_REQUEST))
                ]),
            ]
        );
    }

    #[test]
    fn url_round_trip_holds_for_examples() {
        for u in [
            "http://u:p@h:8080/a?b#c",
            "HTTPS://[::1]:0/",
            "http://@h:/x",
            "http://h:80",
        ] {
            crack_and_create(u, 0);
        }
    }
}
