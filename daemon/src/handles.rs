//! The handle table: every live WinHTTP handle of every client, keyed by its number.
//!
//! Handles form WinHTTP's tree (session → connect → request). A handle belongs to the client
//! connection that created it; to any other connection it does not exist. Closing a handle
//! closes its whole subtree at once: all of it leaves the table before anything else happens,
//! its cancellation token stops every in-flight operation below it, and each handle then gets
//! its HANDLE_CLOSING, children before parents.
//!
//! The table is a `DashMap` because lookups happen on every RPC from every connection and
//! must not contend on one lock. Per-handle state uses std `Mutex`es that are never held
//! across an `.await`: operations take what they need out, await without locks, and put the
//! result back.

use crate::api::connect::Connect;
use crate::api::request::Request;
use crate::api::session::Session;
use crate::callback::CallbackSlot;
use crate::error::{ApiError, ApiResult};
use crate::quota::Account;
use dashmap::DashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// One client connection to the daemon; the owner of the handles it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleKind {
    Session,
    Connect,
    Request,
}

impl HandleKind {
    /// `WINHTTP_HANDLE_TYPE_*`.
    pub fn type_number(self) -> u32 {
        use hinet_protocol::consts::handle_type;
        match self {
            HandleKind::Session => handle_type::SESSION,
            HandleKind::Connect => handle_type::CONNECT,
            HandleKind::Request => handle_type::REQUEST,
        }
    }
}

impl fmt::Display for HandleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HandleKind::Session => "session",
            HandleKind::Connect => "connect",
            HandleKind::Request => "request",
        })
    }
}

/// The state of a request handle (reference §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    Open,
    Sending,
    Sent,
    Receiving,
    Response,
    BodyPending,
    Eof,
    Failed,
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestState::Open => "opened but not sent",
            RequestState::Sending => "being sent",
            RequestState::Sent => "sent, awaiting ReceiveResponse",
            RequestState::Receiving => "receiving its response",
            RequestState::Response => "holding a response",
            RequestState::BodyPending => "reading its body",
            RequestState::Eof => "at the end of its body",
            RequestState::Failed => "failed",
        })
    }
}

pub enum Object {
    Session(Session),
    Connect(Connect),
    Request(Box<Request>),
}

impl Object {
    pub fn kind(&self) -> HandleKind {
        match self {
            Object::Session(_) => HandleKind::Session,
            Object::Connect(_) => HandleKind::Connect,
            Object::Request(_) => HandleKind::Request,
        }
    }
}

/// The children of a handle, and whether it still accepts new ones.
#[derive(Default)]
struct Children {
    closed: bool,
    ids: Vec<u64>,
}

pub struct Handle {
    pub id: u64,
    pub owner: ClientId,
    /// Kept alive by the child so live settings (session timeouts, user agent, pool) are one
    /// pointer away, without a table lookup.
    pub parent: Option<Arc<Handle>>,
    /// Cancelled when this handle or any ancestor closes.
    pub cancel: CancellationToken,
    /// `WINHTTP_OPTION_CONTEXT_VALUE`.
    pub context: AtomicU64,
    pub callback: CallbackSlot,
    pub object: Object,
    /// The owner's account: identity, quotas and policy.
    pub account: Arc<Account>,
    children: Mutex<Children>,
}

impl Handle {
    pub fn kind(&self) -> HandleKind {
        self.object.kind()
    }

    pub fn context(&self) -> u64 {
        self.context.load(Ordering::Relaxed)
    }

    pub fn as_session(&self) -> ApiResult<&Session> {
        match &self.object {
            Object::Session(s) => Ok(s),
            _ => Err(self.wrong_type("session")),
        }
    }

    pub fn as_connect(&self) -> ApiResult<&Connect> {
        match &self.object {
            Object::Connect(c) => Ok(c),
            _ => Err(self.wrong_type("connect")),
        }
    }

