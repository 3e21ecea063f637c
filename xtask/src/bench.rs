//! `cargo xtask bench`: the crypto core on the host (criterion) and in
//! Chromium (release wasm), and the client's size. Prints numbers to copy
//! into docs/benchmarks.md; asserts nothing about speed.

use crate::failure::{Failure, Result};
use crate::{relay, run, setup, test};

pub fn run() -> Result {
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
