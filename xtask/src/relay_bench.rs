//! `cargo xtask bench relay`: the relay's capacity, on SQLite and then on
//! a throwaway PostgreSQL server. Release builds of the relay and of the
//! load generator (`crates/loadgen`), loopback only, bounded sizes. The
//! load generator enrolls its accounts through the relay's API and prints
//! `BENCH name value unit` lines, collected here into a summary; its CSV
//! samples and PNG graphs go to `docs/benchmarks/relay/`. Asserts nothing
//! about speed.

use std::path::{Path, PathBuf};

use crate::failure::{Failure, Result};
use crate::postgres::Server;
use crate::{paths, relay, run};

const USAGE: &str = "\
usage: cargo xtask bench relay [--sockets N] [--rate R] [--seconds S]
                               [--max-messages M] [--parts P] [--only sqlite|postgres]

  --sockets N       idle authenticated WebSockets held (default: the most the
                    relay's connection cap allows, which is 90% of `ulimit -n`
                    less 64, rounded down to a thousand, at most 20000:
                    17000 with `ulimit -n` 20000)
  --rate R          messages per second offered in the fixed-rate run (default 1000)
  --seconds S       length of the fixed-rate run (default 10)
  --max-messages M  messages posted as fast as the relay takes them (default 10000)
  --parts P         1 MiB attachment parts uploaded (default 128)
  --only BACKEND    one database instead of both
";

#[derive(Debug)]
struct Options {
    /// None: the most that fits under the open-file limit.
    sockets: Option<usize>,
    rate: u32,
    seconds: u64,
    max_messages: usize,
    parts: usize,
    backends: Vec<&'static str>,
}

fn parse(args: &[String]) -> std::result::Result<Option<Options>, String> {
    let mut options = Options {
        sockets: None,
        rate: 1000,
        seconds: 10,
        max_messages: 10_000,
        parts: 128,
        backends: vec!["sqlite", "postgres"],
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if matches!(flag.as_str(), "-h" | "--help" | "help") {
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} takes a number, not {value:?}"))
        };
        match flag.as_str() {
            "--sockets" => {
                options.sockets = Some(usize::try_from(number()?).map_err(|e| e.to_string())?)
            }
            "--rate" => options.rate = u32::try_from(number()?).map_err(|e| e.to_string())?,
            "--seconds" => options.seconds = number()?,
            "--max-messages" => {
                options.max_messages = usize::try_from(number()?).map_err(|e| e.to_string())?;
            }
            "--parts" => options.parts = usize::try_from(number()?).map_err(|e| e.to_string())?,
            "--only" => {
                options.backends = match value.as_str() {
                    "sqlite" => vec!["sqlite"],
                    "postgres" => vec!["postgres"],
                    _ => return Err(format!("--only takes sqlite or postgres, not {value:?}")),
                };
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(Some(options))
}

/// This process's soft open-file limit (`ulimit -n`); the relay and the
/// load generator inherit it, each for itself.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

pub fn run(args: &[String]) -> Result {
    let step = "bench: relay";
    let options = match parse(args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return Ok(());
        }
        Err(error) => return Err(Failure::new(step, error).fix(USAGE.trim_end())),
    };
    let limit = open_file_limit().unwrap_or(1024);
    // The relay's default connection cap (config::max_connections_for_open_files),
    // less a few for the load generator's own clinic socket and HTTP calls.
    let relay_cap = limit.saturating_sub(limit / 10).saturating_sub(64);
    let most = usize::try_from(relay_cap.saturating_sub(64)).unwrap_or(usize::MAX);
    let sockets = match options.sockets {
        Some(asked) if asked > most => {
            return Err(Failure::new(
                step,
                format!(
                    "--sockets {asked} does not fit: with `ulimit -n` {limit} the relay serves at most {relay_cap} connections"
                ),
            )
            .fix(format!("ask for at most {most} sockets, or raise `ulimit -n`")));
        }
        Some(asked) => asked,
        None => (most / 1000 * 1000).clamp(1000.min(most), 20_000),
    };
    println!("sockets: {sockets} (`ulimit -n` {limit}; the relay's cap {relay_cap})");

    println!("\n── relay capacity: release builds ──");
    let relay_bin = relay::build_relay_release()?;
    let loadgen = relay::build_loadgen_release()?;
    let out = paths::root().join("docs/benchmarks/relay");
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::new(step, format!("{}: {e}", out.display())))?;

    let mut lines = machine(limit);
    for backend in &options.backends {
        println!("\n── relay capacity: {backend} ──");
        let result = one_backend(
            &relay_bin, &loadgen, backend, sockets, &options, &out, &mut lines,
        );
        result?;
    }
    println!("\n── relay capacity summary ──");
    for line in &lines {
        println!("  {line}");
    }
    println!("graphs and samples: {}", out.display());
    Ok(())
}

/// The machine, for the record next to the numbers.
fn machine(limit: u64) -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|m| m.trim().to_owned()))
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let line = format!(
        "MACHINE {cores} cores ({model}), {memory} memory, ulimit -n {limit}, load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("{line}");
    vec![line]
}

fn one_backend(
    relay_bin: &Path,
    loadgen: &Path,
    backend: &str,
    sockets: usize,
    options: &Options,
    out: &Path,
    lines: &mut Vec<String>,
) -> Result {
    let step = format!("bench: relay on {backend}");
    let dir =
        std::env::temp_dir().join(format!("ward-bench-relay-{}-{backend}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (data, static_dir): (PathBuf, PathBuf) = (dir.join("data"), dir.join("static"));
    for d in [&data, &static_dir] {
        std::fs::create_dir_all(d)
            .map_err(|e| Failure::new(&step, format!("{}: {e}", d.display())))?;
    }
    // The relay serves a web client; the benchmark needs none, only a page.
    std::fs::write(
        static_dir.join("index.html"),
        "<!doctype html><title>Ward</title>\n",
    )
    .map_err(|e| Failure::new(&step, format!("{}: {e}", static_dir.display())))?;
    let postgres = if backend == "postgres" {
        Some(crate::postgres::start("bench")?)
    } else {
        None
    };
    let url = postgres.as_ref().map(Server::url);
    let running = relay::RunningRelay::start_on(
        relay_bin,
        "127.0.0.1:0",
        &data,
        &static_dir,
        url.as_deref(),
    )?;
    let mut command = run::command(&loadgen.to_string_lossy());
    command
        .arg("--relay")
        .arg(&running.url)
        .arg("--data")
        .arg(&data)
        .args(["--relay-pid", &running.pid().to_string()])
        .args(["--label", backend])
        .args(["--sockets", &sockets.to_string()])
        .args(["--rate", &options.rate.to_string()])
        .args(["--seconds", &options.seconds.to_string()])
        .args(["--max-messages", &options.max_messages.to_string()])
        .args(["--parts", &options.parts.to_string()])
        .arg("--out")
        .arg(out);
    let ok = run::stream(&step, &mut command, |line| {
        if line.starts_with("BENCH ") || line.starts_with("GRAPH ") {
            lines.push(line.to_owned());
        }
    });
    running.stop();
    drop(postgres);
    let _ = std::fs::remove_dir_all(&dir);
    if ok? {
        Ok(())
    } else {
        Err(Failure::new(step, "the load generator failed (see above)"))
    }
}
