//! The command line, as clap derive types. The options of `relay` come from the table of
//! `settings.rs`; each can also come from a `TIGRESS_*` environment variable, and an option given
//! on the command line wins.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tigress_client::{AccessRights, Vertical};

use crate::exit::Exit;
use crate::settings::RelayArgs;

const MAIN_EXAMPLES: &str = "\
Examples:
  tigress relay --listen 127.0.0.1:8080 --data-dir ./tigress-data
  tigress share --relay https://relay.example --format digitalwallet.generic.authorizationToken \\
      --content key.json --title 'Room 12' --description 'Hotel room key' \\
      --image-url https://relay.example/key.png
  tigress receive 'https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40?v=a#<secret>'

";

const RELAY_HELP: &str = "\
Examples:
  # Local development: plain HTTP on loopback only.
  tigress relay --listen 127.0.0.1:8080 --data-dir ./tigress-data

  # Public relay with TLS.
  tigress relay --listen 0.0.0.0:443 --public-url https://relay.example \\
      --tls-cert /etc/tigress/cert.pem --tls-key /etc/tigress/key.pem

  # The same from the environment.
  TIGRESS_LISTEN=0.0.0.0:443 TIGRESS_TLS_CERT=cert.pem TIGRESS_TLS_KEY=key.pem tigress relay

  # From a TOML file (keys: these options with underscores), and what is in effect.
  tigress relay --config /etc/tigress/relay.toml --print-config

Precedence: flags > TIGRESS_* variables > --config file > defaults. Logs go to stderr; RUST_LOG
filters them (default: info). The relay stops gracefully on SIGTERM or Ctrl-C, and reloads its
TLS certificate and key on SIGHUP.";

const SHARE_EXAMPLES: &str = "\
Examples:
  tigress share --relay https://relay.example --format digitalwallet.generic.authorizationToken \\
      --content key.json --title 'Room 12' --description 'Hotel room key, 3 nights' \\
      --image-url https://relay.example/hotel.png --expires-in 2h --qr

  # Content from stdin, URL and secret on separate lines, for separate channels.
  echo '{\"token\": \"abc\"}' | tigress share --relay https://relay.example --format f \\
      --content - --title Key --description Key --image-url https://relay.example/k.png \\
      --separate-secret

  # A car key: stays running, answers the friend's device, and grants its key the profile.
  tigress share --relay https://relay.example --format digitalwallet.carkey.ccc \\
      --profile guest.json --title 'Car key' --description 'Weekend loan' \\
      --image-url https://relay.example/car.png --stateful --owner-key owner.key \\
      --grant-out friend-grant.json

  # Pass on a car key this device holds, if its profile allows (no wider than it holds).
  tigress share --relay https://relay.example --format digitalwallet.carkey.ccc \\
      --profile narrower.json --title 'Car key' --description 'For the afternoon' \\
      --image-url https://relay.example/car.png --stateful --holder-key car-key.json

The share URL goes to stdout; progress and the QR code go to stderr.

";

const RECEIVE_EXAMPLES: &str = "\
Examples:
  tigress receive 'https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40?v=h#<secret>'

  # Secret received separately; no question asked; keep the mailbox for the sender.
  tigress receive https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40 \\
      --secret hXlr6aRC7KgJpOLTNZaLsw== --yes --keep > key.json

  # A car key: this device makes a key pair, has it granted, checks the grant, confirms it.
  tigress receive 'https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40?v=c#<secret>' \\
      --key-out car-key.json

  # The owner took the key back: delete it and send the owner the signed proof.
  tigress receive 'https://relay.example/v1/m/5b1c0e9a-3f0d-4c7a-9a51-2b8e7d6c5f40?v=c#<secret>' \\
      --key car-key.json

Only the Provisioning Information JSON (for a car key, the key granted) goes to stdout; the
preview and messages go to stderr.
If the mailbox cannot be deleted after a successful receive, a warning is printed and the exit
code is still 0: the credential was delivered, and the mailbox expires on its own.

";

