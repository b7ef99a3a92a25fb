//! How Redis failures become [`StoreError`]s, in a leaf module so that the router and the store
//! both map them without importing each other.

use std::sync::Arc;

use redis::{ErrorKind, RedisError, ServerErrorKind};

use crate::store::StoreError;

/// Failures of the connection or of the cluster mean "try again later", never a wrong answer.
pub fn store_error(e: RedisError) -> StoreError {
    let unavailable = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_cluster_error()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(ServerErrorKind::BusyLoading)
                | ErrorKind::Server(ServerErrorKind::MasterDown)
                | ErrorKind::Server(ServerErrorKind::ReadOnly)
        );
    if unavailable {
        tracing::warn!(error = %e, "the Redis cluster is unavailable");
        return StoreError::Unavailable;
    }
    // A node at its `maxmemory` refuses writes: the cluster is full, not broken.
    if e.code() == Some("OOM") {
        tracing::warn!("the Redis cluster is full (maxmemory)");
        return StoreError::Full;
    }
    backend(e)
}

/// Something the store read back is not what it wrote; names only what, never the value (it
/// may be a claim hash or a payload).
#[derive(Debug, thiserror::Error)]
#[error("unreadable store: bad {0}")]
pub struct Corrupt(pub &'static str);

pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Arc::new(e))
}
