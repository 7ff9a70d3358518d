//! The HTTP edge: what a connection may cost before a request reaches a handler.
//!
//! poem's server gives hyper no timer and no limits of ours, so the listener does it: the
//! acceptor caps the open connections of this replica (refusing the next one at once, without a
//! task), and every connection's reads go through [`EdgeStream`], which
//!
//! - closes a connection whose first request head has not arrived `LIVEROOM_HEADER_TIMEOUT_MS`
//!   after it opened, or whose later heads have not arrived that long after their first byte;
//! - closes a connection on which nothing is asked for `LIVEROOM_IDLE_TIMEOUT_MS` after its last
//!   answer (an answer still being sent, such as an event stream, is never idle);
//! - answers, in the contract's envelope, a request line over [`MAX_REQUEST_LINE_BYTES`] (414),
//!   a head over [`MAX_HEAD_BYTES`] or [`MAX_HEADERS`] headers (431), and a control character in
//!   the head (400) — below hyper's own limits, which would answer with an empty body — and blanks
//!   a control character in `X-Request-Id` so that the request gets a fresh id instead.
//!
//! The body timeout is the request middleware's (the whole body is read before the handler, see
//! `http::serve`): [`Edge::body_timeout`].
//!
//! The stream cannot see where a request ends (hyper frames bodies), so the middleware tells it:
//! [`track`] counts the answers of each connection, keyed by the peer address (unique among open
//! connections of one listener), and an event stream counts as answered only when it ends.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::task::AtomicWaker;
use poem::http::header;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

use crate::metrics::Metrics;

/// A request line (method, path and query, version) over this is 414/41400.
pub const MAX_REQUEST_LINE_BYTES: usize = 8 * 1024;
/// A request head (request line and headers) over this is 431/43100. A token is at most 8 KiB.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// More headers than this is 431/43100 (hyper's own limit, 100, answers with an empty body).
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

/// What a connection and the request middleware share: how many answers it has finished, and
/// whether the last one closes the connection (hyper then reads no further request).
#[derive(Default)]
struct Answers {
    finished: AtomicU64,
    closing: AtomicBool,
    waker: AtomicWaker,
    /// The client closed the connection (EOF or a read error) while an answer was still being
    /// sent: an event stream ends at once (hyper itself notices only at its next write).
    peer_gone: AtomicBool,
    gone_waker: AtomicWaker,
}

/// The open connections of this replica.
pub struct Edge {
    limits: EdgeLimits,
    open: AtomicUsize,
    connections: Mutex<HashMap<SocketAddr, Arc<Answers>>>,
    metrics: Arc<Metrics>,
}

impl Edge {
    pub fn new(limits: EdgeLimits, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            limits,
            open: AtomicUsize::new(0),
            connections: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// How long a request body may take to arrive, from the end of its head.
    pub fn body_timeout(&self) -> Option<Duration> {
        self.limits.body_timeout
    }

    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    fn answers_of(&self, peer: SocketAddr) -> Option<Arc<Answers>> {
        self.connections.lock().ok()?.get(&peer).cloned()
    }

    fn answered(&self, peer: SocketAddr, closing: bool) {
        let answers = match self.connections.lock() {
            Ok(map) => map.get(&peer).cloned(),
            Err(_) => None,
        };
        if let Some(a) = answers {
            if closing {
                a.closing.store(true, Ordering::Release);
            }
            a.finished.fetch_add(1, Ordering::Release);
            a.waker.wake();
        }
    }
}

/// Holds one of the replica's connection places; gives it back when the connection closes.
struct Place {
    edge: Arc<Edge>,
    peer: SocketAddr,
    answers: Arc<Answers>,
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Ok(mut map) = self.edge.connections.lock()
            && map
                .get(&self.peer)
                .is_some_and(|a| Arc::ptr_eq(a, &self.answers))
        {
            map.remove(&self.peer);
        }
        self.edge.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The acceptor of the server: the connection cap, and an [`EdgeStream`] around each connection.
pub struct EdgeAcceptor {
    listener: TcpListener,
    local: LocalAddr,
    edge: Arc<Edge>,
    refusal: Vec<u8>,
}

impl EdgeAcceptor {
    pub fn new(listener: TcpListener, edge: Arc<Edge>) -> io::Result<Self> {
        let local = LocalAddr(listener.local_addr()?.into());
        let refusal = canned(
            503,
            "Service Unavailable",
            50300,
            &format!(
                "this server has its {} connections open; try again",
                edge.limits.max_connections
            ),
        );
        Ok(Self {
            listener,
            local,
            edge,
            refusal,
        })
    }
}

impl Acceptor for EdgeAcceptor {
    type Io = EdgeStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        vec![self.local.clone()]
    }