    pub fn as_request(&self) -> ApiResult<&Request> {
        match &self.object {
            Object::Request(r) => Ok(r),
            _ => Err(self.wrong_type("request")),
        }
    }

    pub fn wrong_type(&self, expected: &'static str) -> ApiError {
        ApiError::IncorrectHandleType {
            handle: self.id,
            expected,
            actual: self.kind(),
        }
    }

    /// The session at the root of this handle's tree.
    pub fn session(&self) -> &Session {
        let mut h = self;
        loop {
            match (&h.object, &h.parent) {
                (Object::Session(s), _) => return s,
                (_, Some(p)) => h = p,
                // Connect and request handles are always created under a parent.
                // `insert` refuses a non-session handle without a parent.
                (_, None) => unreachable!("non-session handle without a parent"),
            }
        }
    }

    /// The connect handle of a request (itself for a connect handle).
    pub fn connect(&self) -> Option<&Connect> {
        match (&self.object, &self.parent) {
            (Object::Connect(c), _) => Some(c),
            (Object::Request(_), Some(p)) => p.as_connect().ok(),
            _ => None,
        }
    }

    pub fn parent_id(&self) -> u64 {
        self.parent.as_ref().map_or(0, |p| p.id)
    }
}

/// Counts of live handles, for logs and status.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HandleCounts {
    pub sessions: usize,
    pub connects: usize,
    pub requests: usize,
}

/// Every live handle of the daemon.
pub struct HandleTable {
    map: DashMap<u64, Arc<Handle>>,
    /// The accounts of the connections open now; a handle can be created only for one.
    accounts: DashMap<ClientId, Arc<Account>>,
    /// Handle numbers are never reused, so a stale number can never alias a new handle.
    next_id: AtomicU64,
}

/// Handle numbers stay below 2^53 so that every JSON implementation reads them exactly.
const MAX_HANDLE: u64 = (1 << 53) - 1;

impl Default for HandleTable {
    fn default() -> Self {
        Self::new()
    }
}

impl HandleTable {
    pub fn new() -> Self {
        HandleTable {
            map: DashMap::new(),
            accounts: DashMap::new(),
            next_id: AtomicU64::new(1),
        }
    }

    /// Opens the account of a new connection.
    pub fn register(&self, account: Arc<Account>) {
        self.accounts.insert(account.client, account);
    }

    /// Closes a connection's account; handles can no longer be created for it.
    pub fn unregister(&self, owner: ClientId) {
        self.accounts.remove(&owner);
    }

    pub fn account(&self, owner: ClientId) -> Option<Arc<Account>> {
        self.accounts.get(&owner).map(|a| a.clone())
    }

    /// Adds a handle under `parent` (None for a session). Fails with 6 when the parent was
    /// closed meanwhile, so no child can outlive a closed parent, and with 8 over the
    /// owner's handle quota.
    pub fn insert(
        &self,
        owner: ClientId,
        parent: Option<Arc<Handle>>,
        object: Object,
    ) -> ApiResult<Arc<Handle>> {
        // The tree's shape is what makes `Handle::session` total: sessions are roots, and
        // everything else hangs under a parent.
        if matches!(object, Object::Session(_)) != parent.is_none() {
            return Err(ApiError::Internal(
                "a session must be a root and any other handle must have a parent".into(),
            ));
        }
        // A call that outlives its connection must not leave a handle nobody can close.
        let account = self.account(owner).ok_or(ApiError::OperationCancelled)?;
        account.add_handle()?;
        let handle = self
            .insert_counted(owner, parent, object, account.clone())
            .inspect_err(|_| account.remove_handle())?;
        // The connection may have ended meanwhile, after its handles were closed: this one
        // would then have no closer. (Its end unregisters before closing, so either the close
        // saw this handle or this check sees the end.)
        if !self.accounts.contains_key(&owner) {
            let _ = self.close(owner, handle.id);
            return Err(ApiError::OperationCancelled);
        }
        Ok(handle)
    }

