//! The Swift binding, as far as this machine allows. No Swift toolchain installs here, so the
//! Swift sources are not compiled; what the Swift side rests on is: the generated C header and
//! module map, which must compile with the C compiler and link against the built static library
//! (what an XCFramework holds), the API checksums the Swift binding checks when it loads, which
//! must be the ones that library reports, and the Swift source itself, which must parse with
//! tree-sitter's Swift grammar (installed by scripts/test).

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

/// The Python of the venv holding tree-sitter's Swift grammar: `TIGRESS_SWIFT_PARSER_PYTHON`, or
/// where scripts/test installs it.
fn swift_parser_python() -> PathBuf {
    if let Some(path) = std::env::var_os("TIGRESS_SWIFT_PARSER_PYTHON") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
    });
    let python = cache.join("tigress/tree-sitter-swift-0.7.4/bin/python");
    assert!(
        python.is_file(),
        "the Swift parse check needs tree-sitter-swift: run scripts/test (it installs it into \
         {}), or set TIGRESS_SWIFT_PARSER_PYTHON to a python with tree-sitter==0.26.1 and \
         tree-sitter-swift==0.7.4",
        python.parent().and_then(|bin| bin.parent()).unwrap_or(&python).display()
    );
    python
}

/// Runs `tests/swift/parse_swift.py` on `files`: whether all parsed, and what it printed.
fn parse_swift(files: &[PathBuf]) -> (bool, String) {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/swift/parse_swift.py");
    let output = Command::new(swift_parser_python())
        .arg(&script)
        .args(files)
        .output()
        .expect("the parser's python runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

#[test]
fn the_swift_binding_parses_with_the_swift_grammar() {
    let swift = generated().join("tigress.swift");
    let (parsed, stdout) = parse_swift(std::slice::from_ref(&swift));
    assert!(parsed, "tigress.swift does not parse:\n{stdout}");
    assert!(stdout.contains(", 0 syntax errors"), "{stdout}");
    // The parser must have read the whole binding, not an empty file.
    let size = std::fs::metadata(&swift).expect("tigress.swift").len();
    assert!(size > 50_000 && stdout.contains(&format!(": {size} bytes")), "{stdout}");
}

#[test]
fn the_swift_in_the_embedding_guide_parses() {
    let guide = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/EMBEDDING.md");
    let text = std::fs::read_to_string(&guide).expect("docs/EMBEDDING.md");
    let blocks: Vec<&str> = text
        .split("```swift\n")
        .skip(1)
        .map(|rest| rest.split_once("```").expect("a closed code block").0)
        .collect();
    assert!(blocks.len() >= 2, "the guide's Swift examples: {}", blocks.len());
    let dir = tempfile::tempdir().expect("temporary directory");
    let files: Vec<PathBuf> = blocks
        .iter()
        .enumerate()
        .map(|(i, block)| {
            let file = dir.path().join(format!("example-{i}.swift"));
            std::fs::write(&file, block).expect("write the example");
            file
        })
        .collect();
    let (parsed, stdout) = parse_swift(&files);
    assert!(parsed, "a Swift example of the guide does not parse:\n{stdout}");
    assert_eq!(stdout.matches(", 0 syntax errors").count(), files.len(), "{stdout}");
}
