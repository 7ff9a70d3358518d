//! The HTTP edge: hyper's HTTP/1.1 server around poem's endpoint, and what a connection may cost
//! before a request reaches a handler (README, "Edge limits").
//!
//! hyper parses the head and holds it to [`MAX_HEAD_BYTES`] and [`MAX_HEADERS`] (and its own
//! 65 534-byte URI). The edge adds what hyper has not:
//!
//! - the connection cap: a semaphore; past it, a canned 503 envelope in one non-blocking write;
//! - the header and idle timeouts, told apart: hyper's own head timer starts again at the end of
//!   each answer, so it would close a keep-alive connection at the header timeout.
//!   [`EdgeStream`] learns from its connection's service whether an answer is owed, so an event
//!   stream (an answer still being sent) is never idle;
//! - hyper's own answers to a head it refuses (400, 414, 431, with empty bodies) are written as
//!   the envelope instead, and a control character in `X-Request-Id` is blanked so that the
//!   request is served with a fresh id rather than refused;
//! - graceful drain: on shutdown, accepting stops and open answers get `grace` to finish.
//!
//! The body timeout is the request middleware's (it reads the whole body before the handler).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use poem::Endpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};

use crate::metrics::Metrics;

/// A request head (request line and headers) over this is 431/43100. It is above hyper's longest
/// URI (65 534 bytes, 414/41400) so that a long URI is answered 414 rather than 431.
pub const MAX_HEAD_BYTES: usize = 80 * 1024;
/// More headers than this is 431/43100.
pub const MAX_HEADERS: usize = 64;
/// After a refusal, how much of what the client still sends is read and dropped (and for how
/// long) before the connection closes, so that the client reads the answer instead of a reset.
const LINGER_BYTES: usize = 4 * 1024 * 1024;
const LINGER: Duration = Duration::from_secs(2);
/// How long to wait before accepting again when accepting fails (out of file descriptors):
/// retrying at once would spin a core while the connections that hold them are served.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The listener's timeouts and cap (`None`/0: none).
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    pub header_timeout: Option<Duration>,
    pub body_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub max_connections: usize,
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
    /// for up to `grace`, and closes the connections that are left.
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
        let full = canned(
            503,
            50300,
            &format!("this server has its {cap} connections open"),
        );
        let mut http = hyper::server::conn::http1::Builder::new();
        // no head timer of hyper's: it would also time the wait for the next request (above)
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
            let place = match places.as_ref().map(|p| p.clone().try_acquire_owned()) {
                Some(Err(_)) => {
                    // refused without a task or a read: one non-blocking write, then closed
                    let _ = stream.try_write(&full);
                    self.metrics
                        .observe("other", "", 503, 50300, Duration::ZERO);
                    continue;
                }
                place => place,
            };
            let _ = stream.set_nodelay(true);
            let owed = Arc::new(Owed::default());
            let io = EdgeStream::new(stream, owed.clone(), self.limits, self.metrics.clone());
            let (ep, local, remote) = (ep.clone(), local.clone(), RemoteAddr(peer.into()));
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let answer = Answering::new(owed.clone());
                let req = poem::Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
                let ep = ep.clone();
                async move {
                    let resp: hyper::Response<_> = ep.get_response(req).await.into();
                    Ok::<_, Infallible>(resp.map(|body| Answer {
                        body,
                        _answer: answer,
                    }))
                }
            });
            let conn = graceful.watch(http.serve_connection(TokioIo::new(io), service));
            let mut cut = cut_rx.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = conn => {}
                    _ = cut.changed() => {}
                }
                drop(place);
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

/// What a connection's service and its stream share: the answers asked for and finished.
#[derive(Default)]
struct Owed {
    asked: AtomicU64,
    answered: AtomicU64,
    /// The stream, waiting for an answer to finish to start its idle timeout.
    waker: AtomicWaker,
}

/// One answer owed, from the head's arrival until its body is sent (or dropped).
struct Answering(Arc<Owed>);

