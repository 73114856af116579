//! WinHttpWriteData, WinHttpQueryDataAvailable and WinHttpReadData: body bytes in and out.

use super::{Ctx, Outcome, run_request_op};
use crate::engine::decode::ResponseBody;
use crate::engine::within;
use crate::error::{ApiError, ApiResult};
use crate::handles::{Handle, RequestState, lock};
use bytes::{Bytes, BytesMut};
use hinet_protocol::callback::StatusInfo;
use hinet_protocol::status::{self, api};
use hinet_protocol::{
    QueryDataAvailableParams, QueryDataAvailableResult, ReadDataParams, ReadDataResult,
    WriteDataParams, WriteDataResult,
};

pub async fn write_data(ctx: Ctx<'_>, p: WriteDataParams) -> ApiResult<Outcome<WriteDataResult>> {
    let h = ctx.handle(p.handle)?;
    h.as_request()?;
    let data = Bytes::from(p.data.into_inner());
    run_request_op(
        h,
        api::WRITE_DATA,
        move |h| async move { do_write(&h, data).await },
        |r: &WriteDataResult| {
            (
                status::WRITE_COMPLETE,
                StatusInfo::WriteComplete {
                    bytes_written: r.bytes_written,
                },
            )
        },
    )
    .await
}

async fn do_write(h: &Handle, data: Bytes) -> ApiResult<WriteDataResult> {
    let request = h.as_request()?;
    let mut upload = {
        let mut core = lock(&request.core);
        let upload = match (core.state, core.upload.as_ref()) {
            (RequestState::Sent, Some(u)) => u,
            (state, _) => {
                return Err(ApiError::IncorrectHandleState {
                    call: "WinHttpWriteData",
                    state,
                });
            }
        };
        upload.check(&data)?;
        // While the write runs the request counts as being sent: a second write or a
        // ReceiveResponse meanwhile is a state error.
        core.state = RequestState::Sending;
        match core.upload.take() {
            Some(u) => u,
            None => return Err(ApiError::Internal("upload vanished".into())),
        }
    };
    let peer = request.target(h).authority();
    let limits = request.timeouts().limits();
    let result = within(
        "sending the request body",
        limits.send,
        upload.write(data, &peer),
    )
    .await;
    let mut core = lock(&request.core);
    core.state = RequestState::Sent;
    core.upload = Some(upload);
    result.map(|bytes_written| WriteDataResult { bytes_written })
}

pub async fn query_data_available(
    ctx: Ctx<'_>,
    p: QueryDataAvailableParams,
) -> ApiResult<Outcome<QueryDataAvailableResult>> {
    let h = ctx.handle(p.handle)?;
    h.as_request()?;
    run_request_op(
        h,
        api::QUERY_DATA_AVAILABLE,
        |h| async move { do_query_available(&h).await },
        |r: &QueryDataAvailableResult| {
            (
                status::DATA_AVAILABLE,
                StatusInfo::DataAvailable {
                    bytes_available: r.bytes_available,
                },
            )
        },
    )
    .await
}

async fn do_query_available(h: &Handle) -> ApiResult<QueryDataAvailableResult> {
    let request = h.as_request()?;
    let Some(mut body) = take_body(h, "WinHttpQueryDataAvailable")? else {
        return Ok(QueryDataAvailableResult { bytes_available: 0 });
    };
    h.callback.ready().await;
    h.account.wait_for_room().await;
    let limits = request.timeouts().limits();
    let filled = within("receiving the response body", limits.receive, body.fill()).await;
    put_body(h, body);
    Ok(QueryDataAvailableResult {
        bytes_available: filled? as u64,
    })
}

pub async fn read_data(ctx: Ctx<'_>, p: ReadDataParams) -> ApiResult<Outcome<ReadDataResult>> {
    let h = ctx.handle(p.handle)?;
    h.as_request()?;
    let want = usize::try_from(p.bytes_to_read)
        .unwrap_or(usize::MAX)
        .min(ctx.daemon.limits.max_read);
    run_request_op(
        h,
        api::READ_DATA,
        move |h| async move {
            let data = do_read(&h, want).await?;
            Ok(ReadDataResult {
                bytes_read: data.len() as u64,
                data: data.to_vec().into(),
            })
        },
        |r: &ReadDataResult| {
            (
                status::READ_COMPLETE,
                StatusInfo::ReadComplete {
                    data: r.data.clone(),
                    bytes_read: r.bytes_read,
                },
            )
        },
    )
    .await
}

/// Reads up to `want` bytes. A sync read waits until `want` bytes or the end of the body,
/// as WinHTTP's does; an async read completes with what has arrived, so streamed responses
/// flow as they come.
async fn do_read(h: &Handle, want: usize) -> ApiResult<Bytes> {
    let request = h.as_request()?;
    let Some(mut body) = take_body(h, "WinHttpReadData")? else {
        return Ok(Bytes::new());
    };
    let fill_whole = !h.session().is_async();
    let limits = request.timeouts().limits();
    let mut out = BytesMut::new();
    let result: ApiResult<()> = async {
        while out.len() < want {
            if !out.is_empty() && !fill_whole {
                break;
            }
            h.callback.ready().await;
            h.account.wait_for_room().await;
            let n = within("receiving the response body", limits.receive, body.fill()).await?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&body.take(want - out.len()));
        }
        Ok(())
    }
    .await;
    put_body(h, body);
    match result {
        // Bytes already read are the caller's; the error comes again on the next read.
        Err(_) if !out.is_empty() => Ok(out.freeze()),
        Err(e) => Err(e),
        Ok(()) => Ok(out.freeze()),
    }
}

/// Takes the response body out of the request for one read; None at the end of the body.
/// The state says BODY_PENDING meanwhile, so a concurrent read is a state error.
fn take_body(h: &Handle, call: &'static str) -> ApiResult<Option<ResponseBody>> {
    let request = h.as_request()?;
    let mut core = lock(&request.core);
    match core.state {
        RequestState::Eof => Ok(None),
        RequestState::Response => match core.download.take() {
            Some(d) => {
                core.state = RequestState::BodyPending;
                Ok(Some(d))
            }
            None => Ok(None),
        },
        state => Err(ApiError::IncorrectHandleState { call, state }),
    }
}

/// Puts the body back after a read, noting the end of the body.
fn put_body(h: &Handle, body: ResponseBody) {
    let Ok(request) = h.as_request() else { return };
    let mut core = lock(&request.core);
    if core.state != RequestState::BodyPending {
        // A resend or close replaced this exchange meanwhile.
        return;
    }
    core.state = if body.is_done() {
        RequestState::Eof
    } else {
        RequestState::Response
    };
    core.download = Some(body);
}
