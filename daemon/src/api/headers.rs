//! WinHttpAddRequestHeaders and WinHttpQueryHeaders, and the ordered header list they share.

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::handles::{RequestState, lock};
use hinet_protocol::consts::{addreq, query};
use hinet_protocol::{
    AddRequestHeadersParams, Empty, HeaderValue, QueryHeadersParams, QueryHeadersResult,
};

/// Headers in order, names as given, matched without regard to case. Repeated names are
/// separate entries, as WinHTTP keeps them (two Set-Cookie lines are two instances).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList(pub Vec<(String, String)>);

impl HeaderList {
    pub fn position(&self, name: &str) -> Option<usize> {
        self.0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.0[i].1.as_str())
    }

    /// The `index`-th value of `name`.
    pub fn nth(&self, name: &str, index: usize) -> Option<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .nth(index)
            .map(|(_, v)| v.as_str())
    }

    pub fn push(&mut self, name: &str, value: &str) {
        self.0.push((name.to_owned(), value.to_owned()));
    }

    /// Applies one header line with AddRequestHeaders' modifier rules (reference §6.3).
    pub fn apply(&mut self, name: &str, value: &str, modifiers: u32) -> ApiResult<()> {
        let existing = self.position(name);
        if modifiers & addreq::FLAG_REPLACE != 0 {
            match existing {
                Some(i) => {
                    self.0.remove(i);
                    if !value.is_empty() {
                        self.push(name, value);
                    }
                }
                None if modifiers & addreq::FLAG_ADD != 0 => {
                    if !value.is_empty() {
                        self.push(name, value)
                    }
                }
                None => return Err(ApiError::HeaderNotFound(name.to_owned())),
            }
            return Ok(());
        }
        if modifiers & addreq::FLAG_ADD_IF_NEW != 0 {
            if existing.is_some() {
                return Err(ApiError::HeaderAlreadyExists(name.to_owned()));
            }
            self.push(name, value);
            return Ok(());
        }
        let separator = if modifiers & addreq::FLAG_COALESCE_WITH_COMMA != 0 {
            Some(", ")
        } else if modifiers & addreq::FLAG_COALESCE_WITH_SEMICOLON != 0 {
            Some("; ")
        } else {
            None
        };
        match (separator, existing) {
            (Some(sep), Some(i)) => {
                let v = &mut self.0[i].1;
                v.push_str(sep);
                v.push_str(value);
            }
            _ => self.push(name, value),
        }
        Ok(())
    }
}

/// Splits a block of `Name: value` lines (CRLF, lone CR or LF). Empty lines are skipped;
/// a line without a colon or with an invalid name fails with 12153.
pub fn parse_block(block: &str) -> ApiResult<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    for line in block.split(['\r', '\n']) {
        if line.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ApiError::InvalidHeader(line.to_owned()));
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ApiError::InvalidHeader(line.to_owned()));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| b == 0 || b == b'\r' || b == b'\n') {
            return Err(ApiError::InvalidHeader(line.to_owned()));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub async fn add_request_headers(ctx: Ctx<'_>, p: AddRequestHeadersParams) -> ApiResult<Empty> {
    let block = p
        .headers
        .as_deref()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::invalid_parameter("headers must not be empty"))?;
    let h = ctx.handle(p.handle)?;
    let request = h.as_request()?;
    let lines = parse_block(block)?;
    let mut core = lock(&request.core);
    for (name, value) in lines {
        core.headers.apply(name, value, p.modifiers)?;
    }
    Ok(Empty {})
}

/// A message head kept for QueryHeaders: the response as received, or the request as sent.
#[derive(Debug, Clone, Default)]
pub struct MessageHead {
    /// The status line (or request line), without CRLF.
    pub start_line: String,
    pub status: u16,
    pub reason: String,
    pub version: String,
    pub headers: HeaderList,
}

