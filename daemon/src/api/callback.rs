//! WinHttpSetStatusCallback: installing and removing a handle's callback. The subscription
//! itself (its id, its sink) is the RPC layer's; this module only decides which handle gets
//! it and with which mask.

use super::Ctx;
use crate::callback::Callback;
use crate::error::ApiResult;
use std::sync::Arc;

/// Checks that `handle` exists for this client before a subscription is accepted.
pub fn check(ctx: Ctx<'_>, handle: u64) -> ApiResult<Arc<crate::handles::Handle>> {
    ctx.handle(handle)
}

/// Installs `callback` on the handle, replacing any previous one. Children created later
/// copy it; existing children keep theirs (reference §1.6).
pub fn install(handle: &crate::handles::Handle, callback: Callback) {
    handle.callback.set(Some(callback));
}
