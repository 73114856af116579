//! WinHttpConnect: names a server; no network I/O happens until a request is sent.

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::handles::Object;
use hinet_protocol::callback::StatusInfo;
use hinet_protocol::status;
use hinet_protocol::{ConnectParams, HandleResult};

pub struct Connect {
    /// Host name or IP literal, brackets removed.
    pub server_name: String,
    /// 0: 80 or 443 by each request's SECURE flag.
    pub server_port: u16,
}

pub async fn connect(ctx: Ctx<'_>, p: ConnectParams) -> ApiResult<HandleResult> {
    // WinHTTP checks the server name before the handle.
    let name = p
        .server_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid_parameter("serverName is required"))?;
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if name.contains(['/', ' ', '?', '#', '@']) {
        return Err(ApiError::InvalidUrl(format!("{name:?} is not a host name")));
    }
    let session = ctx.handle(p.handle)?;
    session.as_session()?;
    let connect = Connect {
        server_name: name.to_owned(),
        server_port: p.server_port,
    };
    let h =
        ctx.daemon
            .handles
            .insert(ctx.client, Some(session.clone()), Object::Connect(connect))?;
    // HANDLE_CREATED for a connect handle goes through the session's callback.
    session.callback.notify(
        h.id,
        session.context(),
        status::HANDLE_CREATED,
        StatusInfo::Handle { handle: h.id },
    );
    Ok(HandleResult { handle: h.id })
}
