//! A throwaway PostgreSQL server for the relay's tests and for
//! `cargo xtask dev --postgres`: Debian's binaries (installed by
//! `cargo xtask setup` when missing), a fresh data directory, a free
//! loopback port, run as an unprivileged user (PostgreSQL refuses root),
//! stopped and deleted when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::failure::{Failure, Result};
use crate::run;
use crate::setup::is_root;

/// Where Debian puts each major version's server binaries.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";
/// The user the server runs as when xtask runs as root (Debian's package
/// creates it).
const SERVER_USER: &str = "postgres";

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

/// A running server.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Postgres {
    /// Starts a new server in a new directory under the system's temp
    /// directory. `purpose` names the directory (`tests`, `dev`).
    pub fn start(purpose: &str) -> Result<Self> {
        let step = "start PostgreSQL";
        let bin = bin_dir().ok_or_else(|| {
            Failure::new(step, format!("no server under {DEBIAN_ROOT}"))
                .fix("run `cargo xtask setup` (it installs Debian's postgresql package)")
        })?;
        let dir =
            std::env::temp_dir().join(format!("ward-postgres-{purpose}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::new(step, format!("{}: {e}", dir.display())))?;
        let server = Self {
            bin,
            dir,
            port: free_port().map_err(|e| Failure::new(step, e))?,
        };
        if is_root() {
            run::status(
                step,
                Command::new("chown").arg(SERVER_USER).arg(&server.dir),
            )
            .map_err(|f| f.fix("Debian's postgresql package creates the `postgres` user"))?;
        }
        let data = server.dir.join("data");
        run::status(
            "initialize PostgreSQL",
            server
                .as_server_user(&server.bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                // Local, throwaway: no password; `ward` owns everything.
                .args(["-A", "trust", "-U", "ward", "-E", "UTF8", "--locale=C"])
                .arg("--no-sync")
                .stdout(Stdio::null()),
        )?;
        let log = server.dir.join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            server.port,
            server.dir.display()
        );
        run::status(
            step,
            server
                .as_server_user(&server.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-o")
                .arg(&options)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "start"])
                .stdout(Stdio::null()),
        )
        .map_err(|f| f.fix(format!("its log is {}", log.display())))?;
        server.wait_ready()?;
        Ok(server)
    }

    /// `postgres://ward@127.0.0.1:PORT/postgres`: the server's default
    /// database, as its superuser `ward`.
    pub fn url(&self) -> String {
        format!("postgres://ward@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn wait_ready(&self) -> Result {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Failure::new(
                    "start PostgreSQL",
                    format!("not ready after 30 s; see {}", self.log().display()),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `program`, run as the server's user when xtask is root.
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

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> std::result::Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}