impl MessageHead {
    /// Start line and headers, CRLF-separated, ending in an empty line.
    pub fn raw_crlf(&self) -> String {
        let mut s = format!("{}\r\n", self.start_line);
        for (n, v) in &self.headers.0 {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s
    }
}

pub async fn query_headers(ctx: Ctx<'_>, p: QueryHeadersParams) -> ApiResult<QueryHeadersResult> {
    let level = p.info_level & query::LEVEL_MASK;
    if level > query::MAX && level != query::CUSTOM {
        return Err(ApiError::invalid_parameter(format!(
            "info level {level} is not a WinHTTP query level"
        )));
    }
    if level == query::CUSTOM && p.name.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::invalid_parameter("CUSTOM needs a header name"));
    }
    let h = ctx.handle(p.handle)?;
    let request = h.as_request()?;
    let modifiers = p.info_level & query::MODIFIER_MASK;
    let from_request = modifiers & query::FLAG_REQUEST_HEADERS != 0;

    let index = p.index.unwrap_or(0);
    let (text, next_index) = if level == query::REQUEST_METHOD {
        (request.verb.clone(), index)
    } else if from_request {
        let head = request.request_head(&h);
        lookup(&head, level, p.name.as_deref(), index)?
    } else {
        let core = lock(&request.core);
        match core.state {
            RequestState::Response | RequestState::BodyPending | RequestState::Eof => {}
            state => {
                return Err(ApiError::IncorrectHandleState {
                    call: "WinHttpQueryHeaders",
                    state,
                });
            }
        }
        let head = core.response.clone().unwrap_or_default();
        drop(core);
        lookup(&head, level, p.name.as_deref(), index)?
    };
    let value = if modifiers & (query::FLAG_NUMBER | query::FLAG_NUMBER64) != 0 {
        let width = if modifiers & query::FLAG_NUMBER64 != 0 {
            8
        } else {
            4
        };
        check_buffer(p.buffer_length, width)?;
        let n = leading_number(&text);
        HeaderValue::Number(if width == 4 { n & 0xFFFF_FFFF } else { n })
    } else {
        // WinHTTP's buffers hold UTF-16 text and its terminator.
        let required = (text.encode_utf16().count() as u32 + 1) * 2;
        check_buffer(p.buffer_length, required)?;
        HeaderValue::Text(text)
    };
    Ok(QueryHeadersResult {
        value,
        index: next_index,
    })
}

fn check_buffer(given: Option<u32>, required: u32) -> ApiResult<()> {
    match given {
        Some(given) if given < required => Err(ApiError::InsufficientBuffer { given, required }),
        _ => Ok(()),
    }
}

/// Finds a level's text in a head; returns it with the next index.
fn lookup(
    head: &MessageHead,
    level: u32,
    custom: Option<&str>,
    index: u32,
) -> ApiResult<(String, u32)> {
    let whole = match level {
        query::STATUS_CODE => Some(head.status.to_string()),
        query::STATUS_TEXT => Some(head.reason.clone()),
        query::VERSION => Some(head.version.clone()),
        query::RAW_HEADERS_CRLF => Some(head.raw_crlf()),
        query::RAW_HEADERS => Some(head.raw_crlf().replace("\r\n", "\0")),
        _ => None,
    };
    if let Some(text) = whole {
        return Ok((text, index));
    }
    let name = match level {
        query::CUSTOM => custom.unwrap_or_default(),
        _ => header_name(level).ok_or_else(|| {
            ApiError::HeaderNotFound(format!("for info level {level} (not supported)"))
        })?,
    };
    head.headers
        .nth(name, index as usize)
        .map(|v| (v.to_owned(), index + 1))
        .ok_or_else(|| ApiError::HeaderNotFound(format!("{name} (index {index})")))
}

fn leading_number(text: &str) -> u64 {
    let digits: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().unwrap_or(0)
}

