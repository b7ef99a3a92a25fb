//! Sealed fields from the terminal: `tigress keygen`, the sender's `share --seal-field`, what
//! `receive` shows of sealed fields, and `tigress unseal`, the issuer's side
//! (docs/MESSAGES.md, "Sealed fields").

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};
use tigress_client::tigress_jwe::{
    self, Algorithm, FieldError, PrivateJwk, PublicJwk, SealedField,
};

use crate::args::{KeygenArgs, UnsealArgs};
use crate::car_key::write_private;
use crate::exit::{Refused, UsageError};

/// Runs `tigress keygen`.
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    let key = PrivateJwk::generate(&mut rand::rngs::OsRng, &args.kid)
        .map_err(|e| UsageError(format!("--kid: {e}")))?;
    write_private(&args.out, &key.to_json())?;
    eprintln!("The private key is in {}; the public key follows.", args.out.display());
    println!("{}", key.public().to_json());
    Ok(())
}

/// The `--seal-field POINTER=FILE` values, with their keys read.
pub fn fields(values: &[String]) -> anyhow::Result<Vec<(String, PublicJwk)>> {
    values
        .iter()
        .map(|value| {
            let (pointer, path) = value.split_once('=').ok_or_else(|| {
                UsageError(format!("--seal-field takes POINTER=FILE, not {value:?}"))
            })?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("could not read the key {path}"))?;
            let key = PublicJwk::parse(&text).map_err(|e| UsageError(format!("{path}: {e}")))?;
            Ok((pointer.to_owned(), key))
        })
        .collect()
}

/// The `--seal-alg` value.
pub fn algorithm(name: &str) -> Algorithm {
    if name == "ecdh-es" { Algorithm::EcdhEs } else { Algorithm::EcdhEsA256Kw }
}

/// A sealing error of the command line's making (a pointer naming nothing) as a usage error.
pub fn seal_error(error: tigress_client::Error) -> anyhow::Error {
    match error {
        tigress_client::Error::Seal(e) => UsageError(format!("--seal-field: {e}")).into(),
        other => other.into(),
    }
}

/// What `receive --json` adds for sealed fields: each one's pointer, key and algorithm.
pub fn describe(fields: &[SealedField]) -> Value {
    let fields: Vec<Value> = fields
        .iter()
        .map(|field| match &field.envelope {
            Ok(envelope) => json!({"pointer": field.pointer, "kid": envelope.kid,
                                   "alg": envelope.algorithm.name()}),
            Err(e) => json!({"pointer": field.pointer, "error": e.to_string()}),
        })
        .collect();
    Value::Array(fields)
}

/// Tells, on stderr, which fields are sealed for whom, and the binding their issuer needs.
pub fn announce(fields: &[SealedField], binding: &str) {
    if fields.is_empty() {
        return;
    }
    eprintln!("Sealed for a third party (this device forwards them as they are):");
    for field in fields {
        match &field.envelope {
            Ok(envelope) => eprintln!("  {} for key {}", field.pointer, envelope.kid),
            Err(e) => eprintln!("  {} (unreadable: {e})", field.pointer),
        }
    }
    eprintln!("  share binding: {binding}");
}

/// Runs `tigress unseal`.
pub fn unseal(args: &UnsealArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.key)
        .with_context(|| format!("could not read the key {}", args.key.display()))?;
    let key =
        PrivateJwk::parse(&text).map_err(|e| UsageError(format!("{}: {e}", args.key.display())))?;
    let input = read_input(&args.input)?;
    let input: Value = serde_json::from_str(&input)
        .map_err(|e| UsageError(format!("the input is not JSON: {e}")))?;
    // `tigress receive --json`'s envelope, or the Provisioning Information alone.
    let (mut document, found) = match input.get("provisioningInformation") {
        Some(info) => (info.clone(), input.get("shareBinding").and_then(Value::as_str)),
        None => (input.clone(), None),
    };
    let share = args.share.as_deref().or(found).ok_or_else(|| {
        UsageError("give the share binding with --share (tigress receive prints it)".into())
    })?;
    let opened = tigress_jwe::unseal_fields(&mut document, &key, share).map_err(refusal)?;
    if opened.is_empty() {
        return Err(Refused(format!("no field is sealed for key {}", key.kid)).into());
    }
    eprintln!("Opened {}.", opened.join(", "));
    println!("{}", serde_json::to_string_pretty(&document).context("could not format it")?);
    Ok(())
}

fn refusal(error: FieldError) -> anyhow::Error {
    Refused(format!("refused: {error}")).into()
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("could not read stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))
}