/// `examples`, then the exit codes.
fn with_exit_codes(examples: &str) -> String {
    format!("{examples}{}", Exit::help())
}

const INSPECT_HELP: &str = "Examples:
  tigress inspect 'https://relay.example/v1/m/5b1c0e9a-3f0d-4c7a-9a51-2b8e7d6c5f40?v=h#hXlr6aRC7KgJpOLTNZaLsw=='
  tigress inspect --json \"$URL\" | jq .mailbox";

const COMPLETIONS_HELP: &str = "Examples:
  tigress completions bash > /etc/bash_completion.d/tigress
  tigress completions zsh > \"${fpath[1]}/_tigress\"
  tigress completions fish > ~/.config/fish/completions/tigress.fish";

/// Options of `tigress inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The share URL to explain; its secret is never printed.
    #[arg(value_name = "SHARE_URL", required_unless_present = "relay", conflicts_with = "relay")]
    pub share_url: Option<String>,

    /// Instead, ask the relay at this URL what it serves and allows (its descriptor,
    /// GET /.well-known/tigress-relay).
    #[arg(long, value_name = "URL")]
    pub relay: Option<String>,

    /// Print the explanation as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `tigress completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The `tigress` command.
#[derive(Debug, Parser)]
#[command(
    name = "tigress",
    version,
    about = "Share a digital key through a relay that stores only ciphertext",
    after_help = with_exit_codes(MAIN_EXAMPLES)
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a relay server.
    #[command(after_help = RELAY_HELP)]
    Relay(Box<RelayArgs>),
    /// Receive a share: preview it, accept it, print its Provisioning Information.
    #[command(after_help = with_exit_codes(RECEIVE_EXAMPLES))]
    Receive(ReceiveArgs),
    /// Share a credential: encrypt it, store it on a relay, print the share URL.
    #[command(after_help = with_exit_codes(SHARE_EXAMPLES))]
    Share(Box<ShareArgs>),
    /// Take back a car key shared (and every key passed on from it): send the holder's device
    /// the owner's signed termination and wait for its proof of deletion.
    #[command(after_help = with_exit_codes(REVOKE_EXAMPLES))]
    Revoke(RevokeArgs),
    /// Check a car key as the vehicle would: its chain back to the owner, the owner's
    /// terminations, the vehicle and the entitlement asked for.
    #[command(after_help = with_exit_codes(VERIFY_EXAMPLES))]
    Verify(VerifyArgs),
    /// Make a P-256 key pair as JWKs, for sealed fields: the private one to FILE, the public
    /// one on stdout.
    #[command(after_help = KEYGEN_EXAMPLES)]
    Keygen(KeygenArgs),
    /// Open the fields of received Provisioning Information sealed for a key (the issuer's
    /// side of a sealed field).
    #[command(after_help = with_exit_codes(UNSEAL_EXAMPLES))]
    Unseal(UnsealArgs),
    /// Run a narrated demonstration: a relay and both devices in this process.
    #[command(after_help = DEMO_HELP)]
    Demo(DemoArgs),
    /// Explain a share URL (relay, mailbox, kind of key, whether it carries a secret) without
    /// contacting the relay or printing the secret.
    #[command(after_help = INSPECT_HELP)]
    Inspect(InspectArgs),
    /// Print a shell completion script for tigress.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
}

/// Options of `tigress demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which exchange to show.
    #[arg(value_enum)]
    pub exchange: DemoExchange,
}

/// The demonstrations.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DemoExchange {
    /// A car key's whole life: shared with a profile, passed on, driven, taken back.
    CarKey,
}

const DEMO_HELP: &str = "\
Example:
  tigress demo car-key

Starts a relay on a free loopback port with a temporary store and plays the car's owner, a
friend, the friend's friend and the vehicle: the owner shares a key with a profile, the friend
passes it on, the vehicle admits it, the owner takes the friend's key back, the friend's device
proves it deleted it, and the vehicle refuses the key passed on. Every message is narrated.
Nothing leaves this machine.
";

