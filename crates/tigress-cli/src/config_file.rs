//! The relay's configuration file (`tigress relay --config FILE`) and `--print-config`.
//!
//! A key of the file is the name of a setting of `settings.rs` (`max_body_bytes = 65536` for
//! `--max-body-bytes`); a `[push]` table may hold the push providers, shaped like the file of
//! `--push-config`. The file's values become the options' defaults and the command line is
//! parsed again, so clap's own order gives the precedence: flags, then `TIGRESS_*` environment
//! variables, then the file, then the built-in defaults. Each value is checked by its option's
//! own parser before that second parse, so a bad value is reported with the file and the key.
//! A key that names no option is an error that names it.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args as _, Command, CommandFactory as _, FromArgMatches as _};

use crate::args::{Cli, Command as Subcommand};
use crate::exit::UsageError;
use crate::settings::{KEYS, Origin, RelayArgs, Setting, Sources};

/// The name of the push providers' table in the file.
const PUSH_TABLE: &str = "push";

/// Keys whose values are secrets: `--print-config` shows them as [`REDACTED`].
const SECRET_KEYS: &[&str] = &["private_key_pem", "vapid_private_key_pem"];

/// What `--print-config` shows in place of a secret.
const REDACTED: &str = "[redacted]";

/// Parses the command line like `Cli::parse`, reading a `relay --config` file in between.
/// clap's own errors (and `--help`) print and exit as usual; a bad file is a [`UsageError`].
pub fn parse(argv: Vec<OsString>) -> anyhow::Result<Cli> {
    let matches = Cli::command().get_matches_from(&argv);
    let config_path =
        matches.subcommand_matches("relay").and_then(|relay| relay.get_one::<PathBuf>("config"));
    let Some(path) = config_path.cloned() else {
        return finish(&matches, &FileSettings::default());
    };
    let file = FileSettings::read(&path)?;
    let command = Cli::command().mut_subcommand("relay", |relay| file.as_defaults(relay));
    let matches = command.get_matches_from(&argv);
    finish(&matches, &file)
}

/// Builds the typed command line and, for `relay`, records where each setting came from.
fn finish(matches: &ArgMatches, file: &FileSettings) -> anyhow::Result<Cli> {
    let mut cli = Cli::from_arg_matches(matches).map_err(|e| UsageError(e.to_string()))?;
    if let (Subcommand::Relay(args), Some(relay)) =
        (&mut cli.command, matches.subcommand_matches("relay"))
    {
        args.sources =
            Sources { settings: settings(relay, file), push_table: file.push_table.clone() };
    }
    Ok(cli)
}

/// The options of `relay`, whose parsers check the file's values.
fn relay_command() -> Command {
    RelayArgs::augment_args(Command::new("relay"))
}

/// Every setting of `relay`, its effective value and origin.
fn settings(relay: &ArgMatches, file: &FileSettings) -> Vec<Setting> {
    KEYS.iter()
        .map(|&key| {
            let value = relay
                .get_raw(key)
                .and_then(|mut values| values.next())
                .map(|value| value.to_string_lossy().into_owned());
            let origin = match relay.value_source(key) {
                Some(ValueSource::CommandLine) => Origin::Flag,
                Some(ValueSource::EnvVariable) => Origin::Environment,
                _ if file.values.iter().any(|(k, _)| k == key) => Origin::File,
                _ => Origin::Default,
            };
            Setting { key: key.to_owned(), value, origin }
        })
        .collect()
}

/// The settings of one file, checked against the options of `relay`.
#[derive(Debug, Default)]
struct FileSettings {
    values: Vec<(String, String)>,
    push_table: Option<toml::Table>,
}

impl FileSettings {
    fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("could not read the configuration {}", path.display()))?;
        let invalid =
            |why: String| UsageError(format!("invalid configuration {}: {why}", path.display()));
        let table: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let relay = relay_command();
        let mut settings = Self::default();
        for (key, value) in table {
            if key == PUSH_TABLE {
                let toml::Value::Table(push) = value else {
                    return Err(invalid(format!("`{PUSH_TABLE}` must be a table")).into());
                };
                settings.push_table = Some(push);
                continue;
            }
            if !KEYS.contains(&key.as_str()) {
                return Err(invalid(unknown_key(&key)).into());
            }
            let text = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    let kind = other.type_str();
                    let why =
                        format!("`{key}` must be a string, an integer or a boolean, not {kind}");
                    return Err(invalid(why).into());
                }
            };
            check_value(&relay, &key, &text)
                .map_err(|e| invalid(format!("`{key}`: {}", first_line_of_clap_error(&e))))?;
            settings.values.push((key, text));
        }
        if settings.push_table.is_some() && settings.values.iter().any(|(k, _)| k == "push_config")
        {
            let why =
                "give the push providers either as `push_config` or as a [push] table, not both";
            return Err(invalid(why.into()).into());
        }
        Ok(settings)
    }

    /// `relay` with the file's values as its options' defaults.
    fn as_defaults(&self, mut relay: Command) -> Command {
        for (key, value) in &self.values {
            relay = relay.mut_arg(key, |arg| arg.default_value(value.clone()));
        }
        relay
    }
}

