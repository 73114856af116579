//! The few daemon items that `error.rs` and `url.rs` name outside themselves, so those two
//! source files compile here unchanged. Keep in step with `daemon/src/handles.rs`.

pub mod handles {
    use std::fmt;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum HandleKind {
        Session,
        Connect,
        Request,
    }

    impl fmt::Display for HandleKind {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(self, f)
        }
    }

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
            fmt::Debug::fmt(self, f)
        }
    }
}

/// `url.rs`'s async entry points take the daemon's call context; the fuzz targets call the
/// pure `crack` and `create` instead.
pub struct Ctx<'a>(std::marker::PhantomData<&'a ()>);
