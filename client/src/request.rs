//! Request handles: send, write, receive, headers, body.

use crate::error::{Error, Result};
use crate::handle::{HandleInner, handle_methods};
use futures::StreamExt;
use futures::stream::BoxStream;
use hinet_protocol::callback::StatusInfo;
use hinet_protocol::consts::query;
use hinet_protocol::error::ERROR_WINHTTP_HEADER_NOT_FOUND;
use hinet_protocol::status::{self, api};
use hinet_protocol::{
    AddRequestHeadersParams, Base64Bytes, HeaderValue, Method, QueryAuthSchemesParams,
    QueryAuthSchemesResult, QueryDataAvailableParams, QueryHeadersParams, QueryHeadersResult,
    ReadDataParams, ReceiveResponseParams, SendRequestParams, SetCredentialsParams,
    WinHttpAddRequestHeaders, WinHttpQueryAuthSchemes, WinHttpQueryDataAvailable,
    WinHttpQueryHeaders, WinHttpReadData, WinHttpReceiveResponse, WinHttpSendRequest,
    WinHttpSetCredentials, WinHttpWriteData, WriteDataParams,
};
use std::sync::Arc;

/// The buffer size [`Request::body`] and [`Request::read_to_end`] read with.
pub const READ_CHUNK: u64 = 64 * 1024;

