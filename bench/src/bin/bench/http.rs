//! A minimal HTTP/1.1 keep-alive client: one `Conn` writes a request and reads one response,
//! framed by Content-Length (chunked bodies are read too). No pipelining: one request in flight
//! per connection, as a browser or a mobile client sends heartbeats.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    /// Bytes of `buf` that belong to the previous response (dropped at the next request).
    consumed: usize,
    /// Where the last body lies in `buf`.
    body: (usize, usize),
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
            consumed: 0,
            body: (0, 0),
        }
    }

    /// Sends one request (complete bytes) and reads its response: (status, body). A connection
    /// the server closed while it sat idle is retried once on a fresh one.
    pub async fn send(&mut self, request: &[u8]) -> io::Result<(u16, &[u8])> {
        self.buf.drain(..self.consumed);
        self.consumed = 0;
        let reused = self.stream.is_some();
        let status = match self.exchange(request).await {
            Ok(status) => status,
            Err(e) => {
                self.stream = None;
                self.buf.clear();
                if !reused {
                    return Err(e);
                }
                match self.exchange(request).await {
                    Ok(status) => status,
                    Err(e) => {
                        self.stream = None;
                        self.buf.clear();
                        return Err(e);
                    }
                }
            }
        };
        Ok((status, &self.buf[self.body.0..self.body.1]))
    }

    async fn exchange(&mut self, request: &[u8]) -> io::Result<u16> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
            self.buf.clear();
        }
        let stream = self.stream.as_mut().expect("connected");
        stream.write_all(request).await?;
        let head = loop {
            if let Some(head) = parse_head(&self.buf)? {
                break head;
            }
            read_more(stream, &mut self.buf).await?;
        };
        let start = head.len;
        let end = match head.framing {
            Framing::Length(n) => {
                while self.buf.len() < start + n {
                    read_more(stream, &mut self.buf).await?;
                }
                start + n
            }
            Framing::Chunked => {
                // De-chunk in place: move each chunk's data down to follow the previous one.
                let mut write = start;
                let mut read = start;
                loop {
                    let line_end = loop {
                        if let Some(i) = find(&self.buf[read..], b"\r\n") {
                            break read + i;
                        }
                        read_more(stream, &mut self.buf).await?;
                    };
                    let text = std::str::from_utf8(&self.buf[read..line_end]).unwrap_or("");
                    let size =
                        usize::from_str_radix(text.split(';').next().unwrap_or("").trim(), 16)
                            .map_err(|_| io::Error::other("bad chunk size"))?;
                    read = line_end + 2;
                    while self.buf.len() < read + size + 2 {
                        read_more(stream, &mut self.buf).await?;
                    }
                    self.buf.copy_within(read..read + size, write);
                    write += size;
                    read += size + 2;
                    if size == 0 {
                        break;
                    }
                }
                // what follows the last chunk (nothing, without pipelining) is dropped with it
                self.consumed = read;
                self.body = (start, write);
                if head.close {
                    self.stream = None;
                }
                return Ok(head.status);
            }
        };
        self.consumed = end;
        self.body = (start, end);
        if head.close {
            self.stream = None;
        }
        Ok(head.status)
    }
}

enum Framing {
    Length(usize),
    Chunked,
}

struct Head {
    len: usize,
    status: u16,
    framing: Framing,
    close: bool,
}

fn parse_head(buf: &[u8]) -> io::Result<Option<Head>> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = &buf[..end];
    let mut lines = head.split(|&b| b == b'\n');
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(|&b| b == b' ')
        .nth(1)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("bad status line"))?;
    let mut framing = Framing::Length(0);
    let mut close = false;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = &line[..colon];
        let value = std::str::from_utf8(&line[colon + 1..]).unwrap_or("").trim();
        if name.eq_ignore_ascii_case(b"content-length") {
            framing = Framing::Length(value.parse().map_err(|_| io::Error::other("bad length"))?);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            && value.eq_ignore_ascii_case("chunked")
        {
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case(b"connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    Ok(Some(Head {
        len: end + 4,
        status,
        framing,
        close,
    }))
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    if buf.capacity() - buf.len() < 4096 {
        buf.reserve(16 * 1024);
    }
    if stream.read_buf(buf).await? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(())
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The bytes of a request. `token` empty: no Authorization header. `body`: a JSON body.
pub fn request(method: &str, path: &str, token: &str, body: Option<&str>) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\n");
    if !token.is_empty() {
        r.push_str("Authorization: Bearer ");
        r.push_str(token);
        r.push_str("\r\n");
    }
    match body {
        Some(b) => {
            r.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            ));
        }
        None if method == "POST" || method == "PUT" => r.push_str("Content-Length: 0\r\n\r\n"),
        None => r.push_str("\r\n"),
    }
    r.into_bytes()
}

/// A query value, form-encoded as a browser sends it.
pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The envelope's `code`, read without parsing the JSON (the hot path checks every answer).
pub fn envelope_code(body: &[u8]) -> Option<i64> {
    let at = find(body, b"\"code\":")? + 7;
    let digits: Vec<u8> = body[at..]
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(|b| b.is_ascii_digit() || *b == b'-')
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}