/// The header a query level names.
fn header_name(level: u32) -> Option<&'static str> {
    Some(match level {
        query::MIME_VERSION => "Mime-Version",
        query::CONTENT_TYPE => "Content-Type",
        query::CONTENT_TRANSFER_ENCODING => "Content-Transfer-Encoding",
        query::CONTENT_ID => "Content-ID",
        query::CONTENT_DESCRIPTION => "Content-Description",
        query::CONTENT_LENGTH => "Content-Length",
        query::CONTENT_LANGUAGE => "Content-Language",
        query::ALLOW => "Allow",
        query::PUBLIC => "Public",
        query::DATE => "Date",
        query::EXPIRES => "Expires",
        query::LAST_MODIFIED => "Last-Modified",
        query::MESSAGE_ID => "Message-Id",
        query::URI => "URI",
        query::DERIVED_FROM => "Derived-From",
        query::COST => "Cost",
        query::LINK => "Link",
        query::PRAGMA => "Pragma",
        query::CONNECTION => "Connection",
        query::ACCEPT => "Accept",
        query::ACCEPT_CHARSET => "Accept-Charset",
        query::ACCEPT_ENCODING => "Accept-Encoding",
        query::ACCEPT_LANGUAGE => "Accept-Language",
        query::AUTHORIZATION => "Authorization",
        query::CONTENT_ENCODING => "Content-Encoding",
        query::FORWARDED => "Forwarded",
        query::FROM => "From",
        query::IF_MODIFIED_SINCE => "If-Modified-Since",
        query::LOCATION => "Location",
        query::REFERER => "Referer",
        query::RETRY_AFTER => "Retry-After",
        query::SERVER => "Server",
        query::TITLE => "Title",
        query::USER_AGENT => "User-Agent",
        query::WWW_AUTHENTICATE => "WWW-Authenticate",
        query::PROXY_AUTHENTICATE => "Proxy-Authenticate",
        query::ACCEPT_RANGES => "Accept-Ranges",
        query::SET_COOKIE => "Set-Cookie",
        query::COOKIE => "Cookie",
        query::REFRESH => "Refresh",
        query::CONTENT_DISPOSITION => "Content-Disposition",
        query::AGE => "Age",
        query::CACHE_CONTROL => "Cache-Control",
        query::CONTENT_BASE => "Content-Base",
        query::CONTENT_LOCATION => "Content-Location",
        query::CONTENT_MD5 => "Content-MD5",
        query::CONTENT_RANGE => "Content-Range",
        query::ETAG => "ETag",
        query::HOST => "Host",
        query::IF_MATCH => "If-Match",
        query::IF_NONE_MATCH => "If-None-Match",
        query::IF_RANGE => "If-Range",
        query::IF_UNMODIFIED_SINCE => "If-Unmodified-Since",
        query::MAX_FORWARDS => "Max-Forwards",
        query::PROXY_AUTHORIZATION => "Proxy-Authorization",
        query::RANGE => "Range",
        query::TRANSFER_ENCODING => "Transfer-Encoding",
        query::UPGRADE => "Upgrade",
        query::VARY => "Vary",
        query::VIA => "Via",
        query::WARNING => "Warning",
        query::EXPECT => "Expect",
        query::PROXY_CONNECTION => "Proxy-Connection",
        query::UNLESS_MODIFIED_SINCE => "Unless-Modified-Since",
        query::PROXY_SUPPORT => "Proxy-Support",
        query::AUTHENTICATION_INFO => "Authentication-Info",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_follow_winhttp() {
        let mut l = HeaderList::default();
        for (n, v) in parse_block("A: 1\r\nB: 2").unwrap() {
            l.apply(n, v, addreq::FLAG_ADD).unwrap();
        }
        assert_eq!(
            l.apply("a", "x", addreq::FLAG_ADD_IF_NEW)
                .unwrap_err()
                .code(),
            12155
        );
        l.apply("A", "3", addreq::FLAG_COALESCE_WITH_COMMA).unwrap();
        assert_eq!(l.get("a"), Some("1, 3"));
        l.apply("B", "4", addreq::FLAG_COALESCE_WITH_SEMICOLON)
            .unwrap();
        assert_eq!(l.get("B"), Some("2; 4"));
        l.apply("A", "9", addreq::FLAG_REPLACE).unwrap();
        assert_eq!(l.0.last().unwrap(), &("A".to_string(), "9".to_string()));
        l.apply("A", "", addreq::FLAG_REPLACE).unwrap();
        assert!(!l.contains("A"));
        assert_eq!(
            l.apply("Z", "1", addreq::FLAG_REPLACE).unwrap_err().code(),
            12150
        );
        assert_eq!(parse_block("no colon").unwrap_err().code(), 12153);
        assert_eq!(parse_block(" e :f").unwrap_err().code(), 12153);
    }
}
