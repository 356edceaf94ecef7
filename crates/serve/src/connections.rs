//! The connections of `cali-reg serve`: read timeouts, a cap on how many are open, room for a
//! new client when the cap is reached, and a bounded graceful stop.
//!
//! hyper's HTTP/1 server reads each request head within `header_timeout`; since hyper 1.6 the
//! same timer runs while a kept-alive connection waits for its next request, so it is also the
//! idle timeout. Each connection's socket notes when it last moved a byte. When `max` connections
//! are open (or the process runs out of file descriptors), the one that has been quiet longest
//! is closed to make room: a flood of idle or slow clients cannot lock out a health check.

use std::collections::HashMap;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

/// How connections are kept.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to send a request head, and to start the next one on a kept-alive connection.
    pub header_timeout: Duration,
    /// Connections open at once; more push out the quietest.
    pub max_connections: usize,
    /// After a stop signal, how long requests in flight may take.
    pub grace: Duration,
}

/// Raise the soft limit of open files to the hard one, and keep the cap of connections below
/// it, with room for the model file, the log and the listener.
pub fn connection_cap(requested: usize) -> usize {
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let room = usize::try_from(files)
        .unwrap_or(usize::MAX)
        .saturating_sub(32);
    requested.min(room).max(1)
}

/// One open connection: when it last moved a byte, and how to close it.
#[derive(Debug)]
struct Entry {
    last: Arc<AtomicU64>,
    close: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Registry {
    next: u64,
    open: HashMap<u64, Entry>,
}

type Shared = Arc<Mutex<Registry>>;

/// Close the connection that has been quiet longest.
fn evict_quietest(registry: &Shared) {
    let Ok(mut r) = registry.lock() else { return };
    let quietest = r
        .open
        .iter()
        .min_by_key(|(_, e)| e.last.load(Ordering::Relaxed))
        .map(|(id, _)| *id);
    if let Some(entry) = quietest.and_then(|id| r.open.remove(&id)) {
        entry.close.notify_one();
    }
}

fn open_count(registry: &Shared) -> usize {
    registry.lock().map_or(0, |r| r.open.len())
}

/// Serve `router` on `listener` until `stop` resolves, then let requests in flight finish
/// within the grace period; returns how many connections were still open at its end (and
/// dropped).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    stop: impl std::future::Future<Output = ()>,
) -> usize {
    let clock = Instant::now();
    let registry: Shared = Arc::default();
    let (stopping_tx, stopping_rx) = watch::channel(false);
    let mut stop = pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if open_count(&registry) >= limits.max_connections {
                        evict_quietest(&registry);
                    }
                    let job = Connection {
                        registry: registry.clone(),
                        stopping: stopping_rx.clone(),
                        clock,
                    };
                    tokio::spawn(job.run(stream, router.clone(), limits));
                }
                Err(_) => {
                    // Out of file descriptors (or another passing failure): make room, retry.
                    evict_quietest(&registry);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    let deadline = Instant::now() + limits.grace;
    while open_count(&registry) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    open_count(&registry)
}

/// What a connection task needs besides its socket.
struct Connection {
    registry: Shared,
    stopping: watch::Receiver<bool>,
    clock: Instant,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, router: axum::Router, limits: Limits) {
        let last = Arc::new(AtomicU64::new(millis(self.clock)));
        let close = Arc::new(Notify::new());
        let id = {
            let Ok(mut r) = self.registry.lock() else {
                return;
            };
            let id = r.next;
            r.next += 1;
            r.open.insert(
                id,
                Entry {
                    last: last.clone(),
                    close: close.clone(),
                },
            );
            id
        };
        let io = TokioIo::new(Noted {
            inner: stream,
            last,
            clock: self.clock,
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let connection = builder.serve_connection(io, TowerToHyperService::new(router));
        let mut connection = pin!(connection);
        loop {
            tokio::select! {
                _ = connection.as_mut() => break,
                () = close.notified() => break,
                Ok(()) = self.stopping.changed() => connection.as_mut().graceful_shutdown(),
            }
        }
        if let Ok(mut r) = self.registry.lock() {
            r.open.remove(&id);
        }
    }
}

fn millis(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A socket that notes when it last read or wrote a byte.
struct Noted {
    inner: TcpStream,
    last: Arc<AtomicU64>,
    clock: Instant,
}

impl Noted {
    fn touch(&self) {
        self.last.store(millis(self.clock), Ordering::Relaxed);
    }
}

impl AsyncRead for Noted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl AsyncWrite for Noted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled
            && n > 0
        {
            self.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
