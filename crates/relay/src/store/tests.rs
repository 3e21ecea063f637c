//! The storage layer stays a layer: route modules, and the mechanisms
//! that used to hold SQL of their own, call [`crate::store`]; they do not
//! write SQL.

/// Every route module, by file name, with its source.
const ROUTES: &[(&str, &str)] = &[
    ("account.rs", include_str!("../routes/account.rs")),
    ("auth.rs", include_str!("../routes/auth.rs")),
    ("caregivers.rs", include_str!("../routes/caregivers.rs")),
    ("consent.rs", include_str!("../routes/consent.rs")),
    ("embed.rs", include_str!("../routes/embed.rs")),
    ("enroll.rs", include_str!("../routes/enroll.rs")),
    ("events.rs", include_str!("../routes/events.rs")),
    ("health.rs", include_str!("../routes/health.rs")),
    ("keys.rs", include_str!("../routes/keys.rs")),
    ("metrics.rs", include_str!("../routes/metrics.rs")),
    ("mod.rs", include_str!("../routes/mod.rs")),
    ("openapi.rs", include_str!("../routes/openapi.rs")),
    ("passkeys.rs", include_str!("../routes/passkeys.rs")),
    ("push.rs", include_str!("../routes/push.rs")),
    ("sessions.rs", include_str!("../routes/sessions.rs")),
    ("threads.rs", include_str!("../routes/threads.rs")),
    ("totp.rs", include_str!("../routes/totp.rs")),
    ("uploads.rs", include_str!("../routes/uploads.rs")),
    ("vault.rs", include_str!("../routes/vault.rs")),
];

/// The modules outside `src/routes/` that once held SQL of their own: the
/// archive chain's backfill, the blob cleanup, the live-event fanout,
/// retention and the sweep, and the mechanisms moved before them (key
/// history, lockout, passkeys, the relay secret, sessions, setup). They
/// call [`crate::store`] too. (`db.rs` keeps the connection plumbing.)
const MECHANISMS: &[(&str, &str)] = &[
    ("access.rs", include_str!("../access.rs")),
    ("archive.rs", include_str!("../archive.rs")),
    ("blobs.rs", include_str!("../blobs.rs")),
    ("fanout.rs", include_str!("../fanout.rs")),
    ("history.rs", include_str!("../history.rs")),
    ("lockout.rs", include_str!("../lockout.rs")),
    ("passkeys.rs", include_str!("../passkeys.rs")),
    ("push/mod.rs", include_str!("../push/mod.rs")),
    ("push/presence.rs", include_str!("../push/presence.rs")),
    ("push/worker.rs", include_str!("../push/worker.rs")),
    ("relay_secret.rs", include_str!("../relay_secret.rs")),
    ("retention.rs", include_str!("../retention.rs")),
    ("session_watch.rs", include_str!("../session_watch.rs")),
    ("sessions.rs", include_str!("../sessions.rs")),
    ("setup.rs", include_str!("../setup.rs")),
    ("sweep.rs", include_str!("../sweep.rs")),
    ("grants.rs", include_str!("../grants.rs")),
];

/// What running a query looks like.
const SQL: [&str; 4] = ["sqlx::query", "query_scalar(", "query_as(", "sqlx::Row"];

/// No route module runs a query itself.
#[test]
fn route_modules_hold_no_sql() {
    for (file, source) in ROUTES {
        for needle in SQL {
            assert!(
                !source.contains(needle),
                "src/routes/{file} contains `{needle}`: put the statement in `crate::store`"
            );
        }
    }
}

/// Neither does any module in [`MECHANISMS`].
#[test]
fn mechanisms_hold_no_sql() {
    for (file, source) in MECHANISMS {
        for needle in SQL {
            assert!(
                !source.contains(needle),
                "src/{file} contains `{needle}`: put the statement in `crate::store`"
            );
        }
    }
}

/// Every file under `src/routes/` is listed above, so a new route module
/// cannot slip past the check.
#[test]
fn every_route_module_is_checked() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = ROUTES.iter().map(|(f, _)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "list every route module in ROUTES");
}
