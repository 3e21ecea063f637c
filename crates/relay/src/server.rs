//! The relay's own accept loop, for plain HTTP and TLS alike: a cap on
//! connections, a deadline for each request's headers and body, and idle
//! connections closed, so slow or stalled clients cannot hold the relay.
//!
//! `axum::serve` has none of these; this serves the same [`Router`] through
//! hyper-util's auto builder (HTTP/1.1, and HTTP/2 when TLS negotiates it).
//! WebSockets upgrade over HTTP/1.1 only (no HTTP/2 extended CONNECT), so an
//! upgraded socket leaves its HTTP connection and its idle watch behind but
//! keeps its connection slot until it closes.
//!
//! The cap answers rather than queues: waiting at the cap left every new
//! connection (`/healthz` and sign-in included) hanging in the listen
//! queue, and a cap above the open-file limit made `accept` itself fail.
//! So the default cap sits below the open-file limit
//! ([`crate::config::max_connections_for_open_files`]), and a connection
//! past it is accepted and answered 503 `over_capacity` from a small
//! reserve of its own ([`REFUSAL_RESERVE`]) that never takes a slot;
//! `/healthz` is served normally from that reserve, so monitoring still
//! sees the relay at the cap.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio_rustls::TlsAcceptor;

use crate::config::{DEFAULT_MAX_CONNECTIONS, REFUSAL_RESERVE, max_connections_for_open_files};
use crate::metrics::{ConnectionCounters, Metrics};
use crate::{ApiError, Config};

/// How long requests in flight get to finish once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// `Retry-After` on a refusal at the cap.
const RETRY_AFTER_SECONDS: u64 = 5;
/// How long a refused connection may take to send its request (and TLS
/// handshake) and read the answer: reserve slots turn over fast.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(5);
/// The one path served, not refused, from the reserve at the cap.
const HEALTH_PATH: &str = "/healthz";

/// The limits from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    max_connections: usize,
    header_read: Duration,
    body_read: Duration,
    idle: Duration,
}

impl Limits {
    pub(crate) fn from_config(config: &Config) -> Self {
        let max_connections = config.max_connections.unwrap_or_else(|| {
            let derived = open_file_limit().map(max_connections_for_open_files);
            if derived.is_none() {
                tracing::warn!(
                    "could not read the open-file limit; serving at most {DEFAULT_MAX_CONNECTIONS} connections (set max_connections)"
                );
            }
            derived.unwrap_or(DEFAULT_MAX_CONNECTIONS)
        });
        if let (Some(configured), Some(nofile)) = (config.max_connections, open_file_limit())
            && configured > max_connections_for_open_files(nofile)
        {
            tracing::warn!(
                configured,
                open_file_limit = nofile,
                "max_connections is close to or above the open-file limit: at the cap, accept() can fail and new connections hang; raise the limit (ulimit -n) or lower max_connections"
            );
        }
        tracing::info!(max_connections, "connection cap");
        Self {
            max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
            header_read: config.header_read_timeout(),
            body_read: config.body_read_timeout(),
            idle: config.idle_timeout(),
        }
    }
}

/// The process's soft open-file limit, if it can be read and is finite.
#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// Serves `app` on `listener` (through `tls` when given) until `shutdown`
/// resolves, then lets requests in flight finish for up to 10 s.
pub(crate) async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    metrics: &Metrics,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let reserve = Arc::new(Semaphore::new(REFUSAL_RESERVE));
    let counters = metrics.connections().clone();
    counters.cap.store(
        u64::try_from(limits.max_connections).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(100)
        .keep_alive_interval(limits.idle)
        .keep_alive_timeout(limits.header_read);
    // At the cap: one request per connection, then it closes.
    let mut refusing = builder.clone();
    refusing.http1().keep_alive(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (slot, over_capacity) = match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                counters.open.fetch_add(1, Ordering::Relaxed);
                (
                    Slot::Served {
                        _permit: permit,
                        counters: counters.clone(),
                    },
                    false,
                )
            }
            Err(TryAcquireError::Closed) => break,
            Err(TryAcquireError::NoPermits) => {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                match reserve.clone().try_acquire_owned() {
                    Ok(permit) => (Slot::Reserve { _permit: permit }, true),
                    Err(_) => {
                        // Past the reserve too: closing at once still
                        // tells the client, where waiting would not.
                        tracing::debug!(%peer, "refused a connection past the reserve");
                        drop(stream);
                        continue;
                    }
                }
            }
        };
        let connection = Connection {
            app: app.clone(),
            builder: if over_capacity {
                refusing.clone()
            } else {
                builder.clone()
            },
            limits,
            peer,
            watcher: graceful.watcher(),
            over_capacity,
        };
        let tls = tls.clone();
        let serve = async move {
            let stream = Held {
                io: stream,
                _slot: slot,
            };
            match tls {
                None => connection.serve(stream).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_read, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection.serve(stream).await,
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        };
        if over_capacity {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(REFUSAL_DEADLINE, serve).await;
            });
        } else {
            tokio::spawn(serve);
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after 10 s; stopping anyway");
    }
    Ok(())
}

