//! WinHttpCloseHandle.

use super::Ctx;
use crate::error::ApiResult;
use hinet_protocol::{CloseHandleParams, Empty, StatusParams, StatusResult};
use std::sync::atomic::Ordering;

/// Closes the handle and its subtree; in-flight work below it is cancelled.
pub async fn close(ctx: Ctx<'_>, p: CloseHandleParams) -> ApiResult<Empty> {
    ctx.daemon.handles.close(ctx.client, p.handle)?;
    Ok(Empty {})
}

/// `HinetStatus`: counters for operators and for tests that check nothing leaked.
pub async fn status(ctx: Ctx<'_>, _p: StatusParams) -> ApiResult<StatusResult> {
    let counts = ctx.daemon.handles.counts();
    Ok(StatusResult {
        connections: ctx.daemon.connections.load(Ordering::Relaxed),
        sessions: counts.sessions as u64,
        connects: counts.connects as u64,
        requests: counts.requests as u64,
        own_handles: ctx.daemon.handles.owned(ctx.client).len() as u64,
    })
}