    async fn accept(&mut self) -> io::Result<(EdgeStream, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let max = self.edge.limits.max_connections;
            let open = self.edge.open.fetch_add(1, Ordering::Relaxed);
            if max > 0 && open >= max {
                self.edge.open.fetch_sub(1, Ordering::Relaxed);
                // Refused without a task or a read: one non-blocking write, then closed.
                let _ = stream.try_write(&self.refusal);
                self.edge
                    .metrics
                    .observe("other", "", 503, 50300, Duration::ZERO);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let answers = Arc::new(Answers::default());
            if let Ok(mut map) = self.edge.connections.lock() {
                map.insert(peer, answers.clone());
            }
            let place = Place {
                edge: self.edge.clone(),
                peer,
                answers,
            };
            let io = EdgeStream::new(stream, place);
            return Ok((
                io,
                self.local.clone(),
                RemoteAddr(peer.into()),
                Scheme::HTTP,
            ));
        }
    }
}

/// Around every request: counts its answer as finished when the response is handed to hyper,
/// or, for an event stream, when the stream ends.
pub async fn track<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    edge: Arc<Edge>,
) -> poem::Result<Response> {
    let peer = req.remote_addr().as_socket_addr().copied();
    let result = ep.call(req).await.map(IntoResponse::into_response);
    let Some(peer) = peer else {
        return result;
    };
    match result {
        Ok(mut resp) if is_event_stream(&resp) => {
            let gone = edge.answers_of(peer);
            let done = Answered { edge, peer };
            let mut inner = Some(resp.take_body().into_bytes_stream());
            // ends (and drops the handler's stream, freeing what it holds) as soon as the
            // client closes the connection
            let body = futures_util::stream::poll_fn(move |cx| {
                let _ = &done;
                if let Some(a) = &gone {
                    a.gone_waker.register(cx.waker());
                    if a.peer_gone.load(Ordering::Acquire) {
                        inner = None;
                    }
                }
                match inner.as_mut() {
                    Some(stream) => stream.poll_next_unpin(cx),
                    None => Poll::Ready(None),
                }
            });
            resp.set_body(Body::from_bytes_stream(body));
            Ok(resp)
        }
        Ok(resp) => {
            let closing = resp
                .headers()
                .get(header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            edge.answered(peer, closing);
            Ok(resp)
        }
        Err(e) => {
            edge.answered(peer, false);
            Err(e)
        }
    }
}

fn is_event_stream(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

struct Answered {
    edge: Arc<Edge>,
    peer: SocketAddr,
}

impl Drop for Answered {
    fn drop(&mut self) {
        self.edge.answered(self.peer, false);
    }
}

/// An HTTP response written by the edge itself, in the envelope, closing the connection.
fn canned(status: u16, reason: &str, code: i32, message: &str) -> Vec<u8> {
    let id = uuid::Uuid::new_v4().to_string();
    let body = serde_json::json!({"request_id": id, "code": code, "message": message}).to_string();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nx-request-id: {id}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between requests: no byte of the next head yet.
    Waiting,
    /// Reading a request head.
    Head,
    /// The head is in; the request is hyper's and the handler's until it is answered.
    Busy,
    /// HTTP/2 with prior knowledge: hyper's framing, not ours to read.
    Http2,
    /// Answered with `Connection: close`: no further request.
    Closing,
}

/// A refusal being written, then the client's rest read and dropped.
struct Refusal {
    bytes: Vec<u8>,
    written: usize,
    shut: bool,
    drained: usize,
}

/// A connection as hyper reads it: the timeouts and the head limits (see the module).
pub struct EdgeStream {
    inner: TcpStream,
    place: Place,
    phase: Phase,
    head: HeadScan,
    /// Heads read so far; the connection is waiting again once as many have been answered.
    heads: u64,
    /// The timer for `due`; it may be set to go off earlier (see `arm`).
    deadline: Pin<Box<Sleep>>,
    /// When the armed timeout ends.
    due: Instant,
    armed: bool,
    refusal: Option<Refusal>,
}

impl EdgeStream {
    fn new(inner: TcpStream, place: Place) -> Self {
        let header = place.edge.limits.header_timeout;
        let mut s = Self {
            inner,
            place,
            phase: Phase::Waiting,
            head: HeadScan::default(),
            heads: 0,
            deadline: Box::pin(tokio::time::sleep(Duration::ZERO)),
            due: Instant::now(),
            armed: false,
            refusal: None,
        };
        // the first head must arrive within the header timeout of the connection opening
        s.arm(header);
        s
    }

    fn arm(&mut self, after: Option<Duration>) {
        match after {
            Some(d) => {
                let due = Instant::now() + d;
                // A timer set to go off before `due` is left as it is: it re-arms itself for
                // `due` when it goes off (`expired`). So a keep-alive connection's requests,
                // which arm twice each (the head's timeout, then the idle one), move the timer
                // about once per timeout instead of twice per request (issue 16).
                if self.deadline.deadline() > due {
                    self.deadline.as_mut().reset(due);
                }
                self.due = due;
                self.armed = true;
            }
            None => self.armed = false,
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

    /// Reads the new bytes of a head; stops at its end (what follows is the body, hyper's).
    fn scan(&mut self, new: &mut [u8]) -> Result<(), Vec<u8>> {
        let limits = self.place.edge.limits;
        let mut i = 0;
        while i < new.len() {
            match self.phase {
                Phase::Busy | Phase::Http2 | Phase::Closing => return Ok(()),
                Phase::Waiting => {
                    self.phase = Phase::Head;
                    self.head = HeadScan::default();
                    if self.heads > 0 {
                        self.arm(limits.header_timeout);
                    }
                }
                Phase::Head => {}
            }
            let (used, step) = self.head.feed(&mut new[i..]);
            i += used;
            match step {
                Step::More => {}
                Step::End => {
                    self.phase = Phase::Busy;
                    self.heads += 1;
                    self.armed = false;
                }
                Step::Http2 => {
                    self.phase = Phase::Http2;
                    self.armed = false;
                }
                Step::Refuse(refusal) => {
                    self.place.edge.metrics.observe(
                        "other",
                        "",
                        refusal.status,
                        refusal.code,
                        Duration::ZERO,
                    );
                    return Err(canned(
                        refusal.status,
                        refusal.reason,
                        refusal.code,
                        &refusal.message,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Writes the refusal, closes the write side, then reads and drops what the client still
    /// sends (for a while) before answering hyper the end of the stream.
    fn poll_refuse(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(r) = self.refusal.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        while r.written < r.bytes.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &r.bytes[r.written..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(n)) => r.written += n,
                Poll::Pending => return Poll::Pending,
            }
        }
        if !r.shut {
            match Pin::new(&mut self.inner).poll_shutdown(cx) {
                Poll::Pending => return Poll::Pending,
                _ => {
                    r.shut = true;
                    self.deadline.as_mut().reset(Instant::now() + LINGER);
                }
            }
        }
        let mut scratch = [0u8; 8192];
        while r.drained < LINGER_BYTES {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => r.drained += buf.filled().len(),
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => {
                    return match self.deadline.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Ok(())),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for EdgeStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            return this.poll_refuse(cx);
        }
        let answers = this.place.answers.clone();
        if this.phase == Phase::Busy && answers.finished.load(Ordering::Acquire) >= this.heads {
            if answers.closing.load(Ordering::Acquire) {
                // hyper closes after this answer; what it still reads is the unread body
                this.phase = Phase::Closing;
            } else {
                // answered: idle until the next request begins
                this.phase = Phase::Waiting;
                this.arm(this.place.edge.limits.idle_timeout);
            }
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        let eof = matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() == before;
        if (eof || matches!(read, Poll::Ready(Err(_)))) && this.phase == Phase::Busy {
            answers.peer_gone.store(true, Ordering::Release);
            answers.gone_waker.wake();
        }
        match read {
            Poll::Ready(Ok(())) => {
                let scanned = this.scan(&mut buf.filled_mut()[before..]);
                match scanned {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(bytes) => {
                        buf.set_filled(before);
                        this.refusal = Some(Refusal {
                            bytes,
                            written: 0,
                            shut: false,
                            drained: 0,
                        });
                        this.poll_refuse(cx)
                    }
                }
            }
            Poll::Pending => {
                if this.phase == Phase::Busy {
                    // woken when the middleware counts the answer, to start the idle timeout
                    answers.waker.register(cx.waker());
                    if answers.finished.load(Ordering::Acquire) >= this.heads {
                        cx.waker().wake_by_ref();
                    }
                    return Poll::Pending;
                }
                if this.armed && this.expired(cx) {
                    let what = match this.phase {
                        Phase::Head => "request head not received in time",
                        _ if this.heads == 0 => "no request in time",
                        _ => "idle",
                    };
                    tracing::debug!(peer = %this.place.peer, what, "closing connection");
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)));
                }
                Poll::Pending
            }
            other => other,
        }
    }
}

impl AsyncWrite for EdgeStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
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

struct Refused {
    status: u16,
    reason: &'static str,
    code: i32,
    message: String,
}

enum Step {
    More,
    End,
    Http2,
    Refuse(Refused),
}

/// Where a request head is, byte by byte: enough to find its end, measure it, and see control
/// characters, without parsing what hyper parses.
#[derive(Default)]
struct HeadScan {
    bytes: usize,
    /// Lines ended so far (the request line is the first).
    lines: usize,
    /// Bytes of the current line, CR not counted.
    line: usize,
    /// The start of the request line (to recognise HTTP/2's preface).
    start: [u8; 16],
    /// The current header's name, up to 16 bytes (to recognise `X-Request-Id`).
    name: [u8; 16],
    in_value: bool,
    request_id: bool,
}

const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

impl HeadScan {
    /// Reads `bytes` until the head ends or is refused: how many it took, and the step it
    /// stopped at (`More` when it took them all and the head goes on).
    fn feed(&mut self, bytes: &mut [u8]) -> (usize, Step) {
        let mut i = 0;
        while i < bytes.len() {
            // most of a head is header values (a token is hundreds of bytes): passed in bulk
            i += self.plain_run(&bytes[i..]);
            let Some(b) = bytes.get_mut(i) else {
                break;
            };
            i += 1;
            match self.byte(b) {
                Step::More => {}
                step => return (i, step),
            }
        }
        (i, Step::More)
    }

    /// How many of the bytes at the start of `rest` can pass at once, without a look at each:
    /// inside a header's value (not `X-Request-Id`'s) or the request line past its first 16
    /// bytes, up to the next control character (CR and LF included) and short of the limits.
    /// `byte` takes what comes after.
    fn plain_run(&mut self, rest: &[u8]) -> usize {
        let mut room = MAX_HEAD_BYTES.saturating_sub(self.bytes);
        if self.lines == 0 {
            if self.line < self.start.len() {
                return 0;
            }
            room = room.min(MAX_REQUEST_LINE_BYTES.saturating_sub(self.line));
        } else if !self.in_value || self.request_id {
            return 0;
        }
        let run = rest[..rest.len().min(room)]
            .iter()
            .position(|&c| c < 0x20 || c == 0x7f)
            .unwrap_or(rest.len().min(room));
        self.bytes += run;
        self.line += run;
        run
    }

    fn byte(&mut self, b: &mut u8) -> Step {
        self.bytes += 1;
        if self.bytes > MAX_HEAD_BYTES {
            return Step::Refuse(Refused {
                status: 431,
                reason: "Request Header Fields Too Large",
                code: 43100,
                message: format!("the request headers are larger than {MAX_HEAD_BYTES} bytes"),
            });
        }
        match *b {
            b'\r' => Step::More,
            b'\n' if self.line == 0 => {
                if self.lines == 0 {
                    // empty lines before the request line are allowed (RFC 9112 2.2)
                    Step::More
                } else {
                    Step::End
                }
            }
            b'\n' => {
                let first = self.lines == 0;
                self.lines += 1;
                self.line = 0;
                self.in_value = false;
                self.request_id = false;
                if first && self.start.starts_with(HTTP2_PREFACE) {
                    return Step::Http2;
                }
                if self.lines > MAX_HEADERS + 1 {
                    return Step::Refuse(Refused {
                        status: 431,
                        reason: "Request Header Fields Too Large",
                        code: 43100,
                        message: format!("the request has more than {MAX_HEADERS} headers"),
                    });
                }
                Step::More
            }
            c => {
                self.line += 1;
                if self.lines == 0 {
                    if self.line > MAX_REQUEST_LINE_BYTES {
                        return Step::Refuse(Refused {
                            status: 414,
                            reason: "URI Too Long",
                            code: 41400,
                            message: format!(
                                "the request line (path and query) is longer than {MAX_REQUEST_LINE_BYTES} bytes"
                            ),
                        });
                    }
                    if self.line <= self.start.len() {
                        self.start[self.line - 1] = c;
                    }
                } else if !self.in_value {
                    if c == b':' {
                        self.in_value = true;
                        self.request_id = self.line == 13
                            && self.name[..12].eq_ignore_ascii_case(b"x-request-id");
                    } else if self.line <= self.name.len() {
                        self.name[self.line - 1] = c;
                    }
                }
                if (c < 0x20 && c != b'\t') || c == 0x7f {
                    if self.request_id {
                        // not a valid id: the request gets a fresh one (CONTRACT section 2)
                        // instead of hyper's bare 400 for the whole request
                        *b = 0x80;
                        return Step::More;
                    }
                    return Step::Refuse(Refused {
                        status: 400,
                        reason: "Bad Request",
                        code: 40000,
                        message: "the request line or a header contains a control character".into(),
                    });
                }
                Step::More
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(head: &[u8]) -> (Vec<u8>, Option<u16>, bool) {
        let mut s = HeadScan::default();
        let mut bytes = head.to_vec();
        let (_, step) = s.feed(&mut bytes);
        match step {
            Step::More => (bytes, None, false),
            Step::End => (bytes, None, true),
            Step::Http2 => (bytes, Some(2), false),
            Step::Refuse(r) => (bytes, Some(r.status), false),
        }
    }

    #[test]
    fn a_head_ends_at_its_empty_line() {
        assert!(scan(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody").2);
        assert!(scan(b"\r\nGET / HTTP/1.1\nHost: x\n\n").2);
        assert!(!scan(b"GET / HTTP/1.1\r\nHost: x\r\n").2);
    }

    #[test]
    fn heads_over_the_limits_are_refused() {
        let long = format!(
            "GET /{} HTTP/1.1\r\n\r\n",
            "a".repeat(MAX_REQUEST_LINE_BYTES)
        );
        assert_eq!(scan(long.as_bytes()).1, Some(414));
        let big = format!(
            "GET / HTTP/1.1\r\nx: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert_eq!(scan(big.as_bytes()).1, Some(431));
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "a: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(scan(many.as_bytes()).1, Some(431));
        let enough = format!("GET / HTTP/1.1\r\n{}\r\n", "a: b\r\n".repeat(MAX_HEADERS));
        assert!(scan(enough.as_bytes()).2);
        assert_eq!(scan(b"GET / HTTP/1.1\r\nx: a\x00b\r\n\r\n").1, Some(400));
        assert_eq!(scan(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").1, Some(2));
    }

    #[test]
    fn long_header_values_are_measured_and_checked_to_the_byte() {
        // the request line's limit, to the byte ("GET /" and " HTTP/1.1" count)
        let line = |path: usize| format!("GET /{} HTTP/1.1\r\n\r\n", "p".repeat(path));
        let at_limit = MAX_REQUEST_LINE_BYTES - "GET / HTTP/1.1".len();
        assert!(scan(line(at_limit).as_bytes()).2);
        assert_eq!(scan(line(at_limit + 1).as_bytes()).1, Some(414));
        assert_eq!(
            scan(b"GET /a-long-enough-path\x01 HTTP/1.1\r\n\r\n").1,
            Some(400)
        );
        // the head's limit counts every byte of a value passed in bulk
        let head = |value: usize| format!("GET / HTTP/1.1\r\nx: {}\r\n\r\n", "a".repeat(value));
        let at_limit = MAX_HEAD_BYTES - head(0).len();
        assert!(scan(head(at_limit).as_bytes()).2);
        assert_eq!(scan(head(at_limit + 1).as_bytes()).1, Some(431));
        // a control character after hundreds of plain bytes is still seen; a tab is allowed
        let token = "e".repeat(400);
        for (bad, refused) in [("\x00", Some(400)), ("\x7f", Some(400)), ("\t", None)] {
            let head =
                format!("GET / HTTP/1.1\r\nAuthorization: Bearer {token}{bad}{token}\r\n\r\n");
            assert_eq!(scan(head.as_bytes()).1, refused, "{bad:?}");
        }
        // the same head in pieces of any size is read the same
        let head = format!(
            "GET /x HTTP/1.1\r\nAuthorization: Bearer {token}\r\nX-Request-Id: a\x01\r\n\r\nbody"
        );
        for piece in [1, 7, 64, head.len()] {
            let mut s = HeadScan::default();
            let mut bytes = head.clone().into_bytes();
            let mut ended_at = None;
            for (n, chunk) in bytes.chunks_mut(piece).enumerate() {
                let (used, step) = s.feed(chunk);
                if matches!(step, Step::End) {
                    ended_at = Some(n * piece + used);
                    break;
                }
            }
            assert_eq!(
                ended_at,
                Some(head.len() - "body".len()),
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn a_control_character_in_the_request_id_is_blanked() {
        let (bytes, refused, ended) = scan(b"GET / HTTP/1.1\r\nX-Request-ID: a\x01b\r\n\r\n");
        assert_eq!((refused, ended), (None, true));
        assert!(bytes.windows(3).any(|w| w == b"a\x80b"));
    }
}
