//! Every setting of `tigress relay`, declared once, in the table at the bottom of this module.
//!
//! A row gives the setting's name, the type its value is read as, its help (the doc comment),
//! and where its value goes in the relay's [`RelayConfig`]. Everything else follows from it:
//!
//! - the option `--max-body-bytes` and the variable `TIGRESS_MAX_BODY_BYTES` of the row
//!   `max_body_bytes`, with the row's help, value name and parser;
//! - the key `max_body_bytes` of the `--config` file ([`KEYS`]), checked by the same parser;
//! - the line of `--print-config`, which lists [`KEYS`] in order with each value's [`Origin`];
//! - the default: the value `RelayConfig::new` gives that field (and so `Limits::default()` and
//!   `AbuseLimits::default()`), so the relay and the command line cannot disagree;
//! - the relay's configuration, [`RelayArgs::relay_config`].
//!
//! A few settings are the command's own (the log format, and files it reads before the relay
//! starts): their rows give their default instead of a field. This module parses nothing and
//! reads no file; `config_file.rs` reads `--config` and prints `--print-config`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::{BoolishValueParser, EnumValueParser, ValueParser};
use clap::{Arg, ArgAction, ArgMatches, Command, ValueEnum};
use tigress_relay::{
    ClaimKeyConfig, Durability, MailboxSegment, ProxyNetworks, RelayConfig, StoreConfig, TlsFiles,
};

/// The relay's configuration when nothing is set: `RelayConfig::new`'s defaults, listening on
/// loopback port 8080 with its store in `./tigress-data`.
fn defaults() -> RelayConfig {
    RelayConfig::new(SocketAddr::from(([127, 0, 0, 1], 8080)), "./tigress-data")
}

/// Where a setting's value goes, and so where its default comes from.
enum Binding<T> {
    /// A part of the relay's configuration: the default is read from [`defaults`], and a value
    /// is put back in the same place.
    Relay {
        /// The setting's value in a configuration.
        read: fn(&RelayConfig) -> T,
        /// Puts a value in a configuration.
        write: fn(&mut RelayConfig, T),
    },
    /// A setting of the command itself, not of the relay, with its default.
    Command(T),
}

impl<T: Kind> Binding<T> {
    /// The default as `--help` shows it and clap parses it; `None` when unset by default.
    fn default_text(&self, defaults: &RelayConfig) -> Option<String> {
        match self {
            Self::Relay { read, .. } => read(defaults).text(),
            Self::Command(value) => value.text(),
        }
    }

    fn write(self, config: &mut RelayConfig, value: T) {
        if let Self::Relay { write, .. } = self {
            write(config, value);
        }
    }
}

/// The binding of a setting kept as it is (or through `From`/`Into`) in one field of the
/// relay's configuration.
macro_rules! field {
    ($($field:ident).+) => {
        Binding::Relay {
            read: |config| config.$($field).+.clone().into(),
            write: |config, value| config.$($field).+ = value.into(),
        }
    };
}

/// A type a setting's value is read as: how clap parses it, and how its default is written.
trait Kind: Clone + Send + Sync + 'static {
    /// The parser of one value, on the command line, in a variable or in the file.
    fn parser() -> ValueParser;

    /// How the option takes its value.
    fn action() -> ArgAction {
        ArgAction::Set
    }

    /// The value as text that the parser reads back the same; `None` for an unset option.
    fn text(&self) -> Option<String>;

    /// The parsed value; `None` when clap has none (only an option without a default).
    fn take(matches: &ArgMatches, key: &str) -> Option<Self> {
        matches.get_one::<Self>(key).cloned()
    }
}

/// Types read with their `FromStr` and written with their `Display`.
macro_rules! displayed_kinds {
    ($($ty:ty),+) => {
        $(impl Kind for $ty {
            fn parser() -> ValueParser {
                clap::value_parser!($ty).into()
            }

            fn text(&self) -> Option<String> {
                Some(self.to_string())
            }
        })+
    };
}

displayed_kinds!(
    SocketAddr,
    String,
    usize,
    u32,
    u64,
    humantime::Duration,
    StoreConfig,
    ProxyNetworks,
    MailboxSegment
);

impl Kind for PathBuf {
    fn parser() -> ValueParser {
        clap::value_parser!(PathBuf)
    }

