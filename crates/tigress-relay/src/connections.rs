//! What one client connection may hold: a place among at most `max_connections`, and its
//! socket for at most `idle_timeout` without a byte read or written.
//!
//! A connection that finished its TLS handshake and then sends nothing, or an HTTP/2 connection
//! left idle, used to stay open for ever: enough of them exhausted the process's descriptors and
//! real requests timed out. The timeout is measured at the socket, so it must outlast the
//! longest silence a live request has: a waiting read (`max_wait`) on top of the request
//! timeout. [`ConnectionLimits::for_limits`] keeps it so.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::config::Limits;
use crate::metrics::Metrics;

/// Admits connections up to a cap, and gives each an idle timeout.
#[derive(Clone)]
pub struct ConnectionLimits {
    places: Arc<Semaphore>,
    idle_timeout: Duration,
    metrics: Arc<Metrics>,
    /// Whether the cap was reported since it last had room: one log line per episode.
    reported: Arc<AtomicBool>,
}

impl ConnectionLimits {
    /// The limits of `limits`; the idle timeout is raised to outlast a waiting read.
    pub fn for_limits(limits: &Limits, metrics: Arc<Metrics>) -> Self {
        let longest_silence = limits.request_timeout + limits.max_wait;
        Self {
            places: Arc::new(Semaphore::new(limits.max_connections)),
            idle_timeout: limits.idle_timeout.max(longest_silence + Duration::from_secs(1)),
            metrics,
            reported: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl<S: Send + 'static> Accept<TcpStream, S> for ConnectionLimits {
    type Stream = GuardedStream;
    type Service = S;
    type Future = std::future::Ready<io::Result<(GuardedStream, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let Ok(place) = Arc::clone(&self.places).try_acquire_owned() else {
            self.metrics.connection_refused();
            if !self.reported.swap(true, Ordering::Relaxed) {
                tracing::warn!("connection cap reached: closing new connections until one ends");
            }
            // Dropping the stream closes it at once, before any byte is read.
            return std::future::ready(Err(io::Error::other("connection cap reached")));
        };
        self.reported.store(false, Ordering::Relaxed);
        let idle = Box::pin(tokio::time::sleep(self.idle_timeout));
        let guarded =
            GuardedStream { inner: stream, _place: place, idle, after: self.idle_timeout };
        std::future::ready(Ok((guarded, service)))
    }
}

/// A client's socket that fails with `TimedOut` once it has been silent both ways for the idle
/// timeout, and gives its place back when dropped.
pub struct GuardedStream {
    inner: TcpStream,
    _place: OwnedSemaphorePermit,
    idle: Pin<Box<Sleep>>,
    after: Duration,
}

impl GuardedStream {
    /// What the socket answered, seen by the idle timer: any progress restarts it, and a socket
    /// that has nothing to give past the timeout fails with `TimedOut`.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.idle.as_mut().reset(Instant::now() + self.after);
                Poll::Ready(result)
            }
            Poll::Pending if self.idle.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(idle_error()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long")
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.watch(cx, poll)
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