/// One accepted connection, before its protocol is known.
struct Connection {
    app: Router,
    builder: auto::Builder<TokioExecutor>,
    limits: Limits,
    peer: SocketAddr,
    watcher: hyper_util::server::graceful::Watcher,
    /// Past the cap: every request but `/healthz` is answered 503.
    over_capacity: bool,
}

impl Connection {
    async fn serve<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(Activity::new());
        let service = {
            let activity = activity.clone();
            let app = self.app;
            let peer = self.peer;
            let body_read = self.limits.body_read;
            let over_capacity = self.over_capacity;
            hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let in_flight = activity.begin();
                let refuse = over_capacity && request.uri().path() != HEALTH_PATH;
                let mut request = request.map(|body| Body::new(DeadlineBody::new(body, body_read)));
                request.extensions_mut().insert(ConnectInfo(peer));
                let mut app = app.clone();
                async move {
                    let response = if refuse {
                        ApiError::over_capacity(RETRY_AFTER_SECONDS).into_response()
                    } else {
                        tower_service::Service::call(&mut app, request).await?
                    };
                    Ok::<_, Infallible>(response.map(|body| InFlightBody {
                        body,
                        _in_flight: in_flight,
                    }))
                }
            })
        };
        let connection = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let connection = self.watcher.watch(connection);
        tokio::select! {
            served = connection => {
                if let Err(error) = served {
                    tracing::debug!(%error, "connection ended with an error");
                }
            }
            () = activity.idle_out(self.limits.header_read, self.limits.idle) => {
                tracing::debug!(peer = %self.peer, "closed an idle connection");
            }
        }
    }
}

/// What a connection is doing, for its idle watch.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `opened` when the last request finished.
    idle_since_ms: AtomicU64,
    /// Whether a request has arrived at all.
    served: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
            served: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.served.store(true, Ordering::SeqCst);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Resolves once no request has been in progress for `idle` (for
    /// `first` before the first request's headers arrive).
    async fn idle_out(&self, first: Duration, idle: Duration) {
        loop {
            let limit = if self.served.load(Ordering::SeqCst) {
                idle
            } else {
                first
            };
            if self.in_flight.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(limit.min(Duration::from_millis(500))).await;
                continue;
            }
            let idle_for = Duration::from_millis(
                self.now_ms()
                    .saturating_sub(self.idle_since_ms.load(Ordering::SeqCst)),
            );
            if idle_for >= limit {
                return;
            }
            tokio::time::sleep(limit - idle_for).await;
        }
    }
}

/// A request in progress, until its response body is done with.
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .idle_since_ms
            .store(self.0.now_ms(), Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted as in flight.
struct InFlightBody {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for InFlightBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The request body took longer than `body_read_timeout_seconds`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimeout(Duration);

/// Whether `error` (or anything it wraps) is a [`BodyTimeout`].
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<BodyTimeout>() {
            return true;
        }
        current = error.source();
    }
    false
}

/// A request body that must arrive whole before a deadline.
struct DeadlineBody {
    body: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    timed_out: bool,
}

impl DeadlineBody {
    fn new(body: Incoming, limit: Duration) -> Self {
        Self {
            body,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
            timed_out: false,
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.timed_out = true;
                    Poll::Ready(Some(Err(Box::new(BodyTimeout(this.limit)))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// What an accepted connection holds until it closes.
enum Slot {
    /// One of the `max_connections` slots, counted as open.
    Served {
        _permit: OwnedSemaphorePermit,
        counters: Arc<ConnectionCounters>,
    },
    /// One of the [`REFUSAL_RESERVE`], for a connection past the cap.
    Reserve { _permit: OwnedSemaphorePermit },
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Self::Served { counters, .. } = self {
            counters.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A connection's stream holding its [`Slot`]: the slot is free again when
/// the stream closes, also after a WebSocket upgrade.
struct Held<I> {
    io: I,
    _slot: Slot,
}

impl<I: AsyncRead + Unpin> AsyncRead for Held<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Held<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