impl Answering {
    fn new(owed: Arc<Owed>) -> Self {
        owed.asked.fetch_add(1, Ordering::Release);
        Self(owed)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.answered.fetch_add(1, Ordering::Release);
        self.0.waker.wake();
    }
}

/// A response body that counts its answer as finished when hyper is done with it.
struct Answer<B> {
    body: B,
    _answer: Answering,
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

/// A refusal being written, then the client's rest read and dropped.
struct Refusal {
    bytes: Vec<u8>,
    written: usize,
    shut: bool,
    drained: usize,
}

/// A connection as hyper reads and writes it: the timeouts and the refusals (see the module).
struct EdgeStream {
    inner: TcpStream,
    owed: Arc<Owed>,
    limits: EdgeLimits,
    metrics: Arc<Metrics>,
    /// Answers finished when last looked at; a change starts the idle timeout.
    answered: u64,
    /// Some byte of the next request has arrived (its head timeout runs).
    in_head: bool,
    /// The timer for `due`; it may be set to go off earlier (see `arm`).
    deadline: Pin<Box<Sleep>>,
    /// When the armed timeout ends.
    due: Instant,
    armed: bool,
    refusal: Option<Refusal>,
}

impl EdgeStream {
    fn new(inner: TcpStream, owed: Arc<Owed>, limits: EdgeLimits, metrics: Arc<Metrics>) -> Self {
        let mut s = Self {
            inner,
            owed,
            limits,
            metrics,
            answered: 0,
            in_head: false,
            deadline: Box::pin(tokio::time::sleep(Duration::ZERO)),
            due: Instant::now(),
            armed: false,
            refusal: None,
        };
        // the first head must arrive within the header timeout of the connection opening
        s.arm(limits.header_timeout);
        s
    }

    fn arm(&mut self, after: Option<Duration>) {
        self.armed = after.is_some();
        if let Some(d) = after {
            let due = Instant::now() + d;
            // A timer set to go off before `due` is left as it is: it re-arms itself for `due`
            // when it goes off (`expired`). So a keep-alive connection's requests, which arm
            // twice each (the head's timeout, then the idle one), move the timer about once per
            // timeout instead of twice per request (issue 16).
            if self.deadline.deadline() > due {
                self.deadline.as_mut().reset(due);
            }
            self.due = due;
        }
    }

    /// Whether the armed timeout has ended; a timer that went off early is set for `due`.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.deadline.as_mut().poll(cx).is_ready() {
            if Instant::now() >= self.due {
                return true;
            }
            let due = self.due;
            self.deadline.as_mut().reset(due);
        }
        false
    }

    fn busy(&self) -> bool {
        self.owed.asked.load(Ordering::Acquire) != self.owed.answered.load(Ordering::Acquire)
    }

    /// hyper's own answer to a head it refused, as the envelope. hyper writes it when no answer
    /// is owed, with an empty body, which no answer of ours has.
    fn refusal_for(&self, head: &[u8]) -> Option<Vec<u8>> {
        if !head.starts_with(b"HTTP/1.1 4") || self.busy() {
            return None;
        }
        let head_end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
        let empty = head[..head_end + 2]
            .windows(19)
            .any(|w| w.eq_ignore_ascii_case(b"\ncontent-length: 0\r"));
        let (status, code, message) = match head.get(9..12)? {
            _ if !empty => return None,
            b"400" => (
                400,
                40000,
                "the request head is malformed (a control character?)".into(),
            ),
            b"414" => (
                414,
                41400,
                "the request line (path and query) is too long".into(),
            ),
            b"431" => (
                431,
                43100,
                format!("the request head is over {MAX_HEAD_BYTES} bytes or {MAX_HEADERS} headers"),
            ),
            _ => return None,
        };
        self.metrics
            .observe("other", "", status, code, Duration::ZERO);
        Some(canned(status, code, &message))
    }

    /// Writes hyper's bytes, or the refusal in their place (then claims them all written).
    fn write_or_refuse(
        &mut self,
        cx: &mut Context<'_>,
        first: &[u8],
        len: usize,
        write: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if self.refusal.is_none() {
            let Some(bytes) = self.refusal_for(first) else {
                return write(Pin::new(&mut self.inner), cx);
            };
            self.refusal = Some(Refusal {
                bytes,
                written: 0,
                shut: false,
                drained: 0,
            });
        }
        ready!(self.poll_refuse(cx));
        Poll::Ready(Ok(len))
    }

    /// Writes the refusal, closes the write side, then reads and drops what the client still
    /// sends (for a while) before the connection closes.
    fn poll_refuse(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(r) = self.refusal.as_mut() else {
            return Poll::Ready(());
        };
        while r.written < r.bytes.len() {
            match ready!(Pin::new(&mut self.inner).poll_write(cx, &r.bytes[r.written..])) {
                Ok(n) if n > 0 => r.written += n,
                _ => return Poll::Ready(()),
            }
        }
        if !r.shut {
            let _ = ready!(Pin::new(&mut self.inner).poll_shutdown(cx));
            r.shut = true;
            self.deadline.as_mut().reset(Instant::now() + LINGER);
        }
        let mut scratch = [0u8; 8192];
        while r.drained < LINGER_BYTES {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => r.drained += buf.filled().len(),
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => return self.deadline.as_mut().poll(cx),
            }
        }
        Poll::Ready(())
    }
}