const REVOKE_EXAMPLES: &str = "\
Examples:
  tigress revoke --relay https://relay.example --owner-key owner.key \\
      --grant friend-grant.json --termination-out termination.json

The share URL goes to stdout: send it to the holder's device, which runs `tigress receive URL
--key car-key.json`. Give the termination to the vehicle (`tigress verify --termination`).

";

const VERIFY_EXAMPLES: &str = "\
Examples:
  tigress verify --owner Zm9vYmFy… --vehicle vehicle-7f3a --action drive --key car-key.json
  tigress verify --owner Zm9vYmFy… --vehicle vehicle-7f3a --action drive --key car-key.json \\
      --termination termination.json

Prints what the key may do, or exits 9 naming the check that failed.

";

const KEYGEN_EXAMPLES: &str = "\
Examples:
  tigress keygen --kid hotel-pms --out hotel.jwk > hotel.pub.jwk

The private key goes to FILE, readable by its owner only; give the public one to senders
(`tigress share --seal-field /content/authorizationToken=hotel.pub.jwk`).
";

const UNSEAL_EXAMPLES: &str = "\
Examples:
  tigress receive \"$URL\" --json | tigress unseal --key hotel.jwk
  tigress unseal --key hotel.jwk --share <share binding> room.json

Reads what `tigress receive --json` printed (or the Provisioning Information alone, with
--share), opens every field sealed for the key, and prints the Provisioning Information.

";

/// Options of `tigress keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key's id (`kid`), which sealed values name.
    #[arg(long, value_name = "ID")]
    pub kid: String,

    /// Where to write the private key (a new file, readable by its owner only).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Options of `tigress unseal`.
#[derive(Debug, Args)]
pub struct UnsealArgs {
    /// The private key (a JWK, as `tigress keygen` made it).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// The share binding the fields were sealed for; read from the input when it is `tigress
    /// receive --json`'s.
    #[arg(long, value_name = "BINDING")]
    pub share: Option<String>,

    /// The input; `-` or nothing reads stdin.
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
}

/// Options of `tigress revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Base URL of the relay.
    #[arg(long, env = "TIGRESS_RELAY", value_name = "URL")]
    pub relay: String,

    /// The owner's key file (as `tigress share --stateful --owner-key` made it).
    #[arg(long, value_name = "FILE")]
    pub owner_key: PathBuf,

    /// The grant to take back (as `tigress share --grant-out` wrote it).
    #[arg(long, value_name = "FILE")]
    pub grant: PathBuf,

    /// Write the signed termination to FILE, for the vehicle.
    #[arg(long, value_name = "FILE")]
    pub termination_out: Option<PathBuf>,

    /// How long to wait for the holder's device.
    #[arg(long, value_name = "DURATION", default_value = "48h")]
    pub patience: humantime::Duration,

    /// Extra CA certificate (PEM) to trust, for a relay with a private or self-signed
    /// certificate.
    #[arg(long, env = "TIGRESS_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// Options of `tigress verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The owner's public key (base64url), as the vehicle knows it.
    #[arg(long, value_name = "PUBLIC_KEY")]
    pub owner: String,

    /// The vehicle's id.
    #[arg(long, value_name = "ID")]
    pub vehicle: String,

    /// What the key asks to do: unlock, lock, drive….
    #[arg(long, value_name = "ENTITLEMENT")]
    pub action: String,

    /// The key: a file `tigress receive --key-out` wrote, or its chain alone (a JSON array of
    /// signed grants).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// A termination the owner signed (`tigress revoke --termination-out`); may repeat.
    #[arg(long, value_name = "FILE")]
    pub termination: Vec<PathBuf>,
}

