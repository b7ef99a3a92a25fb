//! Kotlin, Swift and Python are generated from the one interface definition.

use std::fs;
use std::path::Path;

use crate::support::{generated, python_package, python3};

/// The objects, records and error of `src/tigress.udl`.
const TYPES: [&str; 13] = [
    "TigressClient",
    "PinShareHandle",
    "PinExchange",
    "PinDelivery",
    "PinDeliveryOutcome",
    "ShareHandle",
    "PendingShare",
    "ReceivedShare",
    "Transfer",
    "ProvisioningInfo",
    "ShareSettings",
    "Preview",
    "TigressError",
];

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{} was not generated: {e}", path.display()))
}

/// Checks that `path` declares every type, the error's variants and `next_message` as the
/// language spells it (`nextMessage` in Kotlin and Swift).
fn assert_has_every_type(path: &Path, next_message: &str) {
    let source = read(path);
    for name in TYPES.iter().chain(&[
        "AlreadyClaimed",
        "Tampered",
        "WrongPin",
        "TooManyAttempts",
        next_message,
    ]) {
        assert!(source.contains(name), "{} lacks {name}", path.display());
    }
}

#[test]
fn kotlin_swift_and_python_are_generated_from_the_one_definition() {
    let out = generated();

    let kotlin = out.join("uniffi/tigress/tigress.kt");
    assert_has_every_type(&kotlin, "nextMessage");
    assert!(read(&kotlin).contains("com.sun.jna"), "the Kotlin binding loads through JNA");
    assert!(read(&kotlin).contains("\"tigress_ffi\""), "it loads libtigress_ffi");

    assert_has_every_type(&out.join("tigress.swift"), "nextMessage");
    assert!(read(&out.join("tigressFFI.h")).contains("uniffi_tigress_ffi_fn_"));
    assert!(read(&out.join("tigressFFI.modulemap")).contains("module tigressFFI"));

    assert_has_every_type(&out.join("tigress.py"), "next_message");
}

#[test]
fn the_python_module_needs_only_the_standard_library() {
    let package = python_package();
    let source = read(&package.path().join("tigress.py"));
    assert!(source.contains("import ctypes"), "the Python binding calls the library with ctypes");

    // Without site-packages (`-S`), only the standard library can be imported.
    let output = python3()
        .args(["-c", "import tigress; print(tigress.TigressClient.__name__)"])
        .env("PYTHONPATH", package.path())
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "importing the module failed:\n{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "TigressClient");
}
