//! `cargo xtask dev`: build everything, run the relay with a demo clinic
//! whose bot answers, and say how to try it.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::clinic_site::ClinicSite;
use crate::failure::{Failure, Result};
use crate::relay::RunningRelay;
use crate::{paths, relay, setup};

const LISTEN: &str = "127.0.0.1:8080";
/// The example clinic website, a different site from Ward's.
const CLINIC_SITE: &str = "127.0.0.1:8081";
/// Development only: protects the demo clinic's key file in ./data.
const DEMO_PASSPHRASE: &str = "ward-development-demo-clinic";

pub fn run(args: &[String]) -> Result {
    let on_postgres = match args {
        [] => false,
        [flag] if flag == "--postgres" => true,
        _ => {
            return Err(Failure::new("dev", format!("unknown arguments {args:?}"))
                .fix("run `cargo xtask dev`, or `cargo xtask dev --postgres`"));
        }
    };
    setup::run()?;
    relay::build_client()?;
    let bin = relay::build_relay()?;
    let agent = relay::build_clinic()?;
    // On PostgreSQL, a throwaway server and a data directory of its own
    // (the clinic key file there belongs to that database).
    let postgres = on_postgres
        .then(|| crate::postgres::start("dev"))
        .transpose()?;
    let data = paths::root().join(if on_postgres { "data-postgres" } else { "data" });
    if on_postgres {
        let _ = std::fs::remove_dir_all(&data);
    }
    // Another site (another host) that embeds Ward.
    let site = ClinicSite::start(CLINIC_SITE)?;
    let running = RunningRelay::start_framed(
        &bin,
        LISTEN,
        &data,
        &paths::dist(),
        postgres.as_ref().map(|p| p.url()).as_deref(),
        &[&site.origin],
    )?;
    site.set_ward_origin(&running.url);
    let key_file = data.join("clinic.key");
    if !key_file.exists() {
        clinic(
            &agent,
            &key_file,
            &[
                "init",
                "--name",
                "Riverside Clinic (demo)",
                "--setup-code-file",
                &data.join("clinic-setup-code").to_string_lossy(),
            ],
        )?;
    }
    let invite = clinic(
        &agent,
        &key_file,
        &[
            "invite",
            "--name",
            "Demo Patient",
            "--contact",
            "demo@example.com",
        ],
    )?;
    let mut bot = clinic_command(&agent, &key_file, &["bot"])
        .spawn()
        .map_err(|e| Failure::new("dev: start the demo clinic's bot", e.to_string()))?;
    println!(
        "\nWard is running on http://localhost:8080\n\
         \n  open     http://localhost:8080 (use `localhost`: passkeys need a host name, not 127.0.0.1)\
         \n  invite   http://localhost:8080/enroll#invite={} (for Demo Patient; one-time codes appear in {})\
         \n  clinic   a demo clinic whose bot answers like a triage nurse, each reply marked as a demo (`ward-clinic --help` for more)\
         \n  embed    {} (an example clinic website, another site, that embeds Ward: docs/embedding.md)\
         \n  data     {} ({})\
         \n  stop     Ctrl-C\n",
        invite.trim(),
        data.join("dev-outbox.log").display(),
        site.origin,
        data.display(),
        match &postgres {
            Some(server) => format!(
                "database on PostgreSQL at {}, deleted when this stops",
                server.url()
            ),
            None => "SQLite, created on first run".to_owned(),
        }
    );
    running.wait();
    stop(&mut bot);
    drop(postgres);
    Ok(())
}

fn clinic_command(bin: &Path, key_file: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(bin);
    command
        .args(["--relay", "http://127.0.0.1:8080", "--key-file"])
        .arg(key_file)
        .args(args)
        .env("WARD_CLINIC_PASSPHRASE", DEMO_PASSPHRASE)
        .stdin(Stdio::null());
    command
}

fn clinic(bin: &Path, key_file: &Path, args: &[&str]) -> Result<String> {
    let step = format!("dev: demo clinic `{}`", args.first().copied().unwrap_or(""));
    let output = clinic_command(bin, key_file, args)
        .output()
        .map_err(|e| Failure::new(&step, e.to_string()))?;
    if !output.status.success() {
        return Err(Failure::new(
            &step,
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        )
        .fix("if ./data is from an older run, move it away and run `cargo xtask dev` again"));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
