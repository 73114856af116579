//! WinHttpSetTimeouts, WinHttpSetOption and WinHttpQueryOption.
//!
//! Which handle kinds take which option, and the error for each mismatch, follow reference
//! §5 through the table in `option_table.rs`: unknown options are 12009 to set and 87 to
//! query; set-only options queried are 87; query-only options set are 12011; a known
//! option on the wrong kind of handle is 12018. Size errors (122) and value errors (87)
//! come after those.

use super::Ctx;
use super::features::OptionStore;
use super::option_table::{Keep, Shape, Spec, kind_bit, kinds_text, spec};
use super::session::Timeouts;
use crate::error::{ApiError, ApiResult};
use crate::handles::{Handle, HandleKind, Object, lock};
use hinet_protocol::consts::{disable, option, redirect_policy, security_flag};
use hinet_protocol::{
    Empty, OptionValue, QueryOptionParams, QueryOptionResult, SetOptionParams, SetTimeoutsParams,
};
use std::sync::atomic::Ordering;

pub async fn set_timeouts(ctx: Ctx<'_>, p: SetTimeoutsParams) -> ApiResult<Empty> {
    // Checked before the handle, as WinHTTP does.
    for (name, v) in [
        ("resolveTimeout", p.resolve_timeout),
        ("connectTimeout", p.connect_timeout),
        ("sendTimeout", p.send_timeout),
        ("receiveTimeout", p.receive_timeout),
    ] {
        if v < -1 {
            return Err(ApiError::invalid_parameter(format!(
                "{name} {v} is below -1"
            )));
        }
    }
    let h = ctx.handle(p.handle)?;
    let update = |t: &mut Timeouts| {
        t.resolve = p.resolve_timeout;
        t.connect = p.connect_timeout;
        t.send = p.send_timeout;
        t.receive = p.receive_timeout;
    };
    match &h.object {
        Object::Session(s) => update(&mut lock(&s.timeouts)),
        Object::Request(r) => update(&mut lock(&r.timeouts)),
        Object::Connect(_) => return Err(h.wrong_type("session or request")),
    }
    Ok(Empty {})
}

/// The option store of a session or request handle.
fn store(h: &Handle) -> ApiResult<&OptionStore> {
    match &h.object {
        Object::Session(s) => Ok(&s.extras.options),
        Object::Request(r) => Ok(&r.extras.options),
        Object::Connect(_) => Err(h.wrong_type("session or request")),
    }
}

pub async fn set_option(ctx: Ctx<'_>, p: SetOptionParams) -> ApiResult<Empty> {
    let h = ctx.handle(p.handle)?;
    let spec = spec(p.option).ok_or(ApiError::InvalidOption(p.option))?;
    if spec.set == 0 {
        return Err(ApiError::OptionNotSettable(p.option));
    }
    if spec.set & kind_bit(h.kind()) == 0 {
        return Err(h.wrong_type(kinds_text(spec.set)));
    }
    let number = || number(spec, &p);
    match spec.keep {
        Keep::Stored { check, .. } => {
            let value = check(h.kind(), number()?).map_err(ApiError::invalid_parameter)?;
            store(&h)?.set(p.option, value);
        }
        Keep::Custom => set_custom(&ctx, &h, &p, &number)?,
    }
    Ok(Empty {})
}

/// A number option's value, with WinHTTP's buffer-size rule: exactly the option's size
/// (122 otherwise).
fn number(spec: &Spec, p: &SetOptionParams) -> ApiResult<u64> {
    let n = match &p.value {
        OptionValue::Number(n) => *n,
        OptionValue::Null if p.buffer_length.unwrap_or(0) != 0 => {
            return Err(ApiError::invalid_parameter(
                "value is null but bufferLength is not 0",
            ));
        }
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "option {} ({}) takes a number, not {other:?}",
                p.option, spec.name
            )));
        }
    };
    if let Some(given) = p.buffer_length
        && given != spec.shape.size()
    {
        return Err(ApiError::InsufficientBuffer {
            given,
            required: spec.shape.size(),
        });
    }
    if spec.shape == Shape::Dword && n > u64::from(u32::MAX) {
        return Err(ApiError::invalid_parameter(format!(
            "{n} does not fit a DWORD"
        )));
    }
    Ok(n)
}

