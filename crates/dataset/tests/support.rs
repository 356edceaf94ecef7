//! Shared helpers: where the data set is, scratch files, a loopback HTTP server.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// The California CSV: `CALI_REG_DATA`, else the cache. Fails, never skips, when absent.
pub fn data_path() -> PathBuf {
    dataset::local_copy()
        .unwrap_or_else(|e| panic!("this test needs the California Housing data: {e}"))
}

/// The data rows of the CSV without its header: the content of `cal_housing.data`.
pub fn raw_data_lines() -> String {
    let text = std::fs::read_to_string(data_path()).expect("data file is readable");
    let input = dataset::Input::open(&data_path(), Some(&dataset::california::RAW_COLUMNS))
        .expect("data file opens");
    if input.header_line().is_some() {
        text.split_once('\n')
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or_default()
    } else {
        text
    }
}

/// A `.tgz` holding `CaliforniaHousing/cal_housing.data` with `content`.
pub fn archive(content: &[u8]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "CaliforniaHousing/cal_housing.data", content)
        .expect("tar entry");
    builder.into_inner().expect("tar").finish().expect("gzip")
}

/// A file in a fresh temporary folder.
pub fn scratch_file(name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write scratch file");
    (dir, path)
}

/// An HTTP server on 127.0.0.1, until dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT/cal_housing.tgz`.
    pub url: String,
    /// `http://127.0.0.1:PORT/`.
    pub base: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Answers every GET with `body`.
    pub fn start(body: Vec<u8>) -> Self {
        Self::serve(move |_| Some(body.clone()))
    }

    /// Answers a GET of a path with what `answer` gives for it, 404 for `None`.
    pub fn serve(answer: impl Fn(&str) -> Option<Vec<u8>> + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}/", listener.local_addr().expect("addr"));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).ok();
                        let mut buf = [0_u8; 4096];
                        let n = stream.read(&mut buf).unwrap_or(0);
                        let request = String::from_utf8_lossy(&buf[..n]);
                        let path = request.split_whitespace().nth(1).unwrap_or("/");
                        let (status, body) = match answer(path) {
                            Some(body) => ("200 OK", body),
                            None => ("404 Not Found", Vec::new()),
                        };
                        let head = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(&body);
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        Self {
            url: format!("{base}cal_housing.tgz"),
            base,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
