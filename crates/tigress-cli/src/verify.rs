//! `tigress verify`: the vehicle's view of a car key: admitted with what it may do, or refused
//! with the check that failed (exit code 9).

use std::path::Path;

use serde_json::Value;
use tigress_carkey::Vehicle;
use tigress_lifecycle::{Grant, PublicKey, Signed, Termination};

use crate::args::VerifyArgs;
use crate::car_key::read_json;
use crate::exit::{Refused, UsageError};

/// Runs `tigress verify`.
pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let owner: PublicKey = serde_json::from_value(Value::String(args.owner.clone()))
        .map_err(|e| UsageError(format!("--owner is not a public key: {e}")))?;
    let chain = chain(&args.key)?;
    let terminations = args
        .termination
        .iter()
        .map(|path| read_json::<Signed<Termination>>(path, "termination"))
        .collect::<anyhow::Result<_>>()?;
    let vehicle = Vehicle { id: args.vehicle.clone(), owner, terminations };
    let now = tigress_carkey::flow::unix_now();
    let admitted =
        vehicle.admit(&chain, &args.action, now).map_err(|e| Refused(format!("refused: {e}")))?;
    let speed = admitted.max_speed.map_or(String::new(), |max| format!(", at most {max} km/h"));
    println!(
        "admitted: {} may {} {} (a {} key, passed on {} time{}{speed})",
        short(&chain),
        args.action,
        vehicle.id,
        admitted.role,
        admitted.depth,
        if admitted.depth == 1 { "" } else { "s" },
    );
    Ok(())
}

/// The chain of a held key's file, or of a file holding the chain alone.
fn chain(path: &Path) -> anyhow::Result<Vec<Signed<Grant>>> {
    let value: Value = read_json(path, "car key")?;
    let chain = match value {
        Value::Object(mut key) => key.remove("chain").unwrap_or(Value::Null),
        other => other,
    };
    serde_json::from_value(chain).map_err(|e| {
        UsageError(format!("{}: not a key's chain of signed grants: {e}", path.display())).into()
    })
}

/// The key's holder, shortened, to name it.
fn short(chain: &[Signed<Grant>]) -> String {
    let holder = chain.last().map(|grant| format!("{:?}", grant.statement.holder));
    format!("key {}…", holder.unwrap_or_default().chars().take(10).collect::<String>())
}
