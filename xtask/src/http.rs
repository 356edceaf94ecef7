//! A minimal HTTP/1.1 client over one keep-alive connection: enough for the smoke test and the
//! load test against our own server on loopback, with no client library to build.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, bail};

pub struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Connection {
    pub fn open(addr: &str) -> anyhow::Result<Self> {
        let stream =
            TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
            host: addr.to_owned(),
        })
    }

    /// Send one request and read the whole response: (status, body).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, String)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let mut message = head.into_bytes();
        message.extend_from_slice(body);
        self.writer.write_all(&message)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                bail!("connection closed in the headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.context("response without Content-Length")?];
        self.reader.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// A connection to the server at `addr` once it answers `GET /ping` with 200, polling for up
/// to `seconds`; `what` names it in the error.
pub fn ready(addr: &str, seconds: u64, what: &str) -> anyhow::Result<Connection> {
    let started = std::time::Instant::now();
    loop {
        let ready = Connection::open(addr).ok().and_then(|mut c| {
            let pong = c.request("GET", "/ping", "text/plain", b"").ok()?;
            (pong.0 == 200).then_some(c)
        });
        match ready {
            Some(c) => return Ok(c),
            None if started.elapsed().as_secs() < seconds => {
                std::thread::sleep(Duration::from_millis(100));
            }
            None => bail!("{what} never answered /ping on {addr}"),
        }
    }
}

/// A port free on loopback now (the listener is dropped: a server started next takes it).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
