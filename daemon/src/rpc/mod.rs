//! The JSON-RPC layer: the only part of the daemon that knows JSON-RPC, JSON field names
//! and subscriptions. It registers one jsonrpsee method per WinHTTP function, turns
//! [`ApiError`]s into JSON-RPC errors, and adapts subscriptions to the handle table's
//! [`NotificationSink`].

pub mod discover;
mod flow;
pub mod transport;
pub mod ws;

use crate::api::{self, Ctx};
use crate::callback::{Callback, NotificationSink};
use crate::error::ApiError;
use crate::handles::{ClientId, lock};
use crate::state::Daemon;
use hinet_protocol::callback::{
    SET_STATUS_CALLBACK, STATUS_CALLBACK, SetStatusCallbackParams, StatusCallbackParams,
    StatusNotification, UNSET_STATUS_CALLBACK, UnsetStatusCallbackParams,
};
use hinet_protocol::*;
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{
    Extensions, Methods, PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink,
};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the transport tells every call about the connection it came on.
#[derive(Clone)]
pub struct ConnectionInfo {
    pub client: ClientId,
    /// Cancelling it ends the connection (used when a client is hopelessly behind).
    pub kill: CancellationToken,
    /// The transport counts the bytes it writes against the client's budget
    /// (`Account::wrote_bytes`), so notifications may be counted against it too.
    pub meters_bytes: bool,
}

/// A batch's answers, gathered the way both transports need: subscriptions answer on
/// their own line (through the sink), notifications not at all, and a batch of nothing but
/// notifications gets no answer.
pub struct BatchAnswers {
    out: jsonrpsee::core::server::BatchResponseBuilder,
    any_call: bool,
}

impl BatchAnswers {
    pub fn new(max_response: usize) -> Self {
        BatchAnswers {
            out: jsonrpsee::core::server::BatchResponseBuilder::new_with_limit(max_response),
            any_call: false,
        }
    }

    /// Adds a call's answer; Err is the error that replaces a batch grown too large.
    pub fn add(
        &mut self,
        rp: jsonrpsee::core::server::MethodResponse,
    ) -> Result<(), jsonrpsee::core::server::MethodResponse> {
        self.any_call = true;
        if rp.is_subscription() {
            return Ok(());
        }
        self.out.append(rp)
    }

    pub fn finish(self) -> jsonrpsee::core::server::MethodResponse {
        use jsonrpsee::core::server::MethodResponse;
        if !self.any_call {
            return MethodResponse::notification();
        }
        MethodResponse::from_batch(self.out.finish())
    }
}

/// The internal unsubscribe name jsonrpsee needs; clients use `WinHttpUnsetStatusCallback`.
pub const UNSUBSCRIBE_INTERNAL: &str = "hinet_unsubscribeStatusCallback";

/// Turns a WinHTTP failure into a JSON-RPC error: code = the WinHTTP number, message =
/// symbolic name and detail, data = `{name, detail[, required]}`.
pub fn to_rpc_error(e: ApiError) -> ErrorObjectOwned {
    let code = e.code();
    let name = error_name(code);
    let detail = e.to_string();
    let data = ErrorData {
        name: name.to_owned(),
        detail: detail.clone(),
        required: e.required_size(),
    };
    ErrorObjectOwned::owned(code as i32, format!("{name}: {detail}"), Some(data))
}

fn connection(ext: &Extensions) -> Result<ConnectionInfo, ErrorObjectOwned> {
    ext.get::<ConnectionInfo>()
        .cloned()
        .ok_or_else(|| to_rpc_error(ApiError::Internal("call without a connection".into())))
}

macro_rules! register {
    ($module:expr, $method:ty, $apply:path) => {
        // Described in the same step, so rpc.discover lists exactly what is served.
        $module.describe::<$method>();
        $module.register_async_method(
            <$method as Method>::NAME,
            |params, daemon, ext| async move {
                let conn = connection(&ext)?;
                let p: <$method as Method>::Params = params.parse()?;
                let ctx = Ctx {
                    daemon: &daemon,
                    client: conn.client,
                };
                $apply(ctx, p).await.map_err(|e| {
                    daemon.stats.error(e.code());
                    to_rpc_error(e)
                })
            },
        )?
    };
}

