//! `cargo xtask test`: lints, host tests, browser tests, the client's size
//! budget and end-to-end tests, then one summary line.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::failure::{Failure, Result};
use crate::relay::{self, RunningRelay};
use crate::run;
use crate::{paths, setup};

/// The client's compressed wasm must stay under this for a patient on a weak
/// connection (docs/benchmarks.md has the measured sizes).
const WASM_GZIP_BUDGET: u64 = 600 * 1024;

const PARTS: [&str; 4] = ["lint", "host", "wasm", "e2e"];

pub fn run(args: &[String]) -> Result {
    // `e2e specs/x.spec.js …`: the named spec files only (Playwright's own
    // filter), for a quick rerun of one failing test.
    let (args, specs): (Vec<String>, Vec<String>) =
        args.iter().cloned().partition(|a| !a.ends_with(".spec.js"));
    let args = args.as_slice();
    for arg in args {
        if !PARTS.contains(&arg.as_str()) {
            return Err(Failure::new("test", format!("unknown part `{arg}`"))
                .fix(format!("name some of: {}", PARTS.join(", "))));
        }
    }
    let wants = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    setup::run()?;

    let mut report = Report::default();
    if wants("lint") {
        report.check(
            "cargo fmt --check",
            &mut run::cargo(&["fmt", "--all", "--check"]),
        );
        report.check(
            "clippy, host",
            &mut run::cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]),
        );
        report.check(
            "clippy, wasm32",
            &mut run::cargo(&[
                "clippy",
                "--locked",
                "--target",
                "wasm32-unknown-unknown",
                "--all-targets",
                "-p",
                "ward",
                "-p",
                "ward-seal",
                "-p",
                "ward-proto",
                "--",
                "-D",
                "warnings",
            ]),
        );
        // The relay never decrypts, by construction: it builds against
        // ward-seal without `open` (clippy'd on its own, because built with
        // the rest of the workspace it gets the clinic's features), and
        // nothing in its dependency tree turns `open` back on.
        report.check(
            "clippy, relay without ward-seal's `open`",
            &mut run::cargo(&[
                "clippy",
                "--locked",
                "-p",
                "ward-relay",
                "-p",
                "ward-seal",
                "--no-default-features",
                "--lib",
                "--bins",
                "--",
                "-D",
                "warnings",
            ]),
        );
        report.relay_cannot_decrypt();
    }
    if wants("host") {
        // Every test binary runs even after one fails, so one red test
        // does not hide the rest.
        let mut host = run::cargo(&["test", "--workspace", "--locked", "--no-fail-fast"]);
        // The relay's blob store test runs against moto's S3 server, and
        // fails without it.
        host.env("WARD_MOTO_SERVER", setup::moto_server());
        report.tests("host tests", Runner::Cargo, &mut host);
        // The relay's (and the clinic agent's) tests again, each relay on a
        // fresh schema of a real PostgreSQL server instead of its SQLite
        // file.
        match crate::postgres::start("tests") {
            Ok(server) => {
                let mut on_postgres = run::cargo(&[
                    "test",
                    "--locked",
                    "--no-fail-fast",
                    "-p",
                    "ward-relay",
                    "-p",
                    "ward-clinic",
                ]);
                on_postgres
                    .env("WARD_MOTO_SERVER", setup::moto_server())
                    .env("WARD_TEST_POSTGRES", server.url());
                report.tests("relay tests on PostgreSQL", Runner::Cargo, &mut on_postgres);
                drop(server);
            }
            Err(failure) => {
                eprintln!("{failure}");
                report.record("relay tests on PostgreSQL", Duration::ZERO, false);
            }
        }
    }
    if wants("wasm") {
        let mut browser = run::cargo(&[
            "test",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "ward",
            "-p",
            "ward-seal",
        ]);
        browser.env("CHROMEDRIVER", setup::CHROMEDRIVER);
        report.tests(
            "browser tests (wasm-bindgen-test, Chromium)",
            Runner::Cargo,
            &mut browser,
        );
    }
    if wants("e2e") {
        end_to_end(&mut report, &specs);
    }
    report.print();
    if report.failed > 0 {
        return Err(Failure::new(
            "test",
            format!("{} failed (see above)", report.failed),
        ));
    }
    Ok(())
}

