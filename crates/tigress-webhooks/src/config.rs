//! The endpoints an operator configures, and how long their events are retried.
//!
//! A create names an endpoint by its name only: the relay calls no address a client gave it.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

/// Default for how long an event is retried before it is given up: a receiver down over a
/// weekend still gets every event.
const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);

/// Default for the longest wait between two attempts.
const DEFAULT_MAX_RETRY_INTERVAL: Duration = Duration::from_secs(300);

/// The wait after a first failed attempt; each later failure doubles it.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The longest endpoint name.
const MAX_NAME: usize = 64;

/// A signing secret's shortest and longest key, in bytes (Standard Webhooks' bounds).
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Why an events configuration was refused. Never quotes a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An endpoint name is empty, too long, or has characters other than `a-z 0-9 - _ .`.
    #[error("endpoint name `{0}` must be 1 to 64 of a-z, 0-9, '-', '_' and '.'")]
    Name(String),
    /// Two endpoints share a name.
    #[error("endpoint `{0}` is configured twice")]
    Duplicate(String),
    /// An endpoint's URL is not an https URL without credentials or fragment.
    #[error("endpoint `{0}`: the url must be https, without user name, password or fragment")]
    Url(String),
    /// A secret is not `whsec_` and the base64 of 24 to 64 bytes.
    #[error("endpoint `{0}`: the secret must be `whsec_` followed by the base64 of 24 to 64 bytes")]
    Secret(String),
    /// A duration is zero.
    #[error("`{0}` must be more than zero")]
    Duration(&'static str),
}

/// An endpoint's name, as a create gives it in `mailboxConfiguration.eventEndpoint`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointName(String);

impl EndpointName {
    /// Checks a name.
    pub fn parse(name: &str) -> Result<Self, ConfigError> {
        let allowed = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.');
        if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(allowed) {
            return Err(ConfigError::Name(name.chars().take(MAX_NAME).collect()));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A signing secret: `whsec_` and base64, as Standard Webhooks writes them. The key is the
/// decoded bytes.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Parses `whsec_<base64>`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let key = STANDARD.decode(text.strip_prefix("whsec_")?).ok()?;
        SECRET_BYTES.contains(&key.len()).then_some(Self(key))
    }

    /// The HMAC key.
    pub fn key(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// One endpoint of the owner's backend.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// What a create names.
    pub name: EndpointName,
    /// Where events are posted.
    pub url: url::Url,
    /// What they are signed with.
    pub secret: Secret,
}

/// The relay's event endpoints and retry policy. The default has no endpoint: no event is
/// recorded and a create that names one is refused.
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// The endpoints, by name.
    pub endpoints: Vec<Endpoint>,
    /// How long after an event happened its delivery is given up.
    pub give_up_after: Duration,
    /// The longest wait between two attempts at one event.
    pub max_retry_interval: Duration,
    /// A PEM file of certificate authorities to trust besides the public ones (an owner's
    /// backend on a private CA).
    pub ca_file: Option<PathBuf>,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            give_up_after: DEFAULT_GIVE_UP_AFTER,
            max_retry_interval: DEFAULT_MAX_RETRY_INTERVAL,
            ca_file: None,
        }
    }
}

impl EventsConfig {
    /// The endpoint of this name.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name.as_str() == name)
    }

    /// How long to wait after the `failures`-th failed attempt (1 for the first): one second,
    /// doubling each time, at most [`max_retry_interval`](Self::max_retry_interval).
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        FIRST_RETRY.saturating_mul(1 << doublings).min(self.max_retry_interval)
    }
}

/// The file's shape (docs/EVENTS.md): `give_up_after`, `max_retry_interval`, `ca_file`, and
/// `[[endpoint]]` tables of `name`, `url` and `secret`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    give_up_after: Option<String>,
    #[serde(default)]
    max_retry_interval: Option<String>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    endpoint: Vec<FileEndpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEndpoint {
    name: String,
    url: String,
    secret: String,
}

