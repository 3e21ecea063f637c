//! `cargo xtask`: the one place with build plumbing.
//!
//! * `setup`: install the pinned tools that are missing (idempotent, quiet).
//! * `dev`: build the client and run the relay serving it on port 8080
//!   (`--postgres`: on a throwaway PostgreSQL server instead of SQLite).
//! * `test`: every check and test, with one summary line at the end.
//! * `bench`: crypto throughput on the host and in Chromium, client size;
//!   `bench relay`: the relay's capacity (sockets, messages, parts) on
//!   SQLite and PostgreSQL.
//! * `precache`: Trunk's post-build hook; writes the service worker's list
//!   of shell files into the build.
#![forbid(unsafe_code)]

mod bench;
mod clinic_site;
mod dev;
mod failure;
mod paths;
mod postgres;
mod precache;
mod relay;
mod relay_bench;
mod run;
mod setup;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

  setup          install the pinned tools Ward needs (safe to repeat)
  dev            build the client and serve it with the relay on http://localhost:8080
  test [PART..]  run every check and test; PART narrows it to some of:
                 lint, host, wasm, e2e
  bench          measure the crypto core (host and Chromium) and the client's size
  bench relay    measure the relay's capacity on SQLite and PostgreSQL
                 (options: cargo xtask bench relay --help)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("setup") => setup::run(),
        Some("dev") => dev::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("precache") => precache::run(),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprint!(
                "xtask: unknown command {}\n\n{USAGE}",
                other.map_or_else(|| "(none)".to_owned(), |c| format!("`{c}`"))
            );
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("\n{failure}");
            ExitCode::FAILURE
        }
    }
}