    fn text(&self) -> Option<String> {
        Some(self.display().to_string())
    }
}

/// A switch: given alone it is on; a variable or the file may say `true`, `yes`, `0`...
impl Kind for bool {
    fn parser() -> ValueParser {
        BoolishValueParser::new().into()
    }

    fn action() -> ArgAction {
        ArgAction::SetTrue
    }

    fn text(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl Kind for LogFormat {
    fn parser() -> ValueParser {
        EnumValueParser::<Self>::new().into()
    }

    fn text(&self) -> Option<String> {
        self.to_possible_value().map(|value| value.get_name().to_owned())
    }
}

/// An option that may be left unset.
impl<T: Kind> Kind for Option<T> {
    fn parser() -> ValueParser {
        T::parser()
    }

    fn action() -> ArgAction {
        T::action()
    }

    fn text(&self) -> Option<String> {
        self.as_ref().and_then(Kind::text)
    }

    fn take(matches: &ArgMatches, key: &str) -> Option<Self> {
        Some(T::take(matches, key))
    }
}

/// How the relay writes its logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines.
    Text,
}

/// The option of one setting: `--key-with-dashes`, `TIGRESS_KEY_IN_CAPITALS`, the help from
/// its doc comment (read as clap's derive reads one), and its default.
fn option<T: Kind>(key: &'static str, doc: &[&str], default: Option<String>) -> Arg {
    let (help, long_help) = help_text(doc);
    let mut arg = Arg::new(key)
        .long(key.replace('_', "-"))
        .env(format!("TIGRESS_{}", key.to_ascii_uppercase()))
        .value_name(key.to_ascii_uppercase())
        .help(help)
        .value_parser(T::parser())
        .action(T::action());
    if let Some(long_help) = long_help {
        arg = arg.long_help(long_help);
    }
    if let Some(default) = default {
        arg = arg.default_value(default);
    }
    arg
}

/// A doc comment as clap's derive makes help of it: the first paragraph, its lines joined and
/// its final period dropped, as the short help; every paragraph as the long help, if several.
fn help_text(doc: &[&str]) -> (String, Option<String>) {
    let lines: Vec<&str> = doc.iter().flat_map(|text| text.split('\n')).map(str::trim).collect();
    let paragraphs: Vec<String> = lines
        .split(|line| line.is_empty())
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| paragraph.join(" "))
        .collect();
    let first = paragraphs.first().cloned().unwrap_or_default();
    let short = match first.strip_suffix('.') {
        Some(stripped) if !first.ends_with("..") => stripped.to_owned(),
        _ => first,
    };
    let long = (paragraphs.len() > 1).then(|| paragraphs.join("\n\n"));
    (short, long)
}

/// `--config`, `--print-config` and `--health-check`: how to read the settings and what to do
/// with them, not settings themselves.
fn reading_options(command: Command) -> Command {
    command
        .arg(
            Arg::new("config")
                .long("config")
                .env("TIGRESS_CONFIG")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help(
                    "TOML file of settings: each option above by its name with underscores \
                     (e.g. `max_body_bytes = 65536`), and an optional [push] table like \
                     --push-config's file. Options on the command line and TIGRESS_* variables \
                     override it; an unknown key is an error",
                ),
        )
        .arg(Arg::new("print_config").long("print-config").action(ArgAction::SetTrue).help(
            "Print the effective configuration as TOML (where each value came from, \
                     secrets redacted) and exit without starting the relay",
        ))
        .arg(
            Arg::new("health_check")
                .long("health-check")
                .action(ArgAction::SetTrue)
                .conflicts_with("print_config")
                .help(
                    "Do not start a relay: ask the one these settings describe, on this machine, \
                     whether it serves (GET /healthz on its listen address, its certificate \
                     checked for the public URL's name), and exit 0 if it does. For a \
                     container's health check",
                ),
        )
}

/// Where the relay's settings came from, kept for `--print-config` and the push providers.
#[derive(Clone, Default)]
pub struct Sources {
    /// Each setting in the order of [`KEYS`]: its key, its value as given (none when unset),
    /// and where it came from.
    pub settings: Vec<Setting>,
    /// The file's `[push]` table, if it had one.
    pub push_table: Option<toml::Table>,
}