impl<'de> Deserialize<'de> for EventsConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = File::deserialize(deserializer)?;
        Self::try_from(file).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<File> for EventsConfig {
    type Error = String;

    fn try_from(file: File) -> Result<Self, String> {
        let mut config = Self { ca_file: file.ca_file, ..Self::default() };
        if let Some(text) = file.give_up_after {
            config.give_up_after = duration("give_up_after", &text)?;
        }
        if let Some(text) = file.max_retry_interval {
            config.max_retry_interval = duration("max_retry_interval", &text)?;
        }
        for endpoint in file.endpoint {
            let endpoint = endpoint.check().map_err(|e| e.to_string())?;
            if config.endpoint(endpoint.name.as_str()).is_some() {
                return Err(ConfigError::Duplicate(endpoint.name.0).to_string());
            }
            config.endpoints.push(endpoint);
        }
        Ok(config)
    }
}

impl FileEndpoint {
    fn check(self) -> Result<Endpoint, ConfigError> {
        let name = EndpointName::parse(&self.name)?;
        let bad_url = || ConfigError::Url(name.0.clone());
        let url = url::Url::parse(&self.url).map_err(|_| bad_url())?;
        if url.scheme() != "https"
            || url.host().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.fragment().is_some()
        {
            return Err(bad_url());
        }
        let secret =
            Secret::parse(&self.secret).ok_or_else(|| ConfigError::Secret(name.0.clone()))?;
        Ok(Endpoint { name, url, secret })
    }
}

fn duration(key: &'static str, text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| format!("`{key}`: {e}"))?;
    if duration.is_zero() {
        return Err(ConfigError::Duration(key).to_string());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn parse(text: &str) -> Result<EventsConfig, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_file_gives_endpoints_and_retry_policy() {
        let config = parse(&format!(
            "give_up_after = \"2h\"\nmax_retry_interval = \"30s\"\n\
             [[endpoint]]\nname = \"fleet\"\nurl = \"https://events.example/tigress\"\nsecret = \"{SECRET}\"\n"
        ))
        .unwrap();
        assert_eq!(config.give_up_after, Duration::from_secs(7200));
        let fleet = config.endpoint("fleet").unwrap();
        assert_eq!(fleet.url.as_str(), "https://events.example/tigress");
        assert!(config.endpoint("other").is_none());
        assert!(!format!("{config:?}").contains("MfKQ"), "a secret was shown: {config:?}");
        let delays: Vec<u64> = (1..=7).map(|n| config.retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(config.retry_delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn bad_endpoints_are_refused_with_what_is_wrong() {
        let endpoint = |name: &str, url: &str, secret: &str| {
            parse(&format!(
                "[[endpoint]]\nname = \"{name}\"\nurl = \"{url}\"\nsecret = \"{secret}\"\n"
            ))
            .unwrap_err()
        };
        let url = "https://events.example/";
        assert!(endpoint("Fleet", url, SECRET).contains("endpoint name `Fleet`"));
        assert!(endpoint("", url, SECRET).contains("endpoint name"));
        let plain = endpoint("fleet", "http://events.example/", SECRET);
        assert!(plain.contains("must be https"), "{plain}");
        assert!(endpoint("fleet", "https://user:pw@events.example/", SECRET).contains("https"));
        assert!(endpoint("fleet", "https://events.example/#x", SECRET).contains("https"));
        let short = endpoint("fleet", url, "whsec_c2hvcnQ=");
        assert!(short.contains("24 to 64 bytes") && !short.contains("c2hvcnQ"), "{short}");
        assert!(endpoint("fleet", url, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").contains("whsec_"));
        let twice = parse(&format!(
            "[[endpoint]]\nname = \"a\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n\
             [[endpoint]]\nname = \"a\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n"
        ))
        .unwrap_err();
        assert!(twice.contains("configured twice"), "{twice}");
        assert!(parse("give_up_after = \"0s\"").unwrap_err().contains("more than zero"));
        assert!(parse("retries = 3").unwrap_err().contains("unknown field"));
    }
}
