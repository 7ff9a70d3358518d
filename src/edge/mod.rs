//! The HTTP edge: hyper's HTTP/1.1 server around poem's endpoint, and what a connection may cost
//! before a request reaches a handler (docs/operations.md, "Edge limits").
//!
//! hyper parses each head once and holds it to [`MAX_HEAD_BYTES`] and [`MAX_HEADERS`] (and its
//! own 65 534-byte URI). The edge adds the connection caps (a semaphore, and [`PerAddress`]; past
//! them a canned envelope, see [`refuse`]), the drain on shutdown, and, in [`stream`], the header
//! and idle timeouts and the envelope on hyper's own refusals. The body timeout is the request
//! middleware's (it reads the whole body before the handler).

mod stream;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use poem::Endpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::metrics::Metrics;
use stream::EdgeStream;

/// A request head (request line and headers) over this is 431/43100. It is above hyper's longest
/// URI (65 534 bytes) so that a long URI is answered 414/41400 rather than 431.
pub const MAX_HEAD_BYTES: usize = 80 * 1024;
/// More headers than this is 431/43100.
pub const MAX_HEADERS: usize = 64;
/// How long to wait before accepting again when accepting fails (out of file descriptors):
/// retrying at once would spin a core while the connections that hold them are served.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Refusals at a cap being written at once, each by a task for at most [`REFUSAL_LINGER`]; past
/// it a refusal is one non-blocking write and a close (which may reach the client as a reset).
const MAX_REFUSING: usize = 256;
/// How long a refusal's task writes, then reads and drops what the client sent (up to
/// [`REFUSAL_DRAIN`] bytes), so that the client reads the answer instead of a reset.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);
const REFUSAL_DRAIN: usize = 256 * 1024;

/// The listener's timeouts and cap (`None`/0: none).
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    pub header_timeout: Option<Duration>,
    pub body_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub max_connections: usize,
    /// Open connections per client address (`LIVEROOM_MAX_CONNECTIONS_PER_IP`); 0: no limit.
    pub max_connections_per_ip: usize,
}

/// The listening socket of this replica, and what its connections may cost.
pub struct Edge {
    listener: TcpListener,
    limits: EdgeLimits,
    metrics: Arc<Metrics>,
}

impl Edge {
    pub fn new(listener: TcpListener, limits: EdgeLimits, metrics: Arc<Metrics>) -> Self {
        Self {
            listener,
            limits,
            metrics,
        }
    }

    /// Serves `ep` until `shutdown` resolves; then stops accepting, lets the open answers finish
    /// for up to `grace`, and closes the connections still open.
    pub async fn serve<E: Endpoint + 'static>(
        self,
        ep: E,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> io::Result<()> {
        let ep = Arc::new(ep);
        let local = LocalAddr(self.listener.local_addr()?.into());
        let cap = self.limits.max_connections;
        let places = (cap > 0).then(|| Arc::new(Semaphore::new(cap)));
        let per_ip = self.limits.max_connections_per_ip;
        let addresses = (per_ip > 0).then(|| Arc::new(PerAddress::new(per_ip)));
        let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
        self.metrics.set_connection_cap(cap);
        let mut http = hyper::server::conn::http1::Builder::new();
        // No head timer of hyper's: it starts again at the end of each answer, so it would close
        // a keep-alive connection at the header timeout; `EdgeStream` tells the two apart.
        http.header_read_timeout(None)
            .max_buf_size(MAX_HEAD_BYTES)
            .max_header_size(MAX_HEAD_BYTES)
            .max_headers(MAX_HEADERS);
        let graceful = GracefulShutdown::new();
        let (cut, cut_rx) = watch::channel(());
        let mut shutdown = pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            // the address's place first: one address at its cap takes none of the server's
            let address = match addresses.as_ref().map(|a| a.take(peer.ip())) {
                Some(None) => {
                    let message = format!(
                        "this address has its {per_ip} connections open \
                         (LIVEROOM_MAX_CONNECTIONS_PER_IP)"
                    );
                    self.refuse(stream, &refusing, 429, 42900, &message);
                    continue;
                }
                address => address.flatten(),
            };
            let place = match places.as_ref().map(|p| p.clone().try_acquire_owned()) {
                Some(Err(_)) => {
                    let message = format!(
                        "this server has its {cap} connections open (LIVEROOM_MAX_CONNECTIONS)"
                    );
                    self.refuse(stream, &refusing, 503, 50300, &message);
                    continue;
                }
                place => place,
            };
            let _ = stream.set_nodelay(true);
            let owed = Arc::new(Owed::default());
            let io = EdgeStream::new(stream, owed.clone(), self.limits, self.metrics.clone());
            let (ep, local, remote) = (ep.clone(), local.clone(), RemoteAddr(peer.into()));
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                // counted back when the answer's body is dropped; a handler dropped unfinished
                // means the connection is closing, with nothing left to time
                owed.asked.fetch_add(1, Ordering::Release);
                let owed = owed.clone();
                let req = poem::Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
                let ep = ep.clone();
                // Boxed: hyper keeps room for its service's future in every connection from the
                // start (`Box::pin(None)` of the future's type), and poem's route future is
                // kilobytes. Boxed, an idle connection or an open event stream (whose handler
                // has returned) holds a pointer, and the request's state lives only while it runs.
                let answer: Pin<Box<dyn Future<Output = Result<_, Infallible>> + Send>> =
                    Box::pin(async move {
                        let resp: hyper::Response<_> = ep.get_response(req).await.into();
                        Ok::<_, Infallible>(resp.map(|body| Answer { body, owed }))
                    });
                answer
            });
            // Boxed: the task's own future then holds a pointer to the connection, where inline
            // it held the connection twice over (the variable, and `select!`'s copy: ~2.5 KB a
            // connection against ~1.1 KB, by a heap profile of issue 28)
            let conn = Box::pin(graceful.watch(http.serve_connection(TokioIo::new(io), service)));
            let mut cut = cut_rx.clone();
            let metrics = self.metrics.clone();
            metrics.connection(true);
            tokio::spawn(async move {
                tokio::select! {
                    _ = conn => {}
                    _ = cut.changed() => {}
                }
                metrics.connection(false);
                drop((place, address));
            });
        }
        drop(self.listener);
        if tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(?grace, "answers still open after the grace; closing them");
        }
        drop(cut);
        Ok(())
    }
}

