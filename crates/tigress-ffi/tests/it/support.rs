//! Finding the built library and the generated bindings, and a relay in this process.

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The shared library the foreign languages load (`libtigress_ffi.so` on Linux).
///
/// Cargo builds a library's crate types in one compilation, so the build of this test also
/// wrote the cdylib, next to the rlib the test links: in `target/<profile>/deps`, the directory
/// of the test executable, and copied up to `target/<profile>`. No second `cargo build` runs
/// from the test, which could wait forever on the build directory lock `cargo test` holds.
pub fn cdylib() -> PathBuf {
    let name = format!("{DLL_PREFIX}tigress_ffi{DLL_SUFFIX}");
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable is in a directory");
    let candidates = [deps.join(&name), deps.parent().unwrap_or(deps).join(&name)];
    candidates.iter().find(|path| path.is_file()).cloned().unwrap_or_else(|| {
        panic!(
            "{name} was not built next to the test ({}); build it with \
             `cargo build -p tigress-ffi` and run the test again",
            deps.display()
        )
    })
}

/// Where the build script wrote the Kotlin, Swift and Python bindings of `src/tigress.udl`
/// (see build.rs).
pub fn generated() -> &'static Path {
    Path::new(concat!(env!("OUT_DIR"), "/bindings"))
}

/// A directory holding the generated Python module and the library it loads, as an app would
/// ship them.
pub fn python_package() -> TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let module = "tigress.py";
    std::fs::copy(generated().join(module), dir.path().join(module)).expect("copy the module");
    let library = cdylib();
    let name = library.file_name().expect("a file name");
    std::fs::copy(&library, dir.path().join(name)).expect("copy the library");
    dir
}

/// `python3`, or a failure that says what to install: the test never skips.
pub fn python3() -> Command {
    let found = Command::new("python3").arg("--version").output();
    if !found.is_ok_and(|output| output.status.success()) {
        panic!("the bindings tests need python3: apt-get install python3");
    }
    let mut command = Command::new("python3");
    // No site-packages: the generated module must need nothing beyond the standard library.
    command.arg("-S");
    command
}

/// Asserts that `output` holds each of `lines`, in this order (other lines may come between).
#[track_caller]
pub fn assert_lines_in_order(output: &str, lines: &[&str]) {
    let mut rest = output;
    for line in lines {
        let at = rest.find(line).unwrap_or_else(|| panic!("missing {line:?} in:\n{output}"));
        rest = &rest[at + line.len()..];
    }
}

pub use tigress_test_support::TestRelay;