/// Options of `tigress share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// Base URL of the relay.
    #[arg(long, env = "TIGRESS_RELAY", value_name = "URL")]
    pub relay: String,

    /// Provisioning format, such as digitalwallet.carkey.ccc or
    /// digitalwallet.generic.authorizationToken.
    #[arg(long)]
    pub format: String,

    /// File holding the format-specific content, a JSON object; `-` reads stdin. For a
    /// stateful car key, the profile offered (--profile).
    #[arg(long, value_name = "FILE", visible_alias = "profile")]
    pub content: PathBuf,

    /// Preview title, public to anyone with the link.
    #[arg(long, required_unless_present = "display_url")]
    pub title: Option<String>,

    /// Preview description, public to anyone with the link.
    #[arg(long, required_unless_present = "display_url")]
    pub description: Option<String>,

    /// Preview picture: an https URL.
    #[arg(long, value_name = "URL", required_unless_present = "display_url")]
    pub image_url: Option<String>,

    /// Instead of the three above: the https URL of your own page with OpenGraph tags, which the
    /// relay's preview links to (and never fetches).
    #[arg(long, value_name = "URL", conflicts_with_all = ["title", "description", "image_url"])]
    pub display_url: Option<String>,

    /// Credential vertical: a cleartext routing hint in the URL, read before anything is decrypted.
    #[arg(long, value_enum)]
    pub vertical: Option<VerticalArg>,

    /// Lifetime of the share, such as 30m, 2h or 1day [default: the relay's, usually 48h].
    #[arg(long, value_name = "DURATION")]
    pub expires_in: Option<humantime::Duration>,

    /// Receiver's rights, letters of RWD [default: the relay's, RD].
    #[arg(long, value_name = "RIGHTS")]
    pub access_rights: Option<AccessRights>,

    /// How many devices may ever claim the share, counting those that let it go again
    /// [default: no cap; 1 makes the first claim final].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_receivers: Option<u32>,

    /// The relay's event endpoint (by the name its operator configured) that hears of the
    /// share's life: created, bound, each message, deleted or expired (docs/EVENTS.md).
    #[arg(long, value_name = "NAME")]
    pub event_endpoint: Option<String>,

    /// Encrypt with AES-256-GCM instead of AES-128-GCM.
    #[arg(long)]
    pub aes_256: bool,

    /// Print the URL without its secret on line 1 and the secret on line 2, for separate
    /// channels.
    #[arg(long)]
    pub separate_secret: bool,

    /// The path segment of the relay's mailboxes, /v1/SEGMENT, when its operator chose other
    /// than m (its descriptor's mailboxPath names it: `tigress inspect --relay`).
    #[arg(long, value_name = "SEGMENT", default_value = "m")]
    pub mailbox_path_segment: tigress_relay::MailboxSegment,

    /// Also draw the URL as a QR code on stderr.
    #[arg(long)]
    pub qr: bool,

    /// Print the share as one JSON object on stdout (`shareUrl`, `mailbox`, `relay`, and
    /// `secret` with --separate-secret) instead of plain lines.
    #[arg(long)]
    pub json: bool,

    /// Stay running and answer each step of a stateful share. Only the car key
    /// (digitalwallet.carkey.ccc) is stateful; its content file holds the profile offered:
    /// {"role", "notBefore", "notAfter", "limits", "shareDepth", "onwardRoles"}, the limits
    /// naming the "vehicle", the "entitlements" and optionally "maxSpeedKmh" (docs/LIFECYCLE.md).
    #[arg(long)]
    pub stateful: bool,

    /// With --stateful: file holding the owner's Ed25519 key (base64url); made and saved
    /// there, readable by the owner only, if it does not exist [default: a key for this share
    /// only].
    #[arg(long, value_name = "FILE", requires = "stateful", conflicts_with = "holder_key")]
    pub owner_key: Option<PathBuf>,

    /// With --stateful: pass on the car key this device holds (the file `tigress receive
    /// --key-out` wrote), if its profile allows; the offer must be no wider than it.
    #[arg(long, value_name = "FILE", requires = "stateful")]
    pub holder_key: Option<PathBuf>,

    /// With --stateful: write the grant made to FILE, to take the key back later (`tigress
    /// revoke --grant`).
    #[arg(long, value_name = "FILE", requires = "stateful")]
    pub grant_out: Option<PathBuf>,

    /// Seal a member of the content for a third party (its issuer): POINTER is a JSON Pointer
    /// from the document's root (/content/authorizationToken), FILE the recipient's public JWK.
    /// The receiving device carries the member but cannot read it. May repeat.
    #[arg(long, value_name = "POINTER=FILE", conflicts_with_all = ["stateful", "pin"])]
    pub seal_field: Vec<String>,

    /// How sealed fields' keys are agreed: ecdh-es+a256kw (a wrapped content key) or ecdh-es
    /// (direct).
    #[arg(long, value_name = "ALG", default_value = "ecdh-es+a256kw", value_parser = ["ecdh-es+a256kw", "ecdh-es"])]
    pub seal_alg: String,

    /// With --stateful or --pin: how long to wait for the other device at each step.
    #[arg(long, value_name = "DURATION", default_value = "48h")]
    pub patience: humantime::Duration,

    /// Require a PIN: the key stays on this device until the receiver's device proves the PIN,
    /// and three wrong PINs end the share. Give 4 to 12 digits, or leave the value out to have
    /// six generated and shown. Tell the PIN to the receiver over another channel (by voice),
    /// never with the link. The command then waits (see --patience) for the receiver.
    #[arg(long, value_name = "PIN", num_args = 0..=1, default_missing_value = "",
          conflicts_with = "stateful")]
    pub pin: Option<String>,

    /// Extra CA certificate (PEM) to trust, for a relay with a private or self-signed
    /// certificate.
    #[arg(long, env = "TIGRESS_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Device maker's private key (PKCS#8 PEM, P-256 or Ed25519) to attest the create with,
    /// for a relay that requires device attestation.
    #[arg(long, value_name = "FILE", requires = "attestation_key_id")]
    pub attestation_key: Option<PathBuf>,

    /// The id under which the relay's operator trusts that key.
    #[arg(long, value_name = "ID", requires = "attestation_key")]
    pub attestation_key_id: Option<String>,
}

