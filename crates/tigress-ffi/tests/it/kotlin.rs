//! A Kotlin program shares a credential through the relay and other JVM processes receive it,
//! through the generated binding, compiled here with kotlinc and run on the JVM: the binding
//! loads libtigress_ffi through JNA, as an Android app loads it from `jniLibs`
//! (`tests/kotlin/ShareAndReceive.kt`, which also runs the wallet app sample of
//! docs/EMBEDDING.md, `tests/kotlin/ReceiverSample.kt`).
//!
//! The tools are required, never skipped: `kotlinc` (the npm package `kotlin-compiler`, which
//! `scripts/test` installs under `target/kotlin-compiler`, or `TIGRESS_KOTLINC`), a JDK's `java`
//! JNA and kotlinx-coroutines (`apt-get install default-jdk-headless libjna-java
//! libkotlinx-coroutines-java libkotlinx-atomicfu-java`; `TIGRESS_JNA_JAR` for another JNA).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tigress_client::tigress_attest::TrustedKeys;
use tigress_relay::AttestationPolicy;

use crate::support::{TestRelay, assert_lines_in_order, cdylib, generated};

/// Longer than the program's own waits (15 s each) and a cold compile, short enough to end a hang.
const PATIENCE: Duration = Duration::from_secs(300);

/// The workspace's `target/` directory, from the test executable's path
/// (`target/<profile>/deps/it-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.ancestors().nth(3).expect("the test runs from target/<profile>/deps").to_path_buf()
}

/// `kotlinc`: `TIGRESS_KOTLINC`, what `scripts/test` installed, or one on the PATH.
fn kotlinc() -> PathBuf {
    if let Some(path) = std::env::var_os("TIGRESS_KOTLINC") {
        return PathBuf::from(path);
    }
    let installed = target_dir().join("kotlin-compiler/node_modules/kotlin-compiler/bin/kotlinc");
    if installed.is_file() {
        return installed;
    }
    let on_path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&on_path)
        .map(|dir| dir.join("kotlinc"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the Kotlin test needs kotlinc: run scripts/test (it installs the npm package \
                 kotlin-compiler under target/kotlin-compiler), or `npm install kotlin-compiler` \
                 and set TIGRESS_KOTLINC to its bin/kotlinc"
            )
        })
}

/// JNA's jar: `TIGRESS_JNA_JAR`, or Debian's.
fn jna_jar() -> PathBuf {
    let jar = std::env::var_os("TIGRESS_JNA_JAR")
        .map_or_else(|| PathBuf::from("/usr/share/java/jna.jar"), PathBuf::from);
    assert!(
        jar.is_file(),
        "the Kotlin test needs JNA ({}): apt-get install libjna-java, or set TIGRESS_JNA_JAR",
        jar.display()
    );
    jar
}

/// kotlinx-coroutines and the atomicfu it loads at run time, from Debian: the wallet sample runs
/// the blocking binding on `Dispatchers.IO` from a coroutine, as an Android app does.
fn coroutines_jars() -> Vec<PathBuf> {
    let jars = ["kotlinx-coroutines-core.jar", "atomicfu.jar"]
        .map(|name| Path::new("/usr/share/java").join(name));
    for jar in &jars {
        assert!(
            jar.is_file(),
            "the Kotlin test needs {}: apt-get install libkotlinx-coroutines-java \
             libkotlinx-atomicfu-java",
            jar.display()
        );
    }
    jars.to_vec()
}

fn java() -> Command {
    let found = Command::new("java").arg("-version").output();
    assert!(
        found.is_ok_and(|out| out.status.success()),
        "the Kotlin test needs a Java runtime: apt-get install default-jdk-headless"
    );
    Command::new("java")
}