/// A request handle (`WinHttpOpenRequest`): one HTTP exchange at a time.
///
/// The operations (`send`, `write`, `receive_response`, `query_data_available`, `read`)
/// take `&mut self`: WinHTTP allows one at a time per request. In an async session each
/// returns when its completion notification arrives, with the completion's result, or with
/// the REQUEST_ERROR's code as an [`Error::WinHttp`].
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn demo(connection: hinet_client::Connection) -> hinet_client::Result<()> {
/// let mut request = connection.open_request("POST", "/upload", 0).await?;
/// // Announce 11 bytes, send 6 now and the rest with WriteData.
/// request.send(Some("Content-Type: text/plain"), b"hello ", 11).await?;
/// request.write(b"world").await?;
/// request.receive_response().await?;
/// let mut body = request.body();
/// while let Some(chunk) = body.next().await {
///     println!("{} bytes", chunk?.len());
/// }
/// # Ok(()) }
/// ```
pub struct Request {
    h: Arc<HandleInner>,
    is_async: bool,
}

handle_methods!(Request);

/// How an operation finished: the RPC's own result (sync), or its completion (async).
enum Done<R> {
    Now(R),
    Later(StatusInfo),
}

impl Request {
    pub(crate) fn new(h: Arc<HandleInner>, is_async: bool) -> Request {
        Request { h, is_async }
    }

    /// Whether the request belongs to an async session.
    pub fn is_async(&self) -> bool {
        self.is_async
    }

    /// `WinHttpSendRequest`: extra header lines (CRLF-separated), the body or its first
    /// part, and the whole body length when more follows through [`write`](Self::write)
    /// (0 = none announced).
    pub async fn send(
        &mut self,
        headers: Option<&str>,
        optional: &[u8],
        total_length: u64,
    ) -> Result<()> {
        let params = SendRequestParams {
            handle: self.h.id,
            headers: headers.map(str::to_owned),
            optional: (!optional.is_empty()).then(|| Base64Bytes::from(optional)),
            total_length,
            context: 0,
        };
        self.op::<WinHttpSendRequest>(params, status::SENDREQUEST_COMPLETE, api::SEND_REQUEST)
            .await
            .map(|_| ())
    }

    /// `WinHttpWriteData`: more of the body announced by `send`. Returns the bytes written.
    pub async fn write(&mut self, data: &[u8]) -> Result<u64> {
        let params = WriteDataParams {
            handle: self.h.id,
            data: data.into(),
        };
        match self
            .op::<WinHttpWriteData>(params, status::WRITE_COMPLETE, api::WRITE_DATA)
            .await?
        {
            Done::Now(r) => Ok(r.bytes_written),
            Done::Later(StatusInfo::WriteComplete { bytes_written }) => Ok(bytes_written),
            Done::Later(other) => Err(unexpected(WinHttpWriteData::NAME, &other)),
        }
    }

    /// `WinHttpReceiveResponse`: ends the body and waits for the response head.
    pub async fn receive_response(&mut self) -> Result<()> {
        let params = ReceiveResponseParams { handle: self.h.id };
        self.op::<WinHttpReceiveResponse>(params, status::HEADERS_AVAILABLE, api::RECEIVE_RESPONSE)
            .await
            .map(|_| ())
    }

    /// `WinHttpQueryDataAvailable`: waits for body bytes; 0 at the end of the body.
    pub async fn query_data_available(&mut self) -> Result<u64> {
        let params = QueryDataAvailableParams { handle: self.h.id };
        match self
            .op::<WinHttpQueryDataAvailable>(
                params,
                status::DATA_AVAILABLE,
                api::QUERY_DATA_AVAILABLE,
            )
            .await?
        {
            Done::Now(r) => Ok(r.bytes_available),
            Done::Later(StatusInfo::DataAvailable { bytes_available }) => Ok(bytes_available),
            Done::Later(other) => Err(unexpected(WinHttpQueryDataAvailable::NAME, &other)),
        }
    }

    /// `WinHttpReadData`: up to `bytes_to_read` body bytes (a sync session waits for that
    /// many or the end; an async one completes with what has arrived). Empty at the end.
    pub async fn read(&mut self, bytes_to_read: u64) -> Result<Vec<u8>> {
        let params = ReadDataParams {
            handle: self.h.id,
            bytes_to_read,
        };
        match self
            .op::<WinHttpReadData>(params, status::READ_COMPLETE, api::READ_DATA)
            .await?
        {
            Done::Now(r) => Ok(r.data.into_inner()),
            Done::Later(StatusInfo::ReadComplete { data, .. }) => Ok(data.into_inner()),
            Done::Later(other) => Err(unexpected(WinHttpReadData::NAME, &other)),
        }
    }

    /// The response body as a stream of chunks (of at most [`READ_CHUNK`] bytes).
    pub fn body(&mut self) -> BoxStream<'_, Result<Vec<u8>>> {
        futures::stream::try_unfold(self, |req| async move {
            let chunk = req.read(READ_CHUNK).await?;
            Ok((!chunk.is_empty()).then_some((chunk, req)))
        })
        .boxed()
    }

    /// The rest of the response body.
    pub async fn read_to_end(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let chunk = self.read(READ_CHUNK).await?;
            if chunk.is_empty() {
                return Ok(body);
            }
            body.extend_from_slice(&chunk);
        }
    }

    /// `WinHttpAddRequestHeaders` (`modifiers`: `consts::addreq` bits; 0 adds).
    pub async fn add_headers(&self, headers: &str, modifiers: u32) -> Result<()> {
        self.h
            .client
            .call::<WinHttpAddRequestHeaders>(&AddRequestHeadersParams {
                handle: self.h.id,
                headers: Some(headers.to_owned()),
                modifiers,
            })
            .await
            .map(|_| ())
    }

    /// `WinHttpQueryHeaders` with an info level (`consts::query`), the header name for
    /// `query::CUSTOM`, and the instance index.
    pub async fn query_headers(
        &self,
        info_level: u32,
        name: Option<&str>,
        index: Option<u32>,
    ) -> Result<QueryHeadersResult> {
        self.h
            .client
            .call::<WinHttpQueryHeaders>(&QueryHeadersParams {
                handle: self.h.id,
                info_level,
                name: name.map(str::to_owned),
                index,
                buffer_length: None,
            })
            .await
    }

    /// The response status code.
    pub async fn status_code(&self) -> Result<u16> {
        let r = self
            .query_headers(query::STATUS_CODE | query::FLAG_NUMBER, None, None)
            .await?;
        match r.value {
            HeaderValue::Number(n) => u16::try_from(n).map_err(|_| Error::Unexpected {
                method: WinHttpQueryHeaders::NAME.to_owned(),
                detail: format!("status code {n} out of range"),
            }),
            HeaderValue::Text(t) => t.trim().parse().map_err(|_| Error::Unexpected {
                method: WinHttpQueryHeaders::NAME.to_owned(),
                detail: format!("status code {t:?} is not a number"),
            }),
        }
    }

    /// The first value of a response header, or `None` when the response has none.
    pub async fn header(&self, name: &str) -> Result<Option<String>> {
        match self.query_headers(query::CUSTOM, Some(name), None).await {
            Ok(r) => Ok(Some(text(r.value))),
            Err(e) if e.code() == Some(ERROR_WINHTTP_HEADER_NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The response's Content-Length, when it has one.
    pub async fn content_length(&self) -> Result<Option<u64>> {
        match self
            .query_headers(query::CONTENT_LENGTH | query::FLAG_NUMBER64, None, None)
            .await
        {
            Ok(QueryHeadersResult {
                value: HeaderValue::Number(n),
                ..
            }) => Ok(Some(n)),
            Ok(_) => Ok(None),
            Err(e) if e.code() == Some(ERROR_WINHTTP_HEADER_NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The status line and response headers, CRLF-separated, ending with an empty line.
    pub async fn raw_headers(&self) -> Result<String> {
        let r = self
            .query_headers(query::RAW_HEADERS_CRLF, None, None)
            .await?;
        Ok(text(r.value))
    }

    /// The request line and request headers as they are (or will be) sent.
    pub async fn raw_request_headers(&self) -> Result<String> {
        let r = self
            .query_headers(
                query::RAW_HEADERS_CRLF | query::FLAG_REQUEST_HEADERS,
                None,
                None,
            )
            .await?;
        Ok(text(r.value))
    }

    /// `WinHttpQueryAuthSchemes`: the schemes the last response's challenge offers
    /// (`consts::auth_scheme` bits).
    pub async fn query_auth_schemes(&self) -> Result<QueryAuthSchemesResult> {
        self.h
            .client
            .call::<WinHttpQueryAuthSchemes>(&QueryAuthSchemesParams { handle: self.h.id })
            .await
    }

    /// `WinHttpSetCredentials` for the next sends of this request: `target` is
    /// `consts::auth_target::SERVER` or `PROXY`, `scheme` one `consts::auth_scheme` bit.
    pub async fn set_credentials(
        &self,
        target: u32,
        scheme: u32,
        user: &str,
        password: &str,
    ) -> Result<()> {
        self.h
            .client
            .call::<WinHttpSetCredentials>(&SetCredentialsParams {
                handle: self.h.id,
                auth_targets: target,
                auth_scheme: scheme,
                user_name: Some(user.to_owned()),
                password: Some(password.to_owned()),
            })
            .await
            .map(|_| ())
    }

    /// `WinHttpSetTimeouts` for this request only, in milliseconds.
    pub async fn set_timeouts(
        &self,
        resolve_ms: i32,
        connect_ms: i32,
        send_ms: i32,
        receive_ms: i32,
    ) -> Result<()> {
        crate::session::set_timeouts(&self.h, resolve_ms, connect_ms, send_ms, receive_ms).await
    }

    /// Runs one request operation; in an async session also waits for its completion
    /// (`expect`, or REQUEST_ERROR carrying `api`).
    async fn op<M: Method>(
        &mut self,
        params: M::Params,
        expect: u32,
        api: u32,
    ) -> Result<Done<M::Result>> {
        let Some(route) = &self.h.route else {
            return self.h.client.call::<M>(&params).await.map(Done::Now);
        };
        // Registered before the call: the completion may arrive before the answer.
        let completion = route.expect(self.h.id, expect, api);
        if let Err(e) = self.h.client.call_accepted::<M>(&params).await {
            route.forget(self.h.id);
            return Err(e);
        }
        let n = completion.await.map_err(|_| self.h.lost_completion())?;
        match n.info {
            StatusInfo::RequestError {
                error,
                error_name,
                detail,
                ..
            } => Err(Error::WinHttp {
                code: error,
                name: error_name,
                detail,
                required: None,
            }),
            info => Ok(Done::Later(info)),
        }
    }
}

fn text(v: HeaderValue) -> String {
    match v {
        HeaderValue::Text(t) => t,
        HeaderValue::Number(n) => n.to_string(),
    }
}

fn unexpected(method: &str, info: &StatusInfo) -> Error {
    Error::Unexpected {
        method: method.to_owned(),
        detail: format!("completion carried {info:?}"),
    }
}