impl Edge {
    /// Refuses a connection at a cap with the envelope (its own request id): written by a task
    /// that then closes its side and drains what the client sent, for at most
    /// [`REFUSAL_LINGER`], so the client reads the answer rather than a reset. At most
    /// [`MAX_REFUSING`] such tasks at once; past them, one non-blocking write and a close.
    fn refuse(
        &self,
        stream: TcpStream,
        refusing: &Arc<Semaphore>,
        status: u16,
        code: i32,
        message: &str,
    ) {
        self.metrics
            .observe("other", "", status, code, Duration::ZERO);
        let answer = canned(status, code, message);
        let Ok(permit) = refusing.clone().try_acquire_owned() else {
            let _ = stream.try_write(&answer);
            return;
        };
        tokio::spawn(async move {
            let _ = tokio::time::timeout(REFUSAL_LINGER, linger(stream, &answer)).await;
            drop(permit);
        });
    }
}

/// Writes `answer`, closes the write side, and reads (and drops) what the client sends until it
/// closes or [`REFUSAL_DRAIN`] bytes.
async fn linger(mut stream: TcpStream, answer: &[u8]) -> io::Result<()> {
    stream.write_all(answer).await?;
    stream.shutdown().await?;
    let mut scratch = [0u8; 4096];
    let mut drained = 0;
    while drained < REFUSAL_DRAIN {
        match stream.read(&mut scratch).await? {
            0 => break,
            n => drained += n,
        }
    }
    Ok(())
}

/// Open connections per client address, counted as connections open and close (a lock per
/// connection, none per request). An IPv4 address mapped into IPv6 counts as itself.
struct PerAddress {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection's place in its address's count, given back when dropped.
struct AddressPlace {
    of: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn new(max: usize) -> Self {
        Self {
            max,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more connection from `ip`, or None at the cap.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<AddressPlace> {
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddressPlace {
            of: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut open = self.of.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// What a connection's service and its stream share: the answers asked for and finished.
#[derive(Default)]
struct Owed {
    asked: AtomicU64,
    answered: AtomicU64,
    /// The stream, waiting for an answer to finish to start its idle timeout.
    waker: AtomicWaker,
}

/// A response body that counts its answer as finished when hyper is done with it: sent, or the
/// connection gone. So an event stream is an answer still owed until it ends.
struct Answer<B> {
    body: B,
    owed: Arc<Owed>,
}

impl<B> Drop for Answer<B> {
    fn drop(&mut self) {
        self.owed.answered.fetch_add(1, Ordering::Release);
        self.owed.waker.wake();
    }
}

impl<B: Body + Unpin> Body for Answer<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// An HTTP response written by the edge itself, in the envelope, closing the connection.
fn canned(status: u16, code: i32, message: &str) -> Vec<u8> {
    let reason = poem::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let id = uuid::Uuid::new_v4().to_string();
    let body = serde_json::json!({"request_id": id, "code": code, "message": message}).to_string();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nx-request-id: {id}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
