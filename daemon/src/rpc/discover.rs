//! `rpc.discover`: the OpenRPC document of exactly the methods this daemon serves.
//!
//! [`Registry`] is the RPC module while methods are registered: `register!` describes each
//! method in the same step that registers it, and [`Registry::finish`] refuses a module that
//! serves a name the document does not list (or the other way round), so the daemon cannot
//! start with a document that drifted from its methods.

use super::UNSUBSCRIBE_INTERNAL;
use crate::state::Daemon;
use hinet_protocol::Method;
use hinet_protocol::openrpc::{DISCOVER, Document, JsonSchema};
use jsonrpsee::{Methods, ResponsePayload, RpcModule};
use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Why the method table could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Register(#[from] jsonrpsee::core::RegisterMethodError),
    #[error("the OpenRPC document does not match the methods served: {0}")]
    Drift(String),
    #[error("cannot encode the OpenRPC document: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The RPC module under construction, with its OpenRPC document.
pub struct Registry {
    module: RpcModule<Daemon>,
    doc: Document,
}

impl Registry {
    pub fn new(daemon: Arc<Daemon>) -> Self {
        Registry {
            module: RpcModule::from_arc(daemon),
            doc: Document::new(),
        }
    }

    /// Describes a WinHTTP method registered from its marker type.
    pub fn describe<M: Method>(&mut self)
    where
        M::Params: JsonSchema,
        M::Result: JsonSchema,
    {
        self.doc.method::<M>();
    }

    /// The document, for methods registered by hand (subscriptions).
    pub fn doc(&mut self) -> &mut Document {
        &mut self.doc
    }

    /// Adds `rpc.discover` and checks that the document lists every method served.
    pub fn finish(mut self) -> Result<Methods, RegistryError> {
        self.doc.discover();
        let described: BTreeSet<String> = self.doc.method_names().map(String::from).collect();
        let doc = serde_json::value::to_raw_value(&self.doc.finish())?;
        self.module.register_method(DISCOVER, move |_, _, _| {
            ResponsePayload::success(doc.clone())
        })?;
        check(self.module.method_names(), &described)?;
        Ok(self.module.into())
    }
}

impl Deref for Registry {
    type Target = RpcModule<Daemon>;
    fn deref(&self) -> &Self::Target {
        &self.module
    }
}

impl DerefMut for Registry {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.module
    }
}

/// The served names, less the internal unsubscribe (which no transport lets through), must
/// be the described names.
fn check<'a>(
    served: impl Iterator<Item = &'a str>,
    described: &BTreeSet<String>,
) -> Result<(), RegistryError> {
    let served: BTreeSet<String> = served
        .filter(|m| *m != UNSUBSCRIBE_INTERNAL)
        .map(String::from)
        .collect();
    let undescribed: Vec<_> = served.difference(described).collect();
    let unserved: Vec<_> = described.difference(&served).collect();
    if undescribed.is_empty() && unserved.is_empty() {
        return Ok(());
    }
    Err(RegistryError::Drift(format!(
        "served but not described: {undescribed:?}; described but not served: {unserved:?}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn drift_is_caught_both_ways() {
        let described = names(&["A", "B"]);
        assert!(check(["A", "B", UNSUBSCRIBE_INTERNAL].into_iter(), &described).is_ok());
        let e = check(["A", "B", "C"].into_iter(), &described).unwrap_err();
        assert!(e.to_string().contains("served but not described: [\"C\"]"));
        let e = check(["A"].into_iter(), &described).unwrap_err();
        assert!(e.to_string().contains("described but not served: [\"B\"]"));
    }
}