impl std::fmt::Debug for Sources {
    // The push table holds private keys: only say whether there is one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("settings", &self.settings.len())
            .field("push_table", &self.push_table.is_some())
            .finish()
    }
}

/// One setting's effective value.
#[derive(Clone, Debug)]
pub struct Setting {
    /// The key in the file: the option's name with underscores.
    pub key: String,
    /// The value as the option parser saw it; `None` when the option is unset.
    pub value: Option<String>,
    /// Which of flag, environment, file or default gave it.
    pub origin: Origin,
}

/// Where a setting's value came from, in order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The command line.
    Flag,
    /// A `TIGRESS_*` environment variable.
    Environment,
    /// The `--config` file.
    File,
    /// The built-in default (or unset).
    Default,
}

impl Origin {
    /// The word `--print-config` writes after each value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Environment => "environment",
            Self::File => "file",
            Self::Default => "default",
        }
    }
}

/// Generates, from the table of settings, [`RelayArgs`] (a clap `Args`), [`KEYS`] and
/// [`RelayArgs::relay_config`]. A row: doc comment, `name: Type`, optionally `as "VALUE_NAME"`
/// and `, requires other_setting`, then `=>` its [`Binding`].
macro_rules! relay_settings {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident: $ty:ty $(as $value_name:literal)? $(, requires $requires:ident)?
            => $binding:expr;
    )+) => {
        /// Options of `tigress relay`: every setting, and how to read them.
        #[derive(Debug)]
        pub struct RelayArgs {
            $($(#[doc = $doc])+ pub $name: $ty,)+
            /// The `--config` file, if any.
            pub config: Option<PathBuf>,
            /// Print the configuration instead of running the relay.
            pub print_config: bool,
            /// Ask the running relay whether it serves instead of running one.
            pub health_check: bool,
            /// Where each setting came from; filled in by `config_file::parse`.
            pub sources: Sources,
        }

        /// The settings' keys in the `--config` file, in the order of `tigress relay --help`.
        pub const KEYS: &[&str] = &[$(stringify!($name)),+];

        /// Each setting's binding, by the setting's name.
        mod binding {
            use super::*;

            $(pub(super) fn $name() -> Binding<$ty> {
                $binding
            })+
        }

        impl RelayArgs {
            /// The relay's configuration: [`defaults`], with each setting put in its place.
            pub fn relay_config(&self) -> RelayConfig {
                let mut config = defaults();
                $(binding::$name().write(&mut config, self.$name.clone());)+
                config
            }
        }

        impl clap::Args for RelayArgs {
            fn augment_args(command: Command) -> Command {
                let defaults = defaults();
                $(
                    let default = binding::$name().default_text(&defaults);
                    let arg = option::<$ty>(stringify!($name), &[$($doc),+], default);
                    $(let arg = arg.value_name($value_name);)?
                    $(let arg = arg.requires(stringify!($requires)); let _ = binding::$requires;)?
                    let command = command.arg(arg);
                )+
                reading_options(command)
            }

            fn augment_args_for_update(command: Command) -> Command {
                Self::augment_args(command)
            }
        }

        impl clap::FromArgMatches for RelayArgs {
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                Ok(Self {
                    $($name: take(matches, stringify!($name))?,)+
                    config: matches.get_one::<PathBuf>("config").cloned(),
                    print_config: matches.get_flag("print_config"),
                    health_check: matches.get_flag("health_check"),
                    sources: Sources::default(),
                })
            }

            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                let sources = std::mem::take(&mut self.sources);
                *self = Self::from_arg_matches(matches)?;
                self.sources = sources;
                Ok(())
            }
        }
    };
}

/// The value of the setting `key`, which has one (it has a default) unless it is optional.
fn take<T: Kind>(matches: &ArgMatches, key: &str) -> Result<T, clap::Error> {
    T::take(matches, key).ok_or_else(|| {
        let message = format!("--{} needs a value", key.replace('_', "-"));
        clap::Error::raw(clap::error::ErrorKind::MissingRequiredArgument, message)
    })
}

