//! Building the client, the relay and the clinic agent, and running a
//! relay for the tests.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::failure::{Failure, Result};
use crate::paths;
use crate::run;

/// Builds the web client into `dist/` with Trunk (release, offline).
pub fn build_client() -> Result {
    run::status(
        "build: web client (trunk build --release)",
        run::command("trunk").args(["build", "--release", "--offline"]),
    )
    .map_err(|f| f.fix("read Trunk's error above; `cargo xtask setup` reinstalls the pinned Trunk, wasm-bindgen and wasm-opt"))
}

/// Builds `ward-relay` (debug: it shares every compiled dependency with the
/// tests, and starts in seconds) and returns its path.
pub fn build_relay() -> Result<PathBuf> {
    build_bin("ward-relay", false)
}

/// Builds `ward-relay` with the `server` profile (for benchmarks) and
/// returns its path.
pub fn build_relay_release() -> Result<PathBuf> {
    build_bin("ward-relay", true)
}

/// Builds the clinic agent, `ward-clinic` (debug), and returns its path.
pub fn build_clinic() -> Result<PathBuf> {
    build_bin("ward-clinic", false)
}

/// Builds `ward-clinic` in release (the benchmarks seal 10 000 messages
/// with it) and returns its path.
pub fn build_clinic_release() -> Result<PathBuf> {
    build_bin("ward-clinic", true)
}

/// Builds the relay benchmark's load generator, `ward-loadgen`, in
/// release, and returns its path.
pub fn build_loadgen_release() -> Result<PathBuf> {
    build_bin("ward-loadgen", true)
}

/// Builds the binary `name` of the package of the same name. One package
/// per cargo run: built together, the relay would get ward-seal with the
/// clinic's features (cargo unifies them), and link code that decrypts.
fn build_bin(name: &str, release: bool) -> Result<PathBuf> {
    let mut args = vec!["build", "--locked", "--package", name, "--bin", name];
    if release {
        // The server programs' own profile (Cargo.toml): full speed, not
        // the web client's size-tuned `release`.
        args.extend(["--profile", "server"]);
    }
    run::status(&format!("build: {name}"), &mut run::cargo(&args))?;
    let profile = if release { "server" } else { "debug" };
    Ok(paths::target_dir().join(profile).join(name))
}

/// A relay process on a free loopback port, stopped when dropped.
pub struct RunningRelay {
    child: Child,
    /// `http://localhost:PORT`: a host name, not an IP, because WebAuthn
    /// relying-party ids cannot be IP addresses.
    pub url: String,
}

/// The demo clinic's office hours and emergency notice in Spanish (its
/// English ones are given on the command line).
const DEMO_CLINIC_TEXTS: &str = r#"[clinic_texts.es]
office_hours = "de lunes a viernes, de 8 a 17 h"
emergency_notice = "Si es una emergencia, llame al 911. Si tiene una crisis de salud mental, llame o envíe un mensaje de texto al 988 (aviso de demostración de Riverside)."
"#;

impl RunningRelay {
    /// Starts the relay on `listen` (`127.0.0.1:0`: a free port, chosen
    /// here) with `http://localhost:PORT` as its public origin, which the
    /// relay requires of browser WebSockets and cookie-authenticated changes.
    pub fn start(bin: &Path, listen: &str, data_dir: &Path, static_dir: &Path) -> Result<Self> {
        Self::start_on(bin, listen, data_dir, static_dir, None)
    }

    /// Like [`RunningRelay::start`], with its database at `database_url`
    /// (PostgreSQL) instead of the SQLite file in `data_dir`.
    pub fn start_on(
        bin: &Path,
        listen: &str,
        data_dir: &Path,
        static_dir: &Path,
        database_url: Option<&str>,
    ) -> Result<Self> {
        Self::start_framed(bin, listen, data_dir, static_dir, database_url, &[])
    }

    /// Like [`RunningRelay::start_on`], letting the sites at
    /// `frame_ancestors` (origins) embed Ward.
    pub fn start_framed(
        bin: &Path,
        listen: &str,
        data_dir: &Path,
        static_dir: &Path,
        database_url: Option<&str>,
        frame_ancestors: &[&str],
    ) -> Result<Self> {
        let step = "start the relay";
        let listen = match listen.strip_suffix(":0") {
            Some(host) => {
                let port = std::net::TcpListener::bind(listen)
                    .and_then(|free| free.local_addr())
                    .map_err(|e| {
                        Failure::new(step, format!("could not find a free port on {host}: {e}"))
                    })?
                    .port();
                format!("{host}:{port}")
            }
            None => listen.to_owned(),
        };
        let public_origin = match listen.rsplit_once(':') {
            Some((_, port)) => format!("http://localhost:{port}"),
            None => "http://localhost:8080".to_owned(),
        };
        // The demo clinic's own texts in Spanish too, as a clinic with
        // Spanish-speaking patients gives them (dev and the end-to-end tests).
        let texts = data_dir.join("demo-clinic.toml");
        std::fs::create_dir_all(data_dir)
            .and_then(|()| std::fs::write(&texts, DEMO_CLINIC_TEXTS))
            .map_err(|e| Failure::new(step, format!("could not write {}: {e}", texts.display())))?;
        let mut command = Command::new(bin);
        if let Some(url) = database_url {
            command.env("WARD_DATABASE_URL", url);
        }
        if !frame_ancestors.is_empty() {
            command.env("WARD_FRAME_ANCESTORS", frame_ancestors.join(","));
        }
        let mut child = command
            .args(["serve", "--listen", &listen, "--public-origin", &public_origin, "--data"])
            .arg(data_dir)
            // Development mode: without SMTP, one-time codes go to
            // DATA/dev-outbox.log (dev and the end-to-end tests read them).
            .arg("--dev")
            .arg("--static")
            .arg(static_dir)
            // The demo clinic's hours (dev and the end-to-end tests).
            .args(["--office-hours", "Monday to Friday, 8 am to 5 pm"])
            .args([
                "--emergency-notice",
                "If this is an emergency, call 911. For a mental health crisis, call or text 988 (Riverside's demo notice).",
            ])
            .arg("--config")
            .arg(&texts)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::new(step, format!("could not start {}: {e}", bin.display())))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(Failure::new(step, "the relay's stdout was not captured"));
        };
        let mut reader = BufReader::new(stdout);
        let mut first_line = String::new();
        let read = reader.read_line(&mut first_line);
        // Keep draining so the relay never blocks on a full pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut reader.take(u64::MAX), &mut std::io::sink());
        });
        let port = match read {
            Ok(_) => first_line
                .trim()
                .strip_prefix("ward-relay listening on http://")
                .and_then(|addr| addr.rsplit_once(':'))
                .map(|(_, port)| port)
                .and_then(|port| port.parse::<u16>().ok()),
            Err(_) => None,
        };
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure::new(
                step,
                format!(
                    "the relay did not report its address (it said {:?}); its error is above",
                    first_line.trim()
                ),
            ));
        };
        Ok(Self {
            child,
            url: format!("http://localhost:{port}"),
        })
    }

    /// The relay's process id (the capacity benchmark reads its RSS and
    /// CPU time in `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the relay exits (Ctrl-C reaches it directly).
    pub fn wait(mut self) {
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the graceful shutdown (bounded).
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