fn end_to_end(report: &mut Report, specs: &[String]) {
    let started = Instant::now();
    let built = relay::build_client()
        .and_then(|()| relay::build_relay())
        .and_then(|bin| Ok((bin, relay::build_clinic()?)));
    let (bin, agent) = match built {
        Ok(bins) => {
            report.record(
                "build client, relay and clinic agent",
                started.elapsed(),
                true,
            );
            bins
        }
        Err(failure) => {
            eprintln!("{failure}");
            report.record(
                "build client, relay and clinic agent",
                started.elapsed(),
                false,
            );
            return;
        }
    };
    report.size_budget();

    let data = match tempdir() {
        Ok(dir) => dir,
        Err(failure) => {
            eprintln!("{failure}");
            report.record("end-to-end tests", Duration::ZERO, false);
            return;
        }
    };
    // The example clinic site, another site that may embed Ward.
    let site = match crate::clinic_site::ClinicSite::start("127.0.0.1:0") {
        Ok(site) => site,
        Err(failure) => {
            eprintln!("{failure}");
            report.record("end-to-end tests", Duration::ZERO, false);
            return;
        }
    };
    let running = RunningRelay::start_framed(
        &bin,
        "127.0.0.1:0",
        &data,
        &paths::dist(),
        None,
        &[&site.origin],
    );
    match running {
        Ok(relay) => {
            site.set_ward_origin(&relay.url);
            let mut playwright = run::command("npx");
            playwright
                .args(["--no-install", "playwright", "test"])
                .args(specs)
                .current_dir(paths::root().join("tests/e2e"))
                .env("WARD_URL", &relay.url)
                .env("WARD_DATA_DIR", &data)
                .env("WARD_RELAY_BIN", &bin)
                .env("WARD_CLINIC_BIN", &agent)
                .env("WARD_CLINIC_SITE", &site.origin)
                .env("CHROMIUM", setup::CHROMIUM);
            report.tests(
                "end-to-end tests (Playwright, Chromium)",
                Runner::Playwright,
                &mut playwright,
            );
            relay.stop();
        }
        Err(failure) => {
            eprintln!("{failure}");
            report.record("end-to-end tests", Duration::ZERO, false);
        }
    }
    let _ = std::fs::remove_dir_all(&data);
}

/// A fresh directory for one run's relay data.
pub fn tempdir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ward-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| {
        Failure::new(
            "end-to-end: data directory",
            format!("{}: {e}", dir.display()),
        )
    })?;
    Ok(dir)
}

#[derive(Clone, Copy)]
enum Runner {
    Cargo,
    Playwright,
}

#[derive(Default)]
struct Report {
    passed: u64,
    failed: u64,
    skipped: u64,
    steps: Vec<(String, Duration, bool)>,
}

impl Report {
    fn record(&mut self, name: &str, took: Duration, ok: bool) {
        self.steps.push((name.to_owned(), took, ok));
    }

    /// A check that is not a test runner counts as one test.
    fn check(&mut self, name: &str, command: &mut Command) {
        section(name);
        let started = Instant::now();
        let ok = run::status(name, command)
            .map_err(|f| eprintln!("{f}"))
            .is_ok();
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        self.record(name, started.elapsed(), ok);
    }

    fn tests(&mut self, name: &str, runner: Runner, command: &mut Command) {
        section(name);
        let started = Instant::now();
        let mut counts = Counts::default();
        let exited_ok = run::stream(name, command, |line| counts.read(runner, line))
            .map_err(|f| eprintln!("{f}"))
            .unwrap_or(false);
        // A runner that failed before reporting (a compile error, a browser
        // that would not start) must not pass as "0 failed".
        if !exited_ok && counts.failed == 0 {
            counts.failed = 1;
        }
        if exited_ok && counts.passed == 0 {
            eprintln!("xtask: {name} ran no test");
            counts.failed += 1;
        }
        self.passed += counts.passed;
        self.failed += counts.failed;
        self.skipped += counts.skipped;
        self.record(name, started.elapsed(), counts.failed == 0);
    }

