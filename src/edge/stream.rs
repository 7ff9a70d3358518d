//! A connection as hyper reads and writes it. It times the wait for a request, which hyper's own
//! head timer cannot tell from a slow head:
//!
//! - the first head must arrive within `LIVEROOM_HEADER_TIMEOUT_MS` of the connection opening,
//!   each later head within that of its first byte;
//! - after an answer, a connection with no new byte for `LIVEROOM_IDLE_TIMEOUT_MS` is closed. An
//!   answer still owed (an event stream) is never idle: the connection's service counts them.
//!
//! It also writes hyper's own refusals of a head (400, 414, 431, empty bodies) as the envelope, and
//! blanks a control character in `X-Request-Id` so the request gets a fresh id instead of a 400.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::{EdgeLimits, MAX_HEAD_BYTES, MAX_HEADERS, Owed, canned};
use crate::metrics::Metrics;

/// After a refusal, how much of what the client still sends is read and dropped (and for how
/// long) before the connection closes, so that the client reads the answer instead of a reset.
const LINGER_BYTES: usize = 4 * 1024 * 1024;
const LINGER: Duration = Duration::from_secs(2);

/// A refusal being written, then the client's rest read and dropped.
struct Refusal {
    bytes: Vec<u8>,
    written: usize,
    shut: bool,
    drained: usize,
}

pub(super) struct EdgeStream {
    inner: TcpStream,
    owed: Arc<Owed>,
    limits: EdgeLimits,
    metrics: Arc<Metrics>,
    /// Answers finished when last looked at; one more starts the idle timeout.
    answered: u64,
    /// A byte of the next request has arrived: its head timeout runs.
    in_head: bool,
    request_id: RequestIdLine,
    /// The timer for `due`; it may be set to go off earlier (see `arm`).
    deadline: Pin<Box<Sleep>>,
    /// When the armed timeout ends.
    due: Instant,
    armed: bool,
    refusal: Option<Refusal>,
}

impl EdgeStream {
    pub(super) fn new(
        inner: TcpStream,
        owed: Arc<Owed>,
        limits: EdgeLimits,
        metrics: Arc<Metrics>,
    ) -> Self {
        let mut s = Self {
            inner,
            owed,
            limits,
            metrics,
            answered: 0,
            in_head: false,
            request_id: RequestIdLine::default(),
            deadline: Box::pin(tokio::time::sleep(Duration::ZERO)),
            due: Instant::now(),
            armed: false,
            refusal: None,
        };
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

    /// hyper's own answer to a head it refused, as the envelope: hyper writes it when no answer
    /// is owed, with an empty body, which no answer of the service has.
    fn refusal_for(&self, head: &[u8]) -> Option<Vec<u8>> {
        if !head.starts_with(b"HTTP/1.1 4") || self.busy() {
            return None;
        }
        // (in this head: pipelined answers may follow it in the same write)
        let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
        let empty = head[..end + 2]
            .windows(20)
            .any(|w| w == b"\r\ncontent-length: 0\r");
        let (status, code, message) = match head.get(9..12)? {
            _ if !empty => return None,
            b"400" => (
                400,
                40000,
                "the request head is malformed: a control character, a bad Content-Length or \
                 Transfer-Encoding, or not HTTP/1.x"
                    .into(),
            ),
            b"414" => (
                414,
                41400,
                "the request line is too long (path and query)".into(),
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

const REQUEST_ID: &[u8] = b"x-request-id:";

/// hyper refuses a whole request over a control character in any header (a bare 400); one in
/// `X-Request-Id` is blanked instead (to 0x80, which hyper passes and no id accepts), so that the
/// request is served with a fresh id (CONTRACT section 2). A line may span reads: the start of
/// the line a read ends in is kept for the next.
#[derive(Default)]
struct RequestIdLine {
    start: [u8; REQUEST_ID.len()],
    len: usize,
}

impl RequestIdLine {
    fn spare(&mut self, bytes: &mut [u8]) {
        let control = |c: u8| (c < 0x20 && !matches!(c, b'\t' | b'\r' | b'\n')) || c == 0x7f;
        // no early exit: the common case (no control character) stays one vectorised pass
        if bytes.iter().fold(false, |seen, &c| seen | control(c)) {
            // where the current line starts in `bytes` (None: in an earlier read)
            let mut line = None;
            for i in 0..bytes.len() {
                if bytes[i] == b'\n' {
                    line = Some(i + 1);
                } else if control(bytes[i]) {
                    let (before, here) = match line {
                        None => (&self.start[..self.len], &bytes[..i]),
                        Some(l) => (&[][..], &bytes[l..i]),
                    };
                    let rest = &REQUEST_ID[before.len()..];
                    if before.eq_ignore_ascii_case(&REQUEST_ID[..before.len()])
                        && here
                            .get(..rest.len())
                            .is_some_and(|h| h.eq_ignore_ascii_case(rest))
                    {
                        bytes[i] = 0x80;
                    }
                }
            }
        }
        let tail = match bytes.iter().rposition(|&c| c == b'\n') {
            Some(i) => {
                self.len = 0;
                &bytes[i + 1..]
            }
            None => &bytes[..],
        };
        let n = tail.len().min(self.start.len() - self.len);
        self.start[self.len..self.len + n].copy_from_slice(&tail[..n]);
        self.len += n;
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
                    this.request_id = RequestIdLine::default();
                    if this.answered > 0 {
                        this.arm(this.limits.header_timeout);
                    }
                }
                this.request_id.spare(&mut buf.filled_mut()[before..]);
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
                let what = if this.in_head { "head" } else { "idle" };
                tracing::debug!(what, answered = this.answered, "connection timed out");
                Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for EdgeStream {
    /// hyper's bytes, or the refusal in their place (then all of them claimed written).
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.refusal.is_none() {
            let Some(bytes) = this.refusal_for(buf) else {
                return Pin::new(&mut this.inner).poll_write(cx, buf);
            };
            this.refusal = Some(Refusal {
                bytes,
                written: 0,
                shut: false,
                drained: 0,
            });
        }
        ready!(this.poll_refuse(cx));
        Poll::Ready(Ok(buf.len()))
    }

    /// No: hyper then writes each answer's head and body in one buffer (an answer is mostly a
    /// few hundred bytes), which `poll_write` sees whole.
    fn is_write_vectored(&self) -> bool {
        false
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
