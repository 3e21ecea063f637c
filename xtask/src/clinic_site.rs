//! The example clinic website (`examples/clinic-site/`), served on a port of
//! its own so that it is another site than Ward's: `http://127.0.0.1:PORT`
//! against Ward's `http://localhost:PORT` (a different host is a different
//! site, as a clinic's domain is). `cargo xtask dev` serves it on 8081 and
//! the end-to-end tests on a free port, and Ward's relay lists its origin
//! in `frame_ancestors`.
//!
//! Development only: one file, GET only, `{{WARD_ORIGIN}}` in the page
//! replaced with the relay's origin, a thread per request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

use crate::failure::{Failure, Result};
use crate::paths;

/// The running site; it stops with the process.
pub struct ClinicSite {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    ward_origin: Arc<Mutex<String>>,
}

impl ClinicSite {
    /// Serves the example site on `listen` (`127.0.0.1:0`: a free port).
    pub fn start(listen: &str) -> Result<Self> {
        let step = "start the example clinic site";
        let listener =
            TcpListener::bind(listen).map_err(|e| Failure::new(step, format!("{listen}: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| Failure::new(step, e.to_string()))?
            .port();
        let page =
            std::fs::read_to_string(paths::root().join("examples/clinic-site/index.html"))
                .map_err(|e| Failure::new(step, format!("examples/clinic-site/index.html: {e}")))?;
        let ward_origin = Arc::new(Mutex::new(String::new()));
        let shared = ward_origin.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else {
                    // Out of files, say: wait instead of spinning.
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    continue;
                };
                let origin = shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let page = page.replace("{{WARD_ORIGIN}}", &origin);
                std::thread::spawn(move || answer(stream, &page));
            }
        });
        Ok(Self {
            origin: format!("http://127.0.0.1:{port}"),
            ward_origin,
        })
    }

    /// Points the page at Ward's relay (its origin, e.g. `http://localhost:8080`).
    pub fn set_ward_origin(&self, origin: &str) {
        *self
            .ward_origin
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = origin.to_owned();
    }
}

fn answer(stream: TcpStream, page: &str) {
    // A browser's spare (preconnected) socket, or a slow client, does not
    // hold a thread for ever, and a request is read up to 16 KiB.
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut reader = BufReader::new((&stream).take(16 * 1024));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // The headers are read and ignored.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) =
        if request_line.starts_with("GET ") && (path == "/" || path == "/index.html") {
            ("200 OK", page)
        } else {
            ("404 Not Found", "Not found\n")
        };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = &stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}