/// The program and the binding compiled into one jar (with the Kotlin runtime). kotlinc takes
/// most of a minute, so the jar is kept under `target/kotlin-jars`, named by a digest of what
/// went into it, and compiled again only when a source or the compiler changes.
fn compiled(sources: &[PathBuf], classpath: &[PathBuf]) -> PathBuf {
    use std::hash::{DefaultHasher, Hash, Hasher};

    let kotlinc = kotlinc();
    let mut digest = DefaultHasher::new();
    for path in sources {
        std::fs::read(path).expect("a Kotlin source").hash(&mut digest);
    }
    kotlinc.hash(&mut digest);
    classpath.hash(&mut digest);
    let dir = target_dir().join("kotlin-jars");
    std::fs::create_dir_all(&dir).expect("target/kotlin-jars");
    let jar = dir.join(format!("share-and-receive-{:016x}.jar", digest.finish()));
    if jar.is_file() {
        return jar;
    }
    let partial = jar.with_extension("partial.jar");
    let output = Command::new(&kotlinc)
        .args(sources)
        .arg("-classpath")
        .arg(std::env::join_paths(classpath).expect("a classpath"))
        .args(["-include-runtime", "-nowarn", "-d"])
        .arg(&partial)
        .output()
        .unwrap_or_else(|e| panic!("could not run {} ({e})", kotlinc.display()));
    assert!(
        output.status.success(),
        "kotlinc failed to compile the binding and the program:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&partial, &jar).expect("keep the jar");
    jar
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kotlin_shares_receives_and_round_trips_through_a_running_relay() {
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kotlin");
    let sources = vec![
        generated().join("uniffi/tigress/tigress.kt"),
        ours.join("ShareAndReceive.kt"),
        ours.join("ReceiverSample.kt"),
    ];
    let mut libraries = vec![jna_jar()];
    libraries.extend(coroutines_jars());
    let classpath = libraries.clone();
    let jar = tokio::task::spawn_blocking(move || compiled(&sources, &classpath))
        .await
        .expect("the compile ran");
    // The library alone in a directory, as jniLibs/<abi>/ holds it in an app.
    let libs = tempfile::tempdir().expect("temporary directory");
    let library = cdylib();
    std::fs::copy(&library, libs.path().join(library.file_name().unwrap())).expect("copy the .so");

    let relay = TestRelay::start().await;
    // A second relay that requires attestation by one device maker's key, whose private half
    // the Kotlin program signs with as a platform key, and allows its fleet two creates a minute.
    let maker = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a P-256 key");
    let key_file = libs.path().join("maker-phone.pem");
    std::fs::write(&key_file, maker.serialize_pem()).expect("write the key");
    let mut trusted = TrustedKeys::new();
    trusted.add("maker-phone", &maker.public_key_pem()).expect("trust the key");
    let attesting = TestRelay::start_with(|config| {
        config.attestation = AttestationPolicy::Verify(Arc::new(trusted));
        config.abuse.tenant_creates_per_minute = 2;
    })
    .await;
    let mut command = tokio::process::Command::from(java());
    let classpath = std::env::join_paths(std::iter::once(&jar).chain(&libraries)).unwrap();
    command
        .arg(format!("-Djna.library.path={}", libs.path().display()))
        .arg("-cp")
        .arg(classpath)
        .arg("ShareAndReceiveKt")
        .arg(relay.base_url())
        .arg(attesting.base_url())
        .arg(&key_file)
        .kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("the Kotlin program ends in time")
        .expect("java runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}\n{stdout}\n{stderr}", output.status.code());

    // Every step printed, in the order the two sides depend on each other.
    let expected = [
        "sender: bad input refused",
        "sender: nothing secret in toString()",
        "sender: read the relay's descriptor",
        "sender: shared the hotel key",
        "receiver: a wrong secret fails to decrypt",
        "receiver: declined, and the share is still there",
        "receiver: preview checked",
        "receiver: decrypted the credential the sender shared",
        "receiver: a second receiver gets AlreadyClaimed",
        "receiver: finished; the share is gone",
        "sender: the share is gone after the receiver finished",
        "receiver: the first device relinquished and a second one received the share",
        "sender: a share for two devices in turn was received by the second",
        "sender: saw the receiver bind",
        "receiver: answered through the share's message slot",
        "sender: read the receiver's answer, replaced it and cancelled the share",
        "sender: a PIN share and a transfer cancelled before anyone received them are gone",
        "sender: round trip 1: answered the receiver's request",
        "sender: round trip 2: answered the receiver's request",
        "sender: finished the transfer",
        "receiver: a wrong PIN was refused and the right one opened the credential",
        "sender: the PIN share was delivered after one wrong PIN",
        "receiver: the third wrong PIN got TooManyAttempts",
        "sender: three wrong PINs ended the PIN share",
        "receiver: the wallet sample provisioned the key after one wrong PIN",
        "sender: attested with the platform key; refused without one, with an untrusted key, and \
         when the platform refused",
        "sender: the fleet's third create in a minute is RateLimited, retry after ",
        "sender: done",
    ];
    assert_lines_in_order(&stdout, &expected);
    for line in [
        "receiver: round trip 1: got the sender's answer",
        "receiver: round trip 2: got the sender's answer",
        "receiver: the transfer ended when the sender finished",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("/v1/m/"), "no share URL is printed: {stdout}");
    // The program's output, for the record of a run (`--no-capture`).
    println!("{stdout}");
    relay.stop().await;
    attesting.stop().await;
}