/// Runs `text` through the option's own parser, as the default of a command line that gives
/// nothing else (and reads no environment), so an error is about this value alone.
fn check_value(relay: &Command, key: &str, text: &str) -> Result<(), clap::Error> {
    relay
        .clone()
        .no_binary_name(true)
        .mut_args(|arg| arg.env(None::<&str>))
        .mut_arg(key, |arg| arg.default_value(text.to_owned()))
        .try_get_matches_from(Vec::<OsString>::new())
        .map(drop)
}

fn unknown_key(key: &str) -> String {
    let hint = if key.contains('-') {
        format!(" (keys use underscores: `{}`?)", key.replace('-', "_"))
    } else {
        String::new()
    };
    format!("unknown key `{key}`{hint}; the keys are the options of `tigress relay --help`")
}

fn first_line_of_clap_error(error: &clap::Error) -> String {
    let text = error.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// The effective configuration as a TOML file that `--config` accepts, with where each value
/// came from, and secrets redacted. `push` is the push configuration actually in use, as TOML.
pub fn render(sources: &Sources, push: Option<(&str, &toml::Table)>) -> String {
    let mut out = String::from(
        "# tigress relay: the effective configuration.\n\
         # Precedence: flags > environment > --config file > defaults. Secrets are redacted.\n",
    );
    for setting in &sources.settings {
        let Some(value) = &setting.value else {
            let _ = writeln!(out, "# {} is not set", setting.key);
            continue;
        };
        let value = if setting.key == "store" { redact_userinfo(value) } else { value.clone() };
        let _ =
            writeln!(out, "{} = {} # {}", setting.key, toml_value(&value), setting.origin.name());
    }
    if let Some((from, table)) = push {
        let mut table = table.clone();
        redact(&mut table);
        let mut wrapped = toml::Table::new();
        wrapped.insert(PUSH_TABLE.into(), toml::Value::Table(table));
        let text = toml::to_string(&wrapped).unwrap_or_default();
        if from == PUSH_TABLE {
            let _ = write!(out, "\n{text}");
        } else {
            // Read from `push_config`: shown for reference, commented so the output stays a
            // valid --config file.
            let _ = writeln!(out, "\n# The push providers, as read from {from}:");
            for line in text.lines() {
                let _ = writeln!(out, "# {line}");
            }
        }
    }
    out
}

/// A value as TOML: booleans and integers as such, everything else as a string. (The file
/// accepts any of them as a string too, so the output reads back the same either way.)
fn toml_value(value: &str) -> toml::Value {
    if let Ok(b) = value.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    match value.parse::<i64>() {
        Ok(n) => toml::Value::Integer(n),
        Err(_) => toml::Value::String(value.to_owned()),
    }
}

/// Replaces every secret value in `table`, at any depth.
fn redact(table: &mut toml::Table) {
    for (key, value) in table.iter_mut() {
        match value {
            toml::Value::Table(inner) => redact(inner),
            _ if SECRET_KEYS.contains(&key.as_str()) => {
                *value = toml::Value::String(REDACTED.into());
            }
            _ => {}
        }
    }
}

/// `redis-cluster://user:password@host:port,…` without the credentials.
fn redact_userinfo(store: &str) -> String {
    let Some(nodes) = store.strip_prefix("redis-cluster://") else {
        return store.to_owned();
    };
    let nodes: Vec<String> = nodes
        .split(',')
        .map(|node| match node.rsplit_once('@') {
            Some((_, host)) => format!("{REDACTED}@{host}"),
            None => node.to_owned(),
        })
        .collect();
    format!("redis-cluster://{}", nodes.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    fn relay(argv: &[&str]) -> anyhow::Result<RelayArgs> {
        let argv = ["tigress", "relay"].iter().chain(argv).map(OsString::from).collect();
        match parse(argv)?.command {
            Subcommand::Relay(args) => Ok(*args),
            other => panic!("parsed {other:?}"),
        }
    }

    fn origin(args: &RelayArgs, key: &str) -> Origin {
        args.sources.settings.iter().find(|s| s.key == key).unwrap().origin
    }

    #[test]
    fn file_values_fill_in_what_flags_leave_out() {
        let file =
            write("max_title_chars = 40\nmax_lifetime = \"1day\"\nlisten = \"127.0.0.1:9\"\n");
        let path = file.path().to_str().unwrap();
        let args = relay(&["--config", path, "--listen", "127.0.0.1:7"]).unwrap();
        assert_eq!(args.max_title_chars, 40);
        assert_eq!(args.max_lifetime.as_secs(), 86_400);
        // The flag wins over the file.
        assert_eq!(args.listen.port(), 7);
        assert_eq!(origin(&args, "listen"), Origin::Flag);
        assert_eq!(origin(&args, "max_title_chars"), Origin::File);
        assert_eq!(origin(&args, "max_body_bytes"), Origin::Default);
    }

    #[test]
    fn an_unknown_key_is_named() {
        let file = write("max_title_chars = 40\nmax-body-bytes = 10\n");
        let error = relay(&["--config", file.path().to_str().unwrap()]).unwrap_err();
        let message = error.to_string();
        assert!(error.is::<UsageError>(), "{message}");
        assert!(message.contains("unknown key `max-body-bytes`"), "{message}");
        assert!(message.contains("`max_body_bytes`?"), "{message}");

        let file = write("print_config = true\n");
        let message = relay(&["--config", file.path().to_str().unwrap()]).unwrap_err().to_string();
        assert!(message.contains("unknown key `print_config`"), "{message}");
    }

    #[test]
    fn a_bad_value_names_its_key_and_nothing_starts() {
        for (text, key) in [
            ("max_body_bytes = \"lots\"\n", "`max_body_bytes`"),
            ("max_body_bytes = -1\n", "`max_body_bytes`"),
            ("store = \"postgres\"\n", "`store`"),
            ("max_lifetime = 1.5\n", "`max_lifetime` must be a string"),
            ("push = 3\n", "`push` must be a table"),
            ("listen = [1]\n", "`listen` must be a string"),
        ] {
            let file = write(text);
            let message =
                relay(&["--config", file.path().to_str().unwrap()]).unwrap_err().to_string();
            assert!(message.contains(key), "{text}: {message}");
            assert!(message.contains(file.path().to_str().unwrap()), "{message}");
        }
    }

    #[test]
    fn a_missing_file_is_an_error_that_names_it() {
        let message = relay(&["--config", "/nonexistent/relay.toml"]).unwrap_err().to_string();
        assert!(message.contains("/nonexistent/relay.toml"), "{message}");
    }

    #[test]
    fn push_is_given_once() {
        let file = write("push_config = \"p.toml\"\n[push.web_push]\nsubject = \"mailto:a@b\"\n");
        let message = relay(&["--config", file.path().to_str().unwrap()]).unwrap_err().to_string();
        assert!(message.contains("not both"), "{message}");
    }

    #[test]
    fn the_printed_configuration_reads_back_the_same() {
        let file = write(
            "max_title_chars = 40\ninsecure_plain_http = true\nsweep_interval = \"5s\"\n\
             [push.web_push]\nsubject = \"mailto:ops@relay.example\"\n\
             vapid_private_key_pem = \"-----BEGIN PRIVATE KEY-----\\nsecret\"\n",
        );
        let args = relay(&["--config", file.path().to_str().unwrap()]).unwrap();
        let table = args.sources.push_table.clone().unwrap();
        let printed = render(&args.sources, Some((PUSH_TABLE, &table)));
        assert!(printed.contains("max_title_chars = 40 # file"), "{printed}");
        assert!(printed.contains("max_body_bytes = 65536 # default"), "{printed}");
        assert!(printed.contains("# public_url is not set"), "{printed}");
        assert!(printed.contains("vapid_private_key_pem = \"[redacted]\""), "{printed}");
        assert!(!printed.contains("secret"), "{printed}");

        let again = write(&printed);
        let reread = relay(&["--config", again.path().to_str().unwrap()]).unwrap();
        let values = |args: &RelayArgs| -> Vec<_> {
            args.sources.settings.iter().map(|s| (s.key.clone(), s.value.clone())).collect()
        };
        assert_eq!(values(&reread), values(&args));
    }

    #[test]
    fn credentials_in_a_store_url_are_redacted() {
        assert_eq!(
            redact_userinfo("redis-cluster://u:p@a:1,b:2"),
            "redis-cluster://[redacted]@a:1,b:2"
        );
        assert_eq!(redact_userinfo("sqlite"), "sqlite");
    }
}
