//! Kotlin, Swift and Python are generated from the one interface definition.

use std::fs;
use std::path::Path;

use crate::support::{generated, python_package, python3};

/// The objects, records and error of `src/tigress.udl`.
const TYPES: [&str; 17] = [
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
    "PushToken",
    "DeviceAttester",
    "AttestationAlgorithm",
    "RelayDescriptor",
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
        "RateLimited",
        "Attestation",
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

/// The methods of every `interface` and `callback interface` of `src/tigress.udl`, as
/// `(interface, method)`; with `errors`, the variants of the `[Error] interface` instead.
fn udl_members(errors: bool) -> Vec<(String, String)> {
    let udl = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tigress.udl"));
    let mut methods = Vec::new();
    let mut interface = None;
    let mut previous = "";
    for line in udl.lines().map(str::trim) {
        let declared = line.strip_prefix("callback ").unwrap_or(line).strip_prefix("interface ");
        if let Some(name) = declared {
            let is_error = previous == "[Error]";
            interface = (is_error == errors).then(|| name.trim_end_matches(" {").to_owned());
        } else if line == "};" {
            interface = None;
        } else if let Some(interface) = &interface {
            if line.starts_with("///") || line.starts_with('[') || line.starts_with("constructor") {
                continue;
            }
            if let Some((head, _)) = line.split_once('(') {
                let method = head.rsplit(' ').next().unwrap_or(head).to_owned();
                methods.push((interface.clone(), method));
            }
        }
        if !line.starts_with("///") {
            previous = line;
        }
    }
    methods
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn every_method_of_the_interface_is_in_each_language() {
    let methods = udl_members(false);
    assert!(methods.len() > 35, "{methods:?}");
    let out = generated();
    let kotlin = read(&out.join("uniffi/tigress/tigress.kt"));
    let swift = read(&out.join("tigress.swift"));
    let python = read(&out.join("tigress.py"));
    for (interface, method) in &methods {
        let lower = camel(method);
        assert!(kotlin.contains(&format!("fun `{lower}`(")), "Kotlin lacks {interface}.{lower}");
        assert!(swift.contains(&format!("func {lower}(")), "Swift lacks {interface}.{lower}");
        assert!(python.contains(&format!("def {method}(")), "Python lacks {interface}.{method}");
    }
}

#[test]
fn every_error_variant_and_its_fields_are_in_each_language() {
    let variants = udl_members(true);
    assert!(variants.len() >= 17, "{variants:?}");
    let out = generated();
    let kotlin = read(&out.join("uniffi/tigress/tigress.kt"));
    let swift = read(&out.join("tigress.swift"));
    let python = read(&out.join("tigress.py"));
    for (_, variant) in &variants {
        let swift_case = format!("case {variant}(");
        assert!(kotlin.contains(&format!("class {variant}(")), "Kotlin lacks {variant}");
        assert!(swift.contains(&swift_case), "Swift lacks {swift_case}");
        assert!(python.contains(&format!("class {variant}(")), "Python lacks {variant}");
    }
    // The fields an app acts on.
    assert!(kotlin.contains("val `retryAfterSeconds`: kotlin.UInt?"), "Kotlin's retry time");
    assert!(kotlin.contains("val `attemptsLeft`: kotlin.UInt"), "Kotlin's attempts left");
    assert!(swift.contains("retryAfterSeconds: UInt32?"), "Swift's retry time");
    assert!(swift.contains("attemptsLeft: UInt32"), "Swift's attempts left");
    assert!(python.contains("retry_after_seconds"), "Python's retry time");
}