    fn insert_counted(
        &self,
        owner: ClientId,
        parent: Option<Arc<Handle>>,
        object: Object,
        account: Arc<Account>,
    ) -> ApiResult<Arc<Handle>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if id > MAX_HANDLE {
            return Err(ApiError::Internal("handle numbers exhausted".into()));
        }
        let cancel = match &parent {
            Some(p) => p.cancel.child_token(),
            None => CancellationToken::new(),
        };
        let (context, callback) = match &parent {
            Some(p) => (p.context(), p.callback.inherit()),
            None => (0, CallbackSlot::default()),
        };
        let handle = Arc::new(Handle {
            id,
            owner,
            parent: parent.clone(),
            cancel,
            context: AtomicU64::new(context),
            callback,
            object,
            account,
            children: Mutex::new(Children::default()),
        });
        if let Some(p) = &parent {
            let mut children = lock(&p.children);
            if children.closed {
                return Err(ApiError::InvalidHandle(p.id));
            }
            children.ids.push(id);
            // Inserted while the parent's child list is locked: a concurrent close of the
            // parent either sees this child or made us fail above.
            self.map.insert(id, handle.clone());
        } else {
            self.map.insert(id, handle.clone());
        }
        Ok(handle)
    }

    /// Looks a handle up for `owner`. Unknown, closed, null and other clients' handles are
    /// all the same to the caller: ERROR_INVALID_HANDLE.
    pub fn get(&self, owner: ClientId, id: u64) -> ApiResult<Arc<Handle>> {
        match self.map.get(&id) {
            Some(h) if h.owner == owner => Ok(h.clone()),
            _ => Err(ApiError::InvalidHandle(id)),
        }
    }

    /// Closes `id` and its subtree. The returned handles are in teardown order (deepest
    /// first); their HANDLE_CLOSING notifications have been delivered.
    pub fn close(&self, owner: ClientId, id: u64) -> ApiResult<()> {
        let root = self.get(owner, id)?;
        // Only one closer wins; a racing second close sees the handle gone → 6.
        if self.map.remove_if(&id, |_, h| h.owner == owner).is_none() {
            return Err(ApiError::InvalidHandle(id));
        }
        let mut doomed = vec![(0usize, root.clone())];
        let mut i = 0;
        while i < doomed.len() {
            let (depth, h) = doomed[i].clone();
            let child_ids = {
                let mut children = lock(&h.children);
                children.closed = true;
                std::mem::take(&mut children.ids)
            };
            for cid in child_ids {
                if let Some((_, child)) = self.map.remove(&cid) {
                    doomed.push((depth + 1, child));
                }
            }
            i += 1;
        }
        if let Some(p) = &root.parent {
            lock(&p.children).ids.retain(|c| *c != id);
        }
        // Every handle of the subtree is already invalid; now stop what runs below it.
        root.cancel.cancel();
        doomed.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
        for (_, h) in &doomed {
            h.account.remove_handle();
            h.callback.close(h.id, h.context());
        }
        Ok(())
    }

    /// Closes every handle `owner` still has: the client went away.
    pub fn close_all(&self, owner: ClientId) {
        let roots: Vec<u64> = self
            .map
            .iter()
            .filter(|e| e.owner == owner && e.parent.is_none())
            .map(|e| e.id)
            .collect();
        for id in roots {
            let _ = self.close(owner, id);
        }
    }

    /// Every live handle of `owner`.
    pub fn owned(&self, owner: ClientId) -> Vec<Arc<Handle>> {
        self.map
            .iter()
            .filter(|e| e.owner == owner)
            .map(|e| e.value().clone())
            .collect()
    }

    pub fn counts(&self) -> HandleCounts {
        let mut c = HandleCounts::default();
        for e in self.map.iter() {
            match e.kind() {
                HandleKind::Session => c.sessions += 1,
                HandleKind::Connect => c.connects += 1,
                HandleKind::Request => c.requests += 1,
            }
        }
        c
    }
}

/// Locks a std mutex, recovering from poisoning: a panic elsewhere must not wedge a handle.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