/// A text option's value: text, or null for none. `bufferLength` is not checked.
fn text(p: &SetOptionParams, name: &str) -> ApiResult<String> {
    match &p.value {
        OptionValue::Text(t) => Ok(t.clone()),
        OptionValue::Null => Ok(String::new()),
        other => Err(ApiError::invalid_parameter(format!(
            "{name} takes text, not {other:?}"
        ))),
    }
}

fn set_custom(
    ctx: &Ctx<'_>,
    h: &Handle,
    p: &SetOptionParams,
    number: &dyn Fn() -> ApiResult<u64>,
) -> ApiResult<()> {
    match p.option {
        option::CONTEXT_VALUE => h.context.store(number()?, Ordering::Relaxed),
        option::RESOLVE_TIMEOUT
        | option::CONNECT_TIMEOUT
        | option::SEND_TIMEOUT
        | option::RECEIVE_TIMEOUT
        | option::RECEIVE_RESPONSE_TIMEOUT => {
            // DWORD on the wire; 0xFFFFFFFF is -1, "infinite".
            let ms = number()? as u32 as i32;
            let set = |t: &mut Timeouts| match p.option {
                option::RESOLVE_TIMEOUT => t.resolve = ms,
                option::CONNECT_TIMEOUT => t.connect = ms,
                option::SEND_TIMEOUT => t.send = ms,
                option::RECEIVE_TIMEOUT => t.receive = ms,
                _ => t.receive_response = ms,
            };
            match &h.object {
                Object::Session(s) => set(&mut lock(&s.timeouts)),
                Object::Request(r) => set(&mut lock(&r.timeouts)),
                Object::Connect(_) => return Err(h.wrong_type("session or request")),
            }
        }
        option::REDIRECT_POLICY | option::MAX_HTTP_AUTOMATIC_REDIRECTS => {
            let value = number()? as u32;
            if p.option == option::REDIRECT_POLICY && value > redirect_policy::ALWAYS {
                return Err(ApiError::invalid_parameter(format!(
                    "redirect policy {value} (0 NEVER, 1 DISALLOW_HTTPS_TO_HTTP, 2 ALWAYS)"
                )));
            }
            let (policy, max) = match &h.object {
                Object::Session(s) => (&s.redirect_policy, &s.max_redirects),
                Object::Request(r) => (&r.redirect_policy, &r.max_redirects),
                Object::Connect(_) => return Err(h.wrong_type("session or request")),
            };
            let slot = if p.option == option::REDIRECT_POLICY {
                policy
            } else {
                max
            };
            slot.store(value, Ordering::Relaxed);
        }
        option::SECURITY_FLAGS => {
            let request = h.as_request()?;
            let flags = number()? as u32;
            if flags & !security_flag::SETTABLE != 0 {
                return Err(ApiError::invalid_parameter(format!(
                    "security flags {flags:#x} include bits other than SECURITY_FLAG_IGNORE_*"
                )));
            }
            request.security_flags.store(flags, Ordering::Relaxed);
        }
        option::USER_AGENT => {
            let session = h.as_session()?;
            let text = text(p, "USER_AGENT")?;
            *lock(&session.user_agent) = (!text.is_empty()).then_some(text);
        }
        option::USERNAME | option::PASSWORD | option::PROXY_USERNAME | option::PROXY_PASSWORD => {
            let request = h.as_request()?;
            super::auth::set_option_text(request, p.option, text(p, "a credential option")?);
        }
        option::DISABLE_FEATURE => {
            let request = h.as_request()?;
            let bits = number()? as u32;
            let known = disable::COOKIES
                | disable::REDIRECTS
                | disable::AUTHENTICATION
                | disable::KEEP_ALIVE;
            if bits != 0xFFFF_FFFF && bits & !known != 0 {
                return Err(ApiError::invalid_parameter(format!(
                    "unknown DISABLE_FEATURE bits {bits:#x}"
                )));
            }
            request.disabled.fetch_or(bits & known, Ordering::Relaxed);
        }
        o if super::net::handles_option(o) => super::net::set_option(ctx, h, o, &p.value, number)?,
        other => return Err(ApiError::InvalidOption(other)),
    }
    Ok(())
}

