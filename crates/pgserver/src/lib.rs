//! A throwaway PostgreSQL server, for development and tests only.
//!
//! Debian's server binaries (the newest under `/usr/lib/postgresql/N/bin`;
//! `cargo xtask setup` installs the `postgresql` package when there are
//! none), a fresh data directory under the system's temp directory, a free
//! loopback port, run as the unprivileged `postgres` user when the caller
//! is root (PostgreSQL refuses to run as root), stopped and deleted when
//! dropped.
//!
//! `cargo xtask test` starts one for its PostgreSQL pass over the relay's
//! tests, `cargo xtask dev --postgres` and `cargo xtask bench relay` one
//! each. The relay's fault tests start their own, so that they can
//! [`Server::stop`] it and [`Server::start_again`] under load without
//! disturbing the server every other test shares.
//!
//! Never part of the product: the server trusts every local connection,
//! and durability is off (`fsync=off`) for speed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian puts each major version's server binaries.
pub const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The user the server runs as when the caller is root (Debian's package
/// creates it).
pub const SERVER_USER: &str = "postgres";

/// How long a start waits for the server to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The newest installed server's binary directory
/// (`/usr/lib/postgresql/N/bin`), if any.
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_ROOT)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A step that failed: which, why, and what to do about it.
#[derive(Debug)]
pub struct Error {
    step: String,
    detail: String,
    fix: Option<String>,
}

impl Error {
    fn new(step: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            step: step.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The step that failed ("start PostgreSQL").
    pub fn step(&self) -> &str {
        &self.step
    }

    /// Why it failed.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// What the person running it should do next, when known.
    pub fn fix(&self) -> Option<&str> {
        self.fix.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.step, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// A server this process started (running, or stopped by
/// [`Server::stop`]); dropping it stops the server at once and deletes its
/// directory.
#[derive(Debug)]
pub struct Server {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Server {
    /// Initializes a new server in a new directory under the system's temp
    /// directory and starts it on a free loopback port. `purpose` names the
    /// directory (`tests`, `dev`) with this process's id: one server per
    /// purpose per process.
    pub fn start(purpose: &str) -> Result<Self, Error> {
        let step = "start PostgreSQL";
        let bin = bin_dir().ok_or_else(|| {
            Error::new(step, format!("no server under {DEBIAN_ROOT}"))
                .with_fix("run `cargo xtask setup` (it installs Debian's postgresql package)")
        })?;
        let dir =
            std::env::temp_dir().join(format!("ward-postgres-{purpose}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::new(step, format!("{}: {e}", dir.display())))?;
        // From here, dropping `server` cleans up whatever was made.
        let server = Self {
            bin,
            dir,
            port: free_port().map_err(|e| Error::new(step, e))?,
        };
        if is_root() {
            run(
                step,
                Command::new("chown").arg(SERVER_USER).arg(&server.dir),
            )
            .map_err(|e| e.with_fix("Debian's postgresql package creates the `postgres` user"))?;
        }
        run(
            "initialize PostgreSQL",
            server
                .as_server_user(&server.bin.join("initdb"))
                .arg("-D")
                .arg(server.data())
                // Local, throwaway: no password; `ward` owns everything.
                .args(["-A", "trust", "-U", "ward", "-E", "UTF8", "--locale=C"])
                .arg("--no-sync")
                .stdout(Stdio::null()),
        )?;
        server.launch(step)?;
        Ok(server)
    }

    /// `postgres://ward@127.0.0.1:PORT/postgres`: the server's default
    /// database, as its superuser `ward`.
    pub fn url(&self) -> String {
        format!("postgres://ward@127.0.0.1:{}/postgres", self.port)
    }

    /// The loopback port it listens on (the same across
    /// [`Server::start_again`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Stops the server as an administrator restarting it would
    /// (`pg_ctl stop -m fast`): open transactions roll back, every
    /// connection is closed, and the call returns once the server is down.
    /// The data stays, for [`Server::start_again`].
    pub fn stop(&self) -> Result<(), Error> {
        run(
            "stop PostgreSQL",
            self.as_server_user(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .args(["-m", "fast", "-w", "-t", "60", "stop"])
                .stdout(Stdio::null()),
        )
        .map_err(|e| e.with_fix(format!("its log is {}", self.log().display())))
    }

    /// Starts a server [`Server::stop`] stopped, on the same data and the
    /// same port; returns once it accepts connections.
    pub fn start_again(&self) -> Result<(), Error> {
        self.launch("start PostgreSQL again")
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `pg_ctl start` on this server's data, port and socket directory,
    /// then waits until it answers.
    fn launch(&self, step: &str) -> Result<(), Error> {
        let log = self.log();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        run(
            step,
            self.as_server_user(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .arg("-o")
                .arg(&options)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "start"])
                .stdout(Stdio::null()),
        )
        .map_err(|e| e.with_fix(format!("its log is {}", log.display())))?;
        self.wait_ready(step)
    }

    fn wait_ready(&self, step: &str) -> Result<(), Error> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::new(
                    step,
                    format!(
                        "not ready after {} s; see {}",
                        READY_WITHIN.as_secs(),
                        self.log().display()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `program`, run as the server's user when the caller is root.
    fn as_server_user(&self, program: &Path) -> Command {
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", SERVER_USER, "--"]).arg(program);
            command.current_dir(&self.dir);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Whether this process runs as root (`id -u` is 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Runs `command` to completion (stdin closed, stderr attached); a failure
/// to start it or a non-zero exit is a failure of `step`.
fn run(step: &str, command: &mut Command) -> Result<(), Error> {
    let status = command.stdin(Stdio::null()).status().map_err(|error| {
        Error::new(
            step,
            format!("could not start {}: {error}", describe(command)),
        )
        .with_fix("run `cargo xtask setup`, which installs the tools Ward needs")
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(
            step,
            format!("{} exited with {status}", describe(command)),
        ))
    }
}

fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned()),
    );
    format!("`{}`", words.join(" "))
}

#[cfg(test)]
mod tests {
    /// An error reads as xtask's do: the step, why, and the fix.
    #[test]
    fn an_error_names_its_step_and_fix() {
        let error = super::Error::new("start PostgreSQL", "no server").with_fix("install it");
        assert_eq!(
            error.to_string(),
            "start PostgreSQL failed: no server\n  fix: install it"
        );
        assert_eq!(error.step(), "start PostgreSQL");
        assert_eq!(error.fix(), Some("install it"));
    }
}
