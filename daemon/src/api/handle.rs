//! WinHttpCloseHandle.

use super::Ctx;
use crate::error::ApiResult;
use hinet_protocol::{CloseHandleParams, Empty};

/// Closes the handle and its subtree; in-flight work below it is cancelled.
pub async fn close(ctx: Ctx<'_>, p: CloseHandleParams) -> ApiResult<Empty> {
    ctx.daemon.handles.close(ctx.client, p.handle)?;
    Ok(Empty {})
}
