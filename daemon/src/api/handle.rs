//! WinHttpCloseHandle.

use super::Ctx;
use crate::error::ApiResult;
use crate::stats::Stats;
use hinet_protocol::{CloseHandleParams, Empty, ErrorCount, StatusParams, StatusResult};
use std::sync::atomic::Ordering;

/// Closes the handle and its subtree; in-flight work below it is cancelled.
pub async fn close(ctx: Ctx<'_>, p: CloseHandleParams) -> ApiResult<Empty> {
    ctx.daemon.handles.close(ctx.client, p.handle)?;
    Ok(Empty {})
}

/// `HinetStatus`: counters for operators and for tests that check nothing leaked.
pub async fn status(ctx: Ctx<'_>, _p: StatusParams) -> ApiResult<StatusResult> {
    let counts = ctx.daemon.handles.counts();
    let stats = &ctx.daemon.stats;
    Ok(StatusResult {
        connections: ctx.daemon.connections.load(Ordering::Relaxed),
        sessions: counts.sessions as u64,
        connects: counts.connects as u64,
        requests: counts.requests as u64,
        own_handles: ctx.daemon.handles.owned(ctx.client).len() as u64,
        requests_in_flight: Stats::get(&stats.requests_in_flight),
        bytes_in: Stats::get(&stats.bytes_in),
        bytes_out: Stats::get(&stats.bytes_out),
        connections_total: Stats::get(&stats.connections_total),
        connections_refused: Stats::get(&stats.connections_refused),
        errors: stats
            .errors()
            .into_iter()
            .map(|(code, count)| ErrorCount {
                code,
                name: hinet_protocol::error_name(code).to_owned(),
                count,
            })
            .collect(),
        uptime_secs: stats.uptime_secs(),
    })
}
