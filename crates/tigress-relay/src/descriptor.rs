//! The relay descriptor, `GET /.well-known/tigress-relay` (docs/API.md, "Relay descriptor"):
//! what this relay serves and allows, built once at start from its configuration.

use tigress_proto::wire::{DescriptorLimits, RelayDescriptor};
use tigress_push::Pusher;

use crate::config::{AttestationPolicy, RelayConfig};
use crate::routes;

/// The descriptor of a relay started with `config`, pushing through `pusher`.
pub fn describe(config: &RelayConfig, pusher: &Pusher) -> RelayDescriptor {
    let attestation_required = matches!(config.attestation, AttestationPolicy::Verify(_));
    let mut extensions: Vec<String> =
        ["messageLog", "waitingReads", "maxReceivers", "pin", "compatibilityProfile"]
            .map(String::from)
            .into();
    if attestation_required {
        extensions.push("deviceAttestation".into());
    }
    if !config.events.endpoints.is_empty() {
        extensions.push("events".into());
    }
    let limits = &config.limits;
    RelayDescriptor {
        versions: vec!["v1".into()],
        mailbox_path: routes::create(config.mailbox_segment.as_str()),
        extensions,
        limits: DescriptorLimits {
            max_lifetime_seconds: limits.max_lifetime.as_secs(),
            default_lifetime_seconds: limits.default_lifetime.as_secs(),
            max_body_bytes: u64::try_from(limits.max_body_bytes).unwrap_or(u64::MAX),
            max_messages: limits.max_messages,
            max_wait_seconds: limits.max_wait.as_secs(),
        },
        push_token_types: pusher.token_types(),
        attestation_required,
    }
}
