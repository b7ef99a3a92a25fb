//! The Swift binding, as far as this machine allows. No Swift toolchain installs here, so the
//! Swift sources are not compiled; what the Swift side rests on is: the generated C header and
//! module map, which must compile with the C compiler and link against the built static library
//! (what an XCFramework holds), and the API checksums the Swift binding checks when it loads,
//! which must be the ones that library reports.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{cdylib, generated};

/// `libtigress_ffi.a`, built with the cdylib in one compilation, next to it.
fn staticlib() -> PathBuf {
    let cdylib = cdylib();
    let dir = cdylib.parent().expect("a directory");
    [dir.join("libtigress_ffi.a"), dir.join("deps/libtigress_ffi.a")]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("libtigress_ffi.a was not built next to {}", cdylib.display()))
}

/// `name() != value` as the Swift binding writes its expected checksums.
fn swift_checksums(swift: &str) -> BTreeMap<String, u16> {
    swift
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("if (uniffi_tigress_ffi_checksum_")?;
            let (name, value) = rest.split_once("() != ")?;
            Some((name.to_owned(), value.trim_end_matches(") {").parse().ok()?))
        })
        .collect()
}

#[test]
fn the_swift_binding_s_header_compiles_links_and_matches_the_library() {
    let out = generated();
    let header = std::fs::read_to_string(out.join("tigressFFI.h")).expect("the header");
    let swift = std::fs::read_to_string(out.join("tigress.swift")).expect("the Swift binding");
    let modulemap = std::fs::read_to_string(out.join("tigressFFI.modulemap")).expect("modulemap");
    assert!(modulemap.contains("header \"tigressFFI.h\""), "{modulemap}");

    let expected = swift_checksums(&swift);
    assert!(expected.len() > 20, "the Swift binding checks every function: {expected:?}");
    for name in expected.keys() {
        assert!(header.contains(&format!("uniffi_tigress_ffi_checksum_{name}(void")), "{name}");
    }

    // A C program that includes the header, links the static library, and prints what the
    // library reports: its contract version and each checksum the Swift side will compare.
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut program =
        String::from("#include <stdio.h>\n#include \"tigressFFI.h\"\nint main(void) {\n");
    program.push_str(
        "  printf(\"contract %u\\n\", (unsigned) ffi_tigress_ffi_uniffi_contract_version());\n",
    );
    for name in expected.keys() {
        program.push_str(&format!(
            "  printf(\"{name} %u\\n\", (unsigned) uniffi_tigress_ffi_checksum_{name}());\n"
        ));
    }
    program.push_str("  return 0;\n}\n");
    let source = dir.path().join("check.c");
    std::fs::write(&source, program).expect("write the C program");
    let binary = dir.path().join("check");
    // The header uses Clang's nullability qualifiers (Xcode's compiler is Clang); GCC, the C
    // compiler here, does not know them, so they are defined away: they change no type.
    let compiled = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-D_Nullable=", "-D_Nonnull=", "-I"])
        .arg(out)
        .arg(&source)
        .arg(staticlib())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&binary)
        .output()
        .expect("the C compiler (cc) runs: apt-get install gcc");
    assert!(
        compiled.status.success(),
        "the header or the static library does not compile and link:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let ran = Command::new(&binary).output().expect("the C program runs");
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    let reported: BTreeMap<String, u32> = String::from_utf8_lossy(&ran.stdout)
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect();

    let contract = swift
        .lines()
        .find_map(|l| l.trim().strip_prefix("let bindings_contract_version = "))
        .and_then(|v| v.parse::<u32>().ok())
        .expect("the Swift binding names its contract version");
    assert_eq!(reported.get("contract"), Some(&contract), "the contract versions differ");
    for (name, value) in &expected {
        assert_eq!(reported.get(name), Some(&u32::from(*value)), "checksum of {name}");
    }
}