/// hyper refuses a whole request over a control character in any header (a bare 400); one in
/// `X-Request-Id` is blanked instead (to 0x80, which hyper passes and no id accepts), so that the
/// request is served with a fresh id (CONTRACT section 2). Only a line read whole is looked at.
fn spare_request_id(bytes: &mut [u8]) {
    let control = |c: u8| (c < 0x20 && !matches!(c, b'\t' | b'\r' | b'\n')) || c == 0x7f;
    // no early exit: the common case (no control character) stays one vectorised pass
    if !bytes.iter().fold(false, |seen, &c| seen | control(c)) {
        return;
    }
    let mut line = 0;
    for i in 0..bytes.len() {
        if bytes[i] == b'\n' {
            line = i + 1;
        } else if control(bytes[i])
            && bytes[line..i]
                .get(..13)
                .is_some_and(|name| name.eq_ignore_ascii_case(b"x-request-id:"))
        {
            bytes[i] = 0x80;
        }
    }
}

impl AsyncRead for EdgeStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let answered = this.owed.answered.load(Ordering::Acquire);
        let busy = this.owed.asked.load(Ordering::Acquire) != answered;
        if !busy && answered != this.answered {
            // answered: idle until the next request begins
            this.answered = answered;
            this.in_head = false;
            this.arm(this.limits.idle_timeout);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if !busy && buf.filled().len() > before => {
                if !this.in_head {
                    this.in_head = true;
                    if this.answered > 0 {
                        this.arm(this.limits.header_timeout);
                    }
                }
                spare_request_id(&mut buf.filled_mut()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending if busy => {
                // woken when the answer is finished, to start the idle timeout
                this.owed.waker.register(cx.waker());
                if !this.busy() {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
            Poll::Pending if this.armed && this.expired(cx) => {
                let what = match (this.in_head, this.answered) {
                    (true, _) => "request head not received in time",
                    (false, 0) => "no request in time",
                    (false, _) => "idle",
                };
                tracing::debug!(what, "closing connection");
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)))
            }
            other => other,
        }
    }
}

impl AsyncWrite for EdgeStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_or_refuse(cx, buf, buf.len(), |s, cx| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
        let len = bufs.iter().map(|b| b.len()).sum();
        self.get_mut()
            .write_or_refuse(cx, first, len, |s, cx| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.refusal.is_some() {
            // already closed after the refusal
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