/// Every method of the daemon.
pub fn methods(daemon: Arc<Daemon>) -> Result<Methods, discover::RegistryError> {
    let mut m = discover::Registry::new(daemon);
    register!(m, WinHttpOpen, api::session::open);
    register!(m, WinHttpConnect, api::connect::connect);
    register!(m, WinHttpOpenRequest, api::request::open_request);
    register!(
        m,
        WinHttpAddRequestHeaders,
        api::headers::add_request_headers
    );
    register!(m, WinHttpSetCredentials, api::auth::set_credentials);
    register!(m, WinHttpSendRequest, api::request::send_request);
    register!(m, WinHttpWriteData, api::data::write_data);
    register!(m, WinHttpReceiveResponse, api::request::receive_response);
    register!(m, WinHttpQueryHeaders, api::headers::query_headers);
    register!(m, WinHttpQueryAuthSchemes, api::auth::query_auth_schemes);
    register!(
        m,
        WinHttpQueryDataAvailable,
        api::data::query_data_available
    );
    register!(m, WinHttpReadData, api::data::read_data);
    register!(m, WinHttpCloseHandle, api::handle::close);
    register!(m, WinHttpSetTimeouts, api::options::set_timeouts);
    register!(m, WinHttpSetOption, api::options::set_option);
    register!(m, WinHttpQueryOption, api::options::query_option);
    register!(m, WinHttpCrackUrl, api::url::crack_url);
    register!(m, WinHttpCreateUrl, api::url::create_url);
    register!(m, HinetStatus, api::handle::status);

    m.register_subscription(
        SET_STATUS_CALLBACK,
        STATUS_CALLBACK,
        UNSUBSCRIBE_INTERNAL,
        |params, pending, daemon, ext| async move {
            set_status_callback(params, pending, daemon, ext).await
        },
    )?;
    m.doc().subscription::<SetStatusCallbackParams>(
        SET_STATUS_CALLBACK,
        "Subscribes to a handle's status callbacks; the result is the subscription id.",
        STATUS_CALLBACK,
    );
    m.doc().notification::<StatusCallbackParams>(
        STATUS_CALLBACK,
        "One WinHTTP status callback of a subscription.",
        SET_STATUS_CALLBACK,
        UNSET_STATUS_CALLBACK,
    );
    m.register_async_method(UNSET_STATUS_CALLBACK, |params, daemon, ext| async move {
        let conn = connection(&ext)?;
        let p: UnsetParams = params.parse()?;
        let key = p.subscription.to_string();
        let mut found = false;
        for h in daemon.handles.owned(conn.client) {
            found |= h.callback.unset(&key);
        }
        if !found {
            return Err(to_rpc_error(ApiError::invalid_parameter(format!(
                "no status callback with subscription {key} on this connection"
            ))));
        }
        Ok::<_, ErrorObjectOwned>(Empty {})
    })?;
    m.doc().call::<UnsetStatusCallbackParams, Empty>(
        UNSET_STATUS_CALLBACK,
        "Removes a status-callback subscription from every handle of this connection.",
    );
    m.finish()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsetParams {
    subscription: serde_json::Value,
}

async fn set_status_callback(
    params: jsonrpsee::types::Params<'static>,
    pending: PendingSubscriptionSink,
    daemon: Arc<Daemon>,
    ext: Extensions,
) -> SubscriptionResult {
    let conn = match connection(&ext) {
        Ok(c) => c,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let p: SetStatusCallbackParams = match params.parse() {
        Ok(p) => p,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let ctx = Ctx {
        daemon: &daemon,
        client: conn.client,
    };
    let handle = match api::callback::check(ctx, p.handle) {
        Ok(h) => h,
        Err(e) => {
            pending.reject(to_rpc_error(e)).await;
            return Ok(());
        }
    };
    // Install before accepting: accepting sends the subscription id, and a client may act on
    // it at once (WinHttpConnect…). Notifications raised before the sink exists wait in the
    // notifier and go out right after the subscription response.
    let id = serde_json::to_string(&pending.subscription_id()).unwrap_or_default();
    let notifier = Arc::new(SubscriptionNotifier {
        state: Mutex::new(NotifierState::Pending(Vec::new())),
        id,
        kill: conn.kill,
        headroom: std::sync::atomic::AtomicUsize::new(1),
        budget: conn.meters_bytes.then(|| handle.account.clone()),
    });
    let callback = Callback {
        sink: notifier.clone(),
        mask: p.notification_flags,
    };
    api::callback::install(&handle, callback);
    match pending.accept().await {
        Ok(sink) => notifier.attach(sink),
        Err(e) => {
            handle.callback.unset(&notifier.id);
            return Err(e.into());
        }
    }
    Ok(())
}

/// Notifications raised before the subscription was accepted; more than this means the
/// client is not reading.
const MAX_EARLY: usize = 1024;

enum NotifierState {
    /// Not accepted yet: notifications wait here, in order.
    Pending(Vec<Box<serde_json::value::RawValue>>),
    Live(SubscriptionSink),
}

/// A status-callback subscription as the handle table sees it.
struct SubscriptionNotifier {
    state: Mutex<NotifierState>,
    /// The subscription id as JSON text.
    id: String,
    kill: CancellationToken,
    /// Free queue slots an operation waits for before it reads more from the network.
    headroom: std::sync::atomic::AtomicUsize,
    /// The client's byte budget, where the transport meters it.
    budget: Option<Arc<crate::quota::Account>>,
}

impl SubscriptionNotifier {
    /// The subscription was accepted: send what waited, then go live.
    fn attach(&self, mut sink: SubscriptionSink) {
        let headroom = (sink.max_capacity() / 4).clamp(1, 64);
        let mut state = lock(&self.state);
        if let NotifierState::Pending(early) = &mut *state {
            for json in early.drain(..) {
                self.push(&mut sink, json);
            }
        }
        *state = NotifierState::Live(sink);
        drop(state);
        // Set once, before any operation could wait on it through this callback.
        self.headroom
            .store(headroom, std::sync::atomic::Ordering::Relaxed);
    }

    fn push(&self, sink: &mut SubscriptionSink, json: Box<serde_json::value::RawValue>) {
        match sink.try_send(SubscriptionMessage::from(json)) {
            Ok(()) => {}
            Err(jsonrpsee::core::server::TrySendError::Full(_)) => self.give_up(),
            Err(jsonrpsee::core::server::TrySendError::Closed(_)) => {}
        }
    }

    fn give_up(&self) {
        tracing::warn!(
            subscription = %self.id,
            "client is not reading its notifications; closing its connection"
        );
        self.kill.cancel();
    }
}

impl NotificationSink for SubscriptionNotifier {
    fn deliver(&self, notification: StatusNotification) {
        let json = match serde_json::value::to_raw_value(&notification) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode a notification");
                return;
            }
        };
        // The subscription envelope adds the method name and the subscription id.
        let size = json.get().len() + 96;
        if let Some(account) = &self.budget
            && !account.queue_bytes(size)
        {
            self.give_up();
            return;
        }
        let mut state = lock(&self.state);
        match &mut *state {
            NotifierState::Live(sink) => self.push(sink, json),
            NotifierState::Pending(early) if early.len() < MAX_EARLY => early.push(json),
            NotifierState::Pending(_) => self.give_up(),
        }
    }

    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            loop {
                let (room, closed) = match &*lock(&self.state) {
                    NotifierState::Live(sink) => (sink.capacity(), sink.is_closed()),
                    NotifierState::Pending(_) => (0, false),
                };
                let headroom = self.headroom.load(std::sync::atomic::Ordering::Relaxed);
                if room >= headroom || closed || self.kill.is_cancelled() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    }

    fn subscription(&self) -> &str {
        &self.id
    }
}