pub async fn query_option(ctx: Ctx<'_>, p: QueryOptionParams) -> ApiResult<QueryOptionResult> {
    let h = ctx.handle(p.handle)?;
    let spec = spec(p.option).filter(|s| s.query != 0).ok_or_else(|| {
        ApiError::invalid_parameter(format!("option {} cannot be queried", p.option))
    })?;
    if spec.query & kind_bit(h.kind()) == 0 {
        return Err(h.wrong_type(kinds_text(spec.query)));
    }
    let value = match spec.keep {
        Keep::Stored { default, .. } => {
            OptionValue::Number(store(&h)?.get(p.option).unwrap_or(default))
        }
        Keep::Custom => query_custom(&h, p.option)?,
    };
    let required = match (&value, spec.shape) {
        (OptionValue::Text(t), _) => (t.encode_utf16().count() as u32 + 1) * 2,
        (_, shape) => shape.size(),
    };
    if let Some(given) = p.buffer_length
        && given < required
    {
        return Err(ApiError::InsufficientBuffer { given, required });
    }
    Ok(QueryOptionResult { value })
}

fn query_custom(h: &Handle, opt: u32) -> ApiResult<OptionValue> {
    let n = |v: u64| Ok(OptionValue::Number(v));
    match opt {
        option::HANDLE_TYPE => n(u64::from(h.kind().type_number())),
        option::CONTEXT_VALUE => n(h.context()),
        option::PARENT_HANDLE => match h.kind() {
            HandleKind::Session => Err(h.wrong_type("connect or request")),
            _ => n(h.parent_id()),
        },
        // No Windows Sockets error stands behind hinetd's errors; WinHTTP's worker pool
        // does not exist here (its query answers 0 on Windows too).
        option::EXTENDED_ERROR | option::WORKER_THREAD_COUNT => n(0),
        option::RESOLVE_TIMEOUT
        | option::CONNECT_TIMEOUT
        | option::SEND_TIMEOUT
        | option::RECEIVE_TIMEOUT
        | option::RECEIVE_RESPONSE_TIMEOUT => {
            // Connect handles show their session's values live; requests their snapshot.
            let t = match &h.object {
                Object::Request(r) => r.timeouts(),
                _ => h.session().timeouts(),
            };
            let ms = match opt {
                option::RESOLVE_TIMEOUT => t.resolve,
                option::CONNECT_TIMEOUT => t.connect,
                option::SEND_TIMEOUT => t.send,
                option::RECEIVE_TIMEOUT => t.receive,
                _ => t.receive_response,
            };
            n(u64::from(ms as u32))
        }
        option::REDIRECT_POLICY | option::MAX_HTTP_AUTOMATIC_REDIRECTS => {
            let (policy, max) = match &h.object {
                Object::Session(s) => (&s.redirect_policy, &s.max_redirects),
                Object::Request(r) => (&r.redirect_policy, &r.max_redirects),
                Object::Connect(_) => return Err(h.wrong_type("session or request")),
            };
            let slot = if opt == option::REDIRECT_POLICY {
                policy
            } else {
                max
            };
            n(u64::from(slot.load(Ordering::Relaxed)))
        }
        option::SECURITY_FLAGS => {
            let r = h.as_request()?;
            let mut flags = r.security_flags.load(Ordering::Relaxed);
            if r.secure() {
                flags |= security_flag::SECURE | security_flag::STRENGTH_STRONG;
            }
            n(u64::from(flags))
        }
        option::URL => {
            let r = h.as_request()?;
            Ok(OptionValue::Text(lock(&r.core).url.clone()))
        }
        option::USER_AGENT => {
            let s = h.as_session()?;
            Ok(OptionValue::Text(s.user_agent().unwrap_or_default()))
        }
        option::USERNAME | option::PASSWORD | option::PROXY_USERNAME | option::PROXY_PASSWORD => {
            let r = h.as_request()?;
            Ok(OptionValue::Text(super::auth::option_text(r, opt)))
        }
        o if super::net::handles_option(o) => super::net::query_option(h, o),
        other => Err(ApiError::invalid_parameter(format!(
            "option {other} cannot be queried"
        ))),
    }
}