/// Options of `tigress receive`.
#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// The share URL; its `#fragment`, if any, is the secret and is never sent.
    #[arg(value_name = "SHARE_URL")]
    pub share_url: String,

    /// The secret, when it came separately from the URL (base64); wins over the URL's fragment.
    #[arg(long, env = "TIGRESS_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// Keep the mailbox after receiving instead of deleting it.
    #[arg(long)]
    pub keep: bool,

    /// Print one JSON object on stdout: the Provisioning Information with the share's public
    /// preview, instead of the Provisioning Information alone.
    #[arg(long)]
    pub json: bool,

    /// Accept without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// For a car key: write the key this device now holds (its private key, the owner's
    /// public key and the chain) to FILE, readable by its user only.
    #[arg(long, value_name = "FILE")]
    pub key_out: Option<PathBuf>,

    /// For a car key's termination: the key it takes back (the file --key-out wrote), which is
    /// deleted once the owner has the signed proof.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// For a stateful or PIN share: how long to wait for the other device at each step.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub patience: humantime::Duration,

    /// For a share that needs a PIN: the PIN the sender told you. Without it, the PIN is asked
    /// for on the terminal (up to the attempts the sender allows).
    #[arg(long, env = "TIGRESS_PIN", hide_env_values = true, value_name = "PIN")]
    pub pin: Option<String>,

    /// Extra CA certificate (PEM) to trust, for a relay with a private or self-signed
    /// certificate.
    #[arg(long, env = "TIGRESS_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// The `--vertical` letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VerticalArg {
    /// General access (hotel keys and the like).
    #[value(name = "a", alias = "access")]
    Access,
    /// Car key.
    #[value(name = "c", alias = "car")]
    Car,
    /// Home key.
    #[value(name = "h", alias = "home")]
    Home,
}

impl From<VerticalArg> for Vertical {
    fn from(arg: VerticalArg) -> Self {
        match arg {
            VerticalArg::Access => Self::Access,
            VerticalArg::Car => Self::Car,
            VerticalArg::Home => Self::Home,
        }
    }
}
