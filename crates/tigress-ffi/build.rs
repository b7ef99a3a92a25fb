//! Generates the Rust scaffolding of `src/tigress.udl`, the one interface definition from which
//! the Kotlin, Swift and Python bindings are also generated, and those bindings too, into
//! `$OUT_DIR/bindings`, where the tests read them.
//!
//! The bindings are generated here, from the definition, rather than by the tests from the built
//! library (as `uniffi-bindgen generate --library` does for an app, docs/EMBEDDING.md): the build
//! script already compiles UniFFI's generator, and a test that generated them would compile it a
//! second time, for its own profile and features. Both ways read the same definition; the Python
//! test loads the result against the built library, whose API checksums the binding checks as it
//! loads, so a binding that did not match the library would fail there.

use std::env;
use std::path::PathBuf;

use uniffi::{GenerateOptions, TargetLanguage};

const UDL: &str = "src/tigress.udl";
/// The bindings' settings: the name of the library they load.
const CONFIG: &str = "bindgen.toml";

fn main() {
    println!("cargo::rerun-if-changed={UDL}");
    println!("cargo::rerun-if-changed={CONFIG}");
    // A UDL that does not parse fails the build with UniFFI's message.
    uniffi::generate_scaffolding(UDL).expect("src/tigress.udl is valid UDL");

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bindings");
    let options = GenerateOptions {
        languages: vec![TargetLanguage::Kotlin, TargetLanguage::Swift, TargetLanguage::Python],
        source: UDL.into(),
        out_dir: out_dir.to_str().expect("a UTF-8 OUT_DIR").into(),
        config_override: Some(CONFIG.into()),
        // Formatting would run ktlint, swiftformat or the like when installed: not needed here.
        format: false,
        crate_filter: None,
        metadata_no_deps: true,
    };
    uniffi::generate(options).expect("the Kotlin, Swift and Python bindings generate");
}