    /// The relay's dependency tree (without dev-dependencies) must hold
    /// ward-seal, and never with its `open` feature.
    fn relay_cannot_decrypt(&mut self) {
        let name = "the relay links no ward-seal `open`";
        section(name);
        let started = Instant::now();
        let output = run::cargo(&[
            "tree",
            "--locked",
            "-p",
            "ward-relay",
            "-e",
            "normal,build,features",
            "--prefix",
            "none",
        ])
        .stdin(std::process::Stdio::null())
        .output();
        let checked = match output {
            Ok(output) if output.status.success() => {
                seal_without_open(&String::from_utf8_lossy(&output.stdout))
            }
            Ok(output) => Err(format!(
                "cargo tree failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(error) => Err(format!("could not run cargo tree: {error}")),
        };
        let ok = match checked {
            Ok(()) => {
                println!("ward-relay depends on ward-seal without `open`");
                true
            }
            Err(why) => {
                eprintln!(
                    "{}",
                    Failure::new(name, why).fix(
                        "depend on ward-seal with `default-features = false` from the relay, and not on ward-clinic; `cargo tree -p ward-relay -e features -i ward-seal` shows who enables it"
                    )
                );
                false
            }
        };
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        self.record(name, started.elapsed(), ok);
    }

    fn size_budget(&mut self) {
        let name = "size budget: client wasm (gzip)";
        section(name);
        let ok = match wasm_sizes(&paths::dist()) {
            Ok((file, raw, gzip)) => {
                println!(
                    "{}: {raw} bytes raw, {gzip} bytes gzip -9 (budget {WASM_GZIP_BUDGET})",
                    file.display()
                );
                gzip <= WASM_GZIP_BUDGET
            }
            Err(failure) => {
                eprintln!("{failure}");
                false
            }
        };
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        self.record(name, Duration::ZERO, ok);
    }

    fn print(&self) {
        section("summary");
        for (name, took, ok) in &self.steps {
            let mark = if *ok { "ok    " } else { "FAILED" };
            println!("  {mark}  {:>7.1}s  {name}", took.as_secs_f64());
        }
        println!(
            "summary: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        );
    }
}

#[derive(Default)]
struct Counts {
    passed: u64,
    failed: u64,
    skipped: u64,
}

impl Counts {
    fn read(&mut self, runner: Runner, line: &str) {
        match runner {
            // `test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; ...`
            Runner::Cargo => {
                if let Some(rest) = line.trim().strip_prefix("test result: ") {
                    for part in rest.split(';') {
                        let words: Vec<&str> = part.split_whitespace().collect();
                        let (count, label) = match words.as_slice() {
                            [.., count, label] => (count.parse::<u64>().unwrap_or(0), *label),
                            _ => continue,
                        };
                        match label {
                            "passed" => self.passed += count,
                            "failed" => self.failed += count,
                            "ignored" => self.skipped += count,
                            _ => {}
                        }
                    }
                }
            }
            // `  4 passed (3.2s)`, `  1 failed`, `  1 skipped`, `  1 flaky`
            Runner::Playwright => {
                let words: Vec<&str> = line.split_whitespace().collect();
                if let [count, label, ..] = words.as_slice()
                    && let Ok(count) = count.parse::<u64>()
                {
                    match *label {
                        "passed" => self.passed += count,
                        "failed" | "flaky" | "interrupted" => self.failed += count,
                        "skipped" | "did" => self.skipped += count,
                        _ => {}
                    }
                }
            }
        }
    }
}

/// The built wasm's path, raw size and `gzip -9` size.
pub fn wasm_sizes(dist: &Path) -> Result<(std::path::PathBuf, u64, u64)> {
    let step = "size budget";
    let wasm = std::fs::read_dir(dist)
        .map_err(|e| Failure::new(step, format!("{}: {e}", dist.display())))?
        .filter_map(std::result::Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().ends_with("_bg.wasm"))
        .ok_or_else(|| {
            Failure::new(step, "no *_bg.wasm in dist/").fix("run `trunk build --release`")
        })?;
    let raw = std::fs::metadata(&wasm)
        .map_err(|e| Failure::new(step, format!("{}: {e}", wasm.display())))?
        .len();
    let gzip = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(&wasm)
        .output()
        .map_err(|e| Failure::new(step, format!("could not run gzip: {e}")))?
        .stdout
        .len() as u64;
    Ok((wasm, raw, gzip))
}

fn section(name: &str) {
    println!("\n── {name} ──");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(runner: Runner, output: &str) -> (u64, u64, u64) {
        let mut counts = Counts::default();
        for line in output.lines() {
            counts.read(runner, line);
        }
        (counts.passed, counts.failed, counts.skipped)
    }

    #[test]
    fn sums_every_cargo_test_binary() {
        let output = "\
test a ... ok
test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s
test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.1s
test result: ok. 2 passed; 0 failed; 0 ignored; 0 filtered out; finished in 0.08s";
        assert_eq!(count(Runner::Cargo, output), (10, 2, 1));
    }

    #[test]
    fn reads_playwrights_closing_lines_only() {
        let output = "\
Running 4 tests using 1 worker
  ✓  1 specs/shell.spec.js:6:1 › loads (521ms)
  ✘  2 specs/shell.spec.js:9:1 › fails (1.2s)
  1 failed
  1 flaky
  2 skipped
  3 passed (2.9s)";
        assert_eq!(count(Runner::Playwright, output), (3, 2, 2));
    }

    #[test]
    fn a_runner_line_from_the_other_tool_is_ignored() {
        assert_eq!(count(Runner::Cargo, "  3 passed (2.9s)"), (0, 0, 0));
        assert_eq!(
            count(Runner::Playwright, "test result: ok. 5 passed; 0 failed"),
            (0, 0, 0)
        );
    }
}

/// Checks `cargo tree -e features --prefix none` output: ward-seal is there,
/// its `open` feature is not.
fn seal_without_open(tree: &str) -> std::result::Result<(), String> {
    let lines: Vec<&str> = tree.lines().map(str::trim).collect();
    if !lines.iter().any(|line| line.starts_with("ward-seal v")) {
        return Err(
            "ward-seal is not in the relay's dependency tree: is the check out of date?".into(),
        );
    }
    if lines
        .iter()
        .any(|line| line.starts_with("ward-seal feature \"open\""))
    {
        return Err(
            "ward-seal's `open` feature (decryption, secret keys) is enabled for the relay".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod relay_tree_tests {
    use super::seal_without_open;

    #[test]
    fn the_relay_tree_check_finds_seal_and_refuses_open() {
        let clean = "ward-relay v0.1.0 (/w/crates/relay)\nward-seal v0.1.0 (/w/crates/seal)\nsha2 feature \"default\"\n";
        assert_eq!(seal_without_open(clean), Ok(()));
        let open = format!("{clean}ward-seal feature \"default\"\nward-seal feature \"open\"\n");
        assert!(seal_without_open(&open).is_err());
        assert!(seal_without_open("ward-relay v0.1.0 (/w/crates/relay)\n").is_err());
    }
}
