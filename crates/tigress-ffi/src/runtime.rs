//! The one tokio runtime behind the blocking API, shared by a client and every object made from
//! it, and the used-up slots of objects whose SDK calls consume them.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::TigressError;

/// A multi-thread tokio runtime: the connection pool's background tasks keep running between
/// calls, and calls from several app threads proceed at once.
#[derive(Clone)]
pub(crate) struct Runtime(Arc<tokio::runtime::Runtime>);

impl Runtime {
    /// Two workers: the SDK only waits on the network, and a phone has few cores to spare.
    pub(crate) fn new() -> Result<Self, TigressError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tigress")
            .enable_all()
            .build()
            .map_err(|e| TigressError::Internal {
                reason: format!("could not start the runtime: {e}"),
            })?;
        Ok(Self(Arc::new(runtime)))
    }

    /// Runs `future` to completion on the calling thread, which blocks meanwhile.
    ///
    /// Refuses to run on a thread that is already inside an async runtime (tokio would panic,
    /// and blocking there could starve it): the bindings are called from plain threads.
    pub(crate) fn block_on<T>(
        &self,
        future: impl Future<Output = Result<T, tigress_client::Error>>,
    ) -> Result<T, TigressError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(TigressError::Internal {
                reason: "a blocking Tigress call was made from inside an async runtime; call it \
                         from a plain thread"
                    .into(),
            });
        }
        self.0.block_on(future).map_err(TigressError::from)
    }

    /// Enters the runtime, for setting up what must be created inside one.
    pub(crate) fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.0.enter()
    }
}

/// An SDK object that one call consumes (accept, finish, …), behind a lock so the foreign
/// object, which the bindings share by reference, can hand it over exactly once.
pub(crate) struct Slot<T> {
    what: &'static str,
    inner: Mutex<Option<T>>,
}

impl<T> Slot<T> {
    /// A slot holding `value`; `what` names it in [`TigressError::AlreadyUsed`].
    pub(crate) fn new(what: &'static str, value: T) -> Self {
        Self { what, inner: Mutex::new(Some(value)) }
    }

    /// Takes the value out, for a call that consumes it.
    pub(crate) fn take(&self) -> Result<T, TigressError> {
        self.lock().take().ok_or_else(|| TigressError::used(self.what))
    }

    /// Runs `f` on the value in place; later callers wait until it returns.
    pub(crate) fn with<R>(
        &self,
        f: impl FnOnce(&mut T) -> Result<R, TigressError>,
    ) -> Result<R, TigressError> {
        let mut guard = self.lock();
        let value = guard.as_mut().ok_or_else(|| TigressError::used(self.what))?;
        f(value)
    }

    /// A panic while the lock was held left the value as the SDK left it; the SDK's objects
    /// stay consistent across its own errors, so the value is still usable.
    fn lock(&self) -> MutexGuard<'_, Option<T>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
