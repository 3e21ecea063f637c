//! `cargo xtask bench`: the crypto core on the host (criterion) and in
//! Chromium (release wasm), and the client's size. Prints numbers to copy
//! into docs/benchmarks.md; asserts nothing about speed.

use crate::failure::{Failure, Result};
use crate::{paths, relay, run, setup, test};

pub fn run(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        None => {}
        Some("relay") => return crate::relay_bench::run(&args[1..]),
        Some(other) => {
            return Err(
                Failure::new("bench", format!("unknown benchmark `{other}`")).fix(
                    "`cargo xtask bench` (everything but the relay) or `cargo xtask bench relay`",
                ),
            );
        }
    }
    setup::run()?;
    println!("\n── host: criterion (cargo bench -p ward-seal) ──");
    run::status(
        "bench: host",
        &mut run::cargo(&["bench", "--locked", "-p", "ward-seal", "--bench", "seal"]),
    )?;

    println!("\n── browser: release wasm in headless Chromium ──");
    let mut lines = Vec::new();
    browser_bench("bench: browser", "ward-seal", "browser_bench", &mut lines)?;

    println!("\n── browser: the client rendering a 10 000-message thread ──");
    browser_bench("bench: render", "ward", "render_bench", &mut lines)?;

    println!("\n── client size ──");
    relay::build_client()?;
    let (file, raw, gzip) = test::wasm_sizes(&crate::paths::dist())?;
    println!("{}: {raw} bytes raw, {gzip} bytes gzip -9", file.display());

    println!("\n── browser: a 10 000-message thread and a 100 MB attachment, real relay ──");
    playwright_benches(&mut lines)?;

    println!("\n── browser summary ──");
    for line in &lines {
        println!("  {line}");
    }
    Ok(())
}

/// Runs one `browser-bench` test of `package` as release wasm in Chromium,
/// collecting its `BENCH ` lines.
fn browser_bench(step: &str, package: &str, test: &str, lines: &mut Vec<String>) -> Result {
    let mut browser = run::cargo(&[
        "test",
        "--locked",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        package,
        "--features",
        "browser-bench",
        "--test",
        test,
        "--",
        "--nocapture",
    ]);
    browser.env("CHROMEDRIVER", setup::CHROMEDRIVER);
    let ok = run::stream(step, &mut browser, |line| {
        if let Some(at) = line.find("BENCH ") {
            lines.push(line[at + "BENCH ".len()..].to_owned());
        }
    })?;
    if ok {
        Ok(())
    } else {
        Err(Failure::new(step, "the benchmark failed (see above)"))
    }
}

/// Runs the Playwright benchmarks (`tests/e2e/bench`) against a real relay,
/// collecting their `BENCH ` lines.
fn playwright_benches(lines: &mut Vec<String>) -> Result {
    let step = "bench: Playwright (long thread, 100 MB attachment)";
    // Release: the clinic agent seeds 10 000 messages through the relay.
    let bin = relay::build_relay_release()?;
    let agent = relay::build_clinic_release()?;
    let data = test::tempdir()?;
    let running = relay::RunningRelay::start(&bin, "127.0.0.1:0", &data, &paths::dist())?;
    let mut playwright = run::command("npx");
    playwright
        .args(["--no-install", "playwright", "test"])
        .current_dir(paths::root().join("tests/e2e"))
        .env("WARD_BENCH", "1")
        .env("WARD_URL", &running.url)
        .env("WARD_DATA_DIR", &data)
        .env("WARD_RELAY_BIN", &bin)
        .env("WARD_CLINIC_BIN", &agent)
        .env("CHROMIUM", setup::CHROMIUM);
    let ok = run::stream(step, &mut playwright, |line| {
        if let Some(at) = line.find("BENCH ") {
            lines.push(line[at + "BENCH ".len()..].to_owned());
        }
    });
    running.stop();
    let _ = std::fs::remove_dir_all(&data);
    if ok? {
        Ok(())
    } else {
        Err(Failure::new(step, "the benchmark failed (see above)"))
    }
}