relay_settings! {
    /// Address and port to listen on.
    listen: SocketAddr => field!(listen);

    /// Serve Prometheus metrics (OpenMetrics text, `GET /metrics`) on this second, plain-HTTP
    /// address; off by default. Bind it where only the monitoring system reaches.
    metrics_listen: Option<SocketAddr> as "ADDR" => field!(metrics_listen);

    /// Where mailboxes are kept: `sqlite` (the embedded store in --data-dir, for one relay) or
    /// `redis-cluster://host:port[,host:port...]` (a Redis Cluster shared by several relays).
    store: StoreConfig as "STORE" => field!(store);

    /// With the Redis Cluster store: answer a write only once this many replicas hold it, so
    /// that a master's failover loses no acknowledged share (503 with Retry-After when they do
    /// not within a second). 0: answer once the master has it.
    redis_replica_acks: u32 as "N" => field!(redis_replica_acks);

    /// Directory of the SQLite store; created if missing.
    data_dir: PathBuf => field!(data_dir);

    /// Public base URL used in share links, such as https://relay.example [default: derived
    /// from --listen]
    public_url: Option<String> as "URL" => field!(public_url);

    /// The path segment of the mailboxes, /v1/SEGMENT/ID (1 to 32 lowercase letters, digits,
    /// - or _), for clients built with another path than m; share links, the descriptor, the
    /// OpenAPI document and the app link files follow it.
    mailbox_path_segment: MailboxSegment as "SEGMENT" => field!(mailbox_segment);

    /// TLS certificate chain (PEM, leaf first).
    // Half a pair, completed by the next row: TLS needs both files. clap makes each option
    // require the other, but a --config file may give one alone, which is then ignored.
    tls_cert: Option<PathBuf> as "FILE", requires tls_key => Binding::Relay {
        read: |config| config.tls.as_ref().map(|tls| tls.cert.clone()),
        write: |config, cert| config.tls = cert.map(|cert| TlsFiles { cert, key: PathBuf::new() }),
    };

    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1).
    tls_key: Option<PathBuf> as "FILE", requires tls_cert => Binding::Relay {
        read: |config| config.tls.as_ref().map(|tls| tls.key.clone()),
        write: |config, key| {
            config.tls = config.tls.take().zip(key).map(|(tls, key)| TlsFiles { key, ..tls });
        },
    };

    /// Serve plain HTTP on a non-loopback address, because a TLS-terminating proxy sits in front.
    insecure_plain_http: bool => field!(insecure_plain_http);

    /// Largest request body, in bytes.
    max_body_bytes: usize as "N" => field!(limits.max_body_bytes);

    /// Longest display title, in characters.
    max_title_chars: usize as "N" => field!(limits.max_title_chars);

    /// Longest display description, in characters.
    max_description_chars: usize as "N" => field!(limits.max_description_chars);

    /// Longest display image URL, in characters.
    max_image_url_chars: usize as "N" => field!(limits.max_image_url_chars);

    /// Longest payload type name, in characters.
    max_payload_type_chars: usize as "N" => field!(limits.max_payload_type_chars);

    /// Longest notification token type, in characters.
    max_token_type_chars: usize as "N" => field!(limits.max_token_type_chars);

    /// Longest notification token data, in characters.
    max_token_data_chars: usize as "N" => field!(limits.max_token_data_chars);

    /// Lifetime of a share created without an expiration.
    default_lifetime: humantime::Duration as "DURATION" => field!(limits.default_lifetime);

    /// Longest lifetime of a share; later expirations are clamped to it.
    max_lifetime: humantime::Duration as "DURATION" => field!(limits.max_lifetime);

    /// How long one request may take, once its headers are in, before it is answered 408.
    request_timeout: humantime::Duration as "DURATION" => field!(limits.request_timeout);

    /// How long a client may take to send its request headers before the connection is closed.
    header_read_timeout: humantime::Duration as "DURATION" => field!(limits.header_read_timeout);

    /// Most messages in one mailbox's log, the first included (409 beyond).
    max_messages: u64 as "N" => field!(limits.max_messages);

    /// Longest `Prefer: wait` a read may wait for the peer's next message.
    max_wait: humantime::Duration as "DURATION" => field!(limits.max_wait);

    /// Most client connections open at once; new ones beyond are closed on arrival (counted in
    /// tigress_connections_refused_total). Keep it below the descriptor limit (ulimit -n).
    max_connections: usize as "N" => field!(limits.max_connections);

    /// How long a connection may be silent both ways before it is closed; never less than
    /// --request-timeout plus --max-wait plus a second.
    idle_timeout: humantime::Duration as "DURATION" => field!(limits.idle_timeout);

    /// Mailboxes one client address may create a minute (in a burst of as many); 0: no limit.
    creates_per_minute: u32 as "N" => field!(abuse.creates_per_minute);

    /// Mailboxes one tenant's devices may create a minute (in a burst of as many), where a
    /// tenant is the --attestation-keys key that verified the create; 0: no limit. Only with
    /// --attestation-keys; counted per relay process.
    tenant_creates_per_minute: u32 as "N" => field!(abuse.tenant_creates_per_minute);

    /// Refused claims on mailboxes another device holds, per client address a minute; over it,
    /// that client's refused claims are answered 429 until the limit refills (its own
    /// mailboxes are never refused for it). 0: no limit.
    refused_claims_per_minute: u32 as "N" => field!(abuse.refused_claims_per_minute);

    /// Refused claims on one mailbox a minute, from any addresses; over it, further refused
    /// claims on that mailbox are answered 429. 0: no limit.
    refused_claims_per_mailbox_per_minute: u32 as "N" =>
        field!(abuse.refused_claims_per_mailbox_per_minute);

    /// Requests that register a push token (create, read or update with notificationToken) per
    /// client address a minute; beyond, the token is left out and the request served without
    /// it. 0: no limit.
    token_registrations_per_minute: u32 as "N" => field!(abuse.token_registrations_per_minute);

    /// Most mailboxes the SQLite store holds; creates beyond are answered 503. 0: no cap.
    /// (A Redis Cluster store is bounded by its own maxmemory.)
    max_mailboxes: u64 as "N" => Binding::Relay {
        read: |config| config.abuse.max_mailboxes.unwrap_or(0),
        write: |config, cap| config.abuse.max_mailboxes = (cap > 0).then_some(cap),
    };

    /// Header in which a trusted reverse proxy passes the client's address (X-Forwarded-For,
    /// or Forwarded). It is read only on connections from --trusted-proxies, and its right-most
    /// entry that is not a trusted proxy is the client: clients can write anything in it.
    client_address_header: Option<String> as "NAME" => field!(abuse.client_address_header);

    /// The networks of the reverse proxies whose client address header is believed,
    /// comma-separated (e.g. 10.0.0.0/8,2001:db8::/32).
    trusted_proxies: ProxyNetworks as "NETWORKS" => field!(abuse.trusted_proxies);

    /// TOML file of the device makers' public keys whose attestation every create must carry
    /// ([[key]] entries with `id` and `public_key`, a PEM); see docs/API.md. Without it the
    /// attestation header is ignored.
    // Read by `relay.rs` into `RelayConfig::attestation` before the relay starts.
    attestation_keys: Option<PathBuf> as "FILE" => Binding::Command(None);

    /// File holding the key of the stored claim digests (64 hex digits: `openssl rand -hex 32`),
    /// kept outside the store; give every relay of one Redis Cluster the same. [default: on
    /// SQLite, claim-key in --data-dir, made on first start; on a Redis Cluster, none]
    claim_key_file: Option<PathBuf> as "FILE" => Binding::Relay {
        read: |config| match &config.claim_key {
            ClaimKeyConfig::File(path) => Some(path.clone()),
            ClaimKeyConfig::Default | ClaimKeyConfig::Off => None,
        },
        write: |config, path| {
            config.claim_key = path.map_or(ClaimKeyConfig::Default, ClaimKeyConfig::File);
        },
    };

    /// TOML file naming the apps a share link opens: apple_app_ids = ["TEAMID.bundle.id"] and
    /// [[android]] entries with package and sha256_cert_fingerprints; served as
    /// /.well-known/apple-app-site-association and /.well-known/assetlinks.json (see
    /// docs/OPERATIONS.md). Without it both answer 404. Optional app_name, app_store_url and
    /// play_store_url are named on the preview page.
    // Read by `relay.rs` into `RelayConfig::app_links` before the relay starts.
    app_links: Option<PathBuf> as "FILE" => Binding::Command(None);

    /// TOML file configuring push providers ([apns], [fcm], [web_push]); see docs/PUSH.md.
    /// Without it, no push is sent and clients wait with long-polling reads.
    // Read by `relay.rs` into `RelayConfig::push`, or the file's [push] table instead.
    push_config: Option<PathBuf> as "FILE" => Binding::Command(None);

    /// TOML file of the owners' backends that hear of mailboxes' lives: [[endpoint]] entries
    /// with name, url (https) and secret (whsec_…), and optional give_up_after,
    /// max_retry_interval and ca_file; see docs/EVENTS.md. A create names an endpoint in
    /// mailboxConfiguration.eventEndpoint. Without it, no event is sent.
    // Read by `relay.rs` into `RelayConfig::events` before the relay starts.
    events_config: Option<PathBuf> as "FILE" => Binding::Command(None);

    /// How often expired mailboxes are erased.
    sweep_interval: humantime::Duration as "DURATION" => field!(sweep_interval);

    /// Commit without waiting for the disk, for benchmarks only: a crash may lose recent shares.
    danger_no_fsync: bool => Binding::Relay {
        read: |config| config.durability == Durability::DangerOff,
        write: |config, no_fsync| {
            config.durability = if no_fsync { Durability::DangerOff } else { Durability::Full };
        },
    };

    /// Log line format.
    log_format: LogFormat => Binding::Command(LogFormat::Text);
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, FromArgMatches as _};

    use super::*;

    fn relay_args(argv: &[&str]) -> Result<RelayArgs, clap::Error> {
        let command = RelayArgs::augment_args(Command::new("relay")).no_binary_name(true);
        RelayArgs::from_arg_matches(&command.try_get_matches_from(argv)?)
    }

    #[test]
    fn with_nothing_set_the_relay_gets_its_own_defaults() {
        let config = relay_args(&[]).unwrap().relay_config();
        assert_eq!(format!("{config:?}"), format!("{:?}", defaults()));
        assert_eq!(config.limits.max_body_bytes, tigress_relay::Limits::default().max_body_bytes);
        assert_eq!(config.abuse, tigress_relay::AbuseLimits::default());
    }

    #[test]
    fn each_setting_s_option_variable_and_key_follow_from_its_name() {
        let command = RelayArgs::augment_args(Command::new("relay"));
        let options: Vec<_> = command.get_arguments().map(|arg| arg.get_id().as_str()).collect();
        assert_eq!(&options[..KEYS.len()], KEYS, "the settings, in the table's order");
        assert_eq!(&options[KEYS.len()..], ["config", "print_config", "health_check"]);
        let arg = command.get_arguments().find(|arg| arg.get_id() == "max_body_bytes").unwrap();
        assert_eq!(arg.get_long(), Some("max-body-bytes"));
        assert_eq!(arg.get_env().and_then(|env| env.to_str()), Some("TIGRESS_MAX_BODY_BYTES"));
        assert_eq!(arg.get_default_values(), ["65536"]);
    }

    #[test]
    fn settings_reach_their_place_in_the_relay_s_configuration() {
        let args = relay_args(&[
            "--max-mailboxes",
            "0",
            "--danger-no-fsync",
            "--tls-key",
            "k.pem",
            "--tls-cert",
            "c.pem",
            "--client-address-header",
            "X-Forwarded-For",
            "--log-format",
            "json",
        ])
        .unwrap();
        assert_eq!(args.log_format, LogFormat::Json);
        let config = args.relay_config();
        assert_eq!(config.abuse.max_mailboxes, None);
        assert_eq!(config.durability, Durability::DangerOff);
        let tls = config.tls.unwrap();
        assert_eq!((tls.cert.to_str(), tls.key.to_str()), (Some("c.pem"), Some("k.pem")));
        assert_eq!(config.abuse.client_address_header.as_deref(), Some("X-Forwarded-For"));
    }

    #[test]
    fn tls_needs_both_files_even_when_a_file_gives_one() {
        let mut config = defaults();
        binding::tls_cert().write(&mut config, Some("c.pem".into()));
        binding::tls_key().write(&mut config, None);
        assert!(config.tls.is_none());
    }

    #[test]
    fn help_is_made_of_the_doc_comment_as_clap_s_derive_makes_it() {
        assert_eq!(
            help_text(&[" Two lines,", " one sentence."]),
            ("Two lines, one sentence".into(), None)
        );
        assert_eq!(help_text(&[" Wait..."]).0, "Wait...");
        let (short, long) = help_text(&[" First.", "", " Second."]);
        assert_eq!((short.as_str(), long.as_deref()), ("First", Some("First.\n\nSecond.")));
    }
}
