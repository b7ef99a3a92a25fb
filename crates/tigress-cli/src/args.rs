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

  # A car key: stays running, answers the friend's device, and signs its key.
  echo '{\"vehicleId\": \"vehicle-7f3a\", \"entitlements\": [\"unlock\", \"drive\"],
         \"validFrom\": \"2030-06-01T08:00:00Z\", \"validUntil\": \"2030-06-03T20:00:00Z\"}' |
  tigress share --relay https://relay.example --format digitalwallet.carkey.ccc --content - \\
      --title 'Car key' --description 'Weekend loan' --image-url https://relay.example/car.png \\
      --stateful --owner-key owner.seed

The share URL goes to stdout; progress and the QR code go to stderr.

";

const RECEIVE_EXAMPLES: &str = "\
Examples:
  tigress receive 'https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40?v=h#<secret>'

  # Secret received separately; no question asked; keep the mailbox for the sender.
  tigress receive https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40 \\
      --secret hXlr6aRC7KgJpOLTNZaLsw== --yes --keep > key.json

  # A car key: this device makes a key pair, asks the owner to sign it, verifies the signature.
  tigress receive 'https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40?v=c#<secret>' \\
      --key-out car-key.seed

Only the Provisioning Information JSON (for a car key, the provisioned key) goes to stdout; the
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
    /// The stateful car-key share: invitation, key-creation request, owner signature.
    CarKey,
}

const DEMO_HELP: &str = "\
Example:
  tigress demo car-key

Starts a relay on a free loopback port with a temporary store, plays the car owner and the
friend, and narrates every message. Nothing leaves this machine.
";

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

    /// File holding the format-specific content, a JSON object; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
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
    /// (digitalwallet.carkey.ccc) is stateful; its content file holds the offer:
    /// {"vehicleId", "entitlements", "validFrom", "validUntil"}.
    #[arg(long)]
    pub stateful: bool,

    /// With --stateful: file holding the owner's Ed25519 key (base64 seed); made and saved
    /// there, readable by the owner only, if it does not exist [default: a key for this share
    /// only].
    #[arg(long, value_name = "FILE", requires = "stateful")]
    pub owner_key: Option<PathBuf>,

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

    /// For a car key: write this device's new private key (base64 seed) to FILE, readable by
    /// the owner only.
    #[arg(long, value_name = "FILE")]
    pub key_out: Option<PathBuf>,

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
