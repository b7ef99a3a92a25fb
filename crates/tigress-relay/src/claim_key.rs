//! Where the key of the claim digests comes from (see [`crate::mailbox::ClaimKey`] and
//! docs/SECURITY.md, "The relay keeps no identity of sender or receiver").
//!
//! The key lives in a file of its own, never in the store, so that a copy of the store (a
//! backup, an RDB or AOF file, a stolen disk image of the Redis nodes) cannot be used to test a
//! guessed claim. Every relay of one store must hold the same key.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use rand::RngCore as _;

use crate::config::{ClaimKeyConfig, RelayConfig, StoreConfig};
use crate::mailbox::ClaimKey;

/// The name of the key file the SQLite store keeps next to its database by default.
pub const DEFAULT_FILE: &str = "claim-key";

/// The relay's claim key, or `None` for plain digests.
pub fn load(config: &RelayConfig) -> anyhow::Result<Option<ClaimKey>> {
    match (&config.claim_key, &config.store) {
        (ClaimKeyConfig::File(path), _) => read(path).map(Some),
        (ClaimKeyConfig::Off, _) => Ok(None),
        (ClaimKeyConfig::Default, StoreConfig::Sqlite) => {
            let path = config.data_dir.join(DEFAULT_FILE);
            if !path.exists() {
                create(&path)?;
            }
            read(&path).map(Some)
        }
        (ClaimKeyConfig::Default, StoreConfig::RedisCluster { .. }) => {
            tracing::warn!(
                "no --claim-key-file: claim digests in the Redis Cluster are plain SHA-256; give \
                 every relay of the cluster the same key file (see docs/OPERATIONS.md)"
            );
            Ok(None)
        }
    }
}

/// Writes a fresh random key to `path` (64 hex digits), readable by this user only. Fails if
/// the file exists, so that a key is never replaced under mailboxes that use it.
pub fn create(path: &Path) -> anyhow::Result<()> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("could not create the claim key file {}", path.display()))?;
    writeln!(file, "{}", hex(&bytes))?;
    file.sync_all()?;
    Ok(())
}

/// Reads a key file: 64 hex digits, surrounding white space allowed.
fn read(path: &Path) -> anyhow::Result<ClaimKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the claim key file {}", path.display()))?;
    match parse(text.trim()) {
        Some(bytes) => Ok(ClaimKey::from_bytes(bytes)),
        // The message names the file, never its content.
        None => bail!("the claim key file {} does not hold 64 hex digits", path.display()),
    }
}

fn parse(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_created_key_reads_back_and_only_its_owner_may_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        create(&path).unwrap();
        let first = read(&path).unwrap();
        assert_eq!(read(&path).unwrap().as_bytes(), first.as_bytes());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(create(&path).is_err(), "an existing key is never replaced");
    }

    #[test]
    fn a_malformed_key_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63), &"é".repeat(32)] {
            std::fs::write(&path, bad).unwrap();
            let error = read(&path).unwrap_err().to_string();
            assert!(error.contains("64 hex digits"), "{error}");
            assert!(bad.is_empty() || !error.contains(bad), "{error}");
        }
        std::fs::write(&path, format!("  {}\n", "0f".repeat(32))).unwrap();
        assert_eq!(read(&path).unwrap().as_bytes(), &[0x0f; 32]);
    }
}
