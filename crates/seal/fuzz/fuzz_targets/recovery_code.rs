//! Any text typed as a recovery code: parsing never panics, and a code that
//! parses reveals a canonical form that parses to the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_seal::recovery::RecoveryCode;

fuzz_target!(|typed: &str| {
    if let Ok(code) = RecoveryCode::parse(typed) {
        let shown = code.reveal();
        let again = RecoveryCode::parse(&shown).expect("revealed code parses");
        assert_eq!(*again.reveal(), *shown);
    }
});
