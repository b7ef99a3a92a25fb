//! The files that let a share link open the wallet app instead of the browser (docs/OPERATIONS.md,
//! "Links that open the app"): `/.well-known/apple-app-site-association` for iOS universal
//! links and `/.well-known/assetlinks.json` for Android app links, both rendered once at start
//! from the operator's [`AppLinks`], and checked first: a malformed entry stops the relay with
//! the entry named.

use serde_json::{Value, json};

pub use tigress_preview::AppOffer;

use crate::routes;
use crate::routes::MailboxSegment;

/// The apps a share link should open, by platform.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppLinks {
    /// iOS app ids, `TEAMID.bundle.id` (the Team ID is 10 capitals or digits).
    pub apple_app_ids: Vec<String>,
    /// Android apps: a package name and the SHA-256 fingerprints of its signing certificates.
    pub android: Vec<AndroidApp>,
    /// The app's name and store pages, which the preview page names (`app_name`,
    /// `app_store_url`, `play_store_url`).
    pub offer: AppOffer,
}

/// One Android app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndroidApp {
    /// The package name, e.g. `com.example.wallet`.
    pub package: String,
    /// `AB:CD:…`, 32 bytes in upper-case hex separated by colons, as `keytool` prints them.
    pub sha256_cert_fingerprints: Vec<String>,
}

/// A malformed entry, named by its key in the configuration.
#[derive(Debug, thiserror::Error)]
#[error("invalid app links: {key} {problem}")]
pub struct AppLinksError {
    pub key: String,
    pub problem: &'static str,
}

/// The two files, rendered; `None` for a platform with no app.
pub struct AppLinkFiles {
    pub apple: Option<String>,
    pub android: Option<String>,
    /// What the preview page says of the app, checked.
    pub offer: AppOffer,
}

impl AppLinks {
    /// Checks every entry and renders the files.
    pub fn render(&self, segment: &MailboxSegment) -> Result<AppLinkFiles, AppLinksError> {
        for (i, id) in self.apple_app_ids.iter().enumerate() {
            if !is_apple_app_id(id) {
                return Err(AppLinksError {
                    key: format!("apple_app_ids[{i}]"),
                    problem: "is not TEAMID.bundle.id (a 10-character Team ID, a dot, a bundle id)",
                });
            }
        }
        for (i, app) in self.android.iter().enumerate() {
            if !is_package_name(&app.package) {
                return Err(AppLinksError {
                    key: format!("android[{i}].package"),
                    problem: "is not a package name such as com.example.wallet",
                });
            }
            if app.sha256_cert_fingerprints.is_empty() {
                return Err(AppLinksError {
                    key: format!("android[{i}].sha256_cert_fingerprints"),
                    problem: "is empty: Android trusts the link only for a signing certificate",
                });
            }
            for (j, fingerprint) in app.sha256_cert_fingerprints.iter().enumerate() {
                if !is_fingerprint(fingerprint) {
                    return Err(AppLinksError {
                        key: format!("android[{i}].sha256_cert_fingerprints[{j}]"),
                        problem: "is not 32 upper-case hex bytes separated by colons",
                    });
                }
            }
        }
        if let Some(name) = &self.offer.name {
            let plain = |c: char| !c.is_control();
            if name.trim().is_empty() || name.chars().count() > 64 || !name.chars().all(plain) {
                return Err(AppLinksError {
                    key: "app_name".into(),
                    problem: "is not an app's name: 1 to 64 characters, none of them control",
                });
            }
        }
        let stores = [
            ("app_store_url", &self.offer.app_store_url),
            ("play_store_url", &self.offer.play_store_url),
        ];
        for (key, url) in stores {
            if url.as_deref().is_some_and(|url| !is_store_url(url)) {
                return Err(AppLinksError {
                    key: key.into(),
                    problem: "is not an https URL with a host, without credentials or fragment",
                });
            }
        }
        Ok(AppLinkFiles {
            apple: self.apple_file(segment),
            android: self.android_file(),
            offer: self.offer.clone(),
        })
    }

    /// Universal links: every share URL (`/v1/{segment}/<id>`, its fragment included) opens
    /// the app.
    fn apple_file(&self, segment: &MailboxSegment) -> Option<String> {
        if self.apple_app_ids.is_empty() {
            return None;
        }
        let pattern = format!("{}/*", routes::create(segment.as_str()));
        let file = json!({
            "applinks": {
                "details": [{
                    "appIDs": self.apple_app_ids,
                    "components": [{"/": pattern, "comment": "Tigress share links"}],
                }],
            },
        });
        Some(file.to_string())
    }

    fn android_file(&self) -> Option<String> {
        if self.android.is_empty() {
            return None;
        }
        let statements: Vec<Value> = self
            .android
            .iter()
            .map(|app| {
                json!({
                    "relation": ["delegate_permission/common.handle_all_urls"],
                    "target": {
                        "namespace": "android_app",
                        "package_name": app.package,
                        "sha256_cert_fingerprints": app.sha256_cert_fingerprints,
                    },
                })
            })
            .collect();
        Some(Value::Array(statements).to_string())
    }
}

fn is_apple_app_id(id: &str) -> bool {
    let Some((team, bundle)) = id.split_once('.') else {
        return false;
    };
    team.len() == 10
        && team.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && !bundle.is_empty()
        && bundle.len() <= 155
        && bundle.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !bundle.starts_with('.')
        && !bundle.ends_with('.')
}

fn is_package_name(name: &str) -> bool {
    let segments: Vec<&str> = name.split('.').collect();
    name.len() <= 255
        && segments.len() >= 2
        && segments.iter().all(|segment| {
            segment.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

fn is_fingerprint(text: &str) -> bool {
    let bytes: Vec<&str> = text.split(':').collect();
    bytes.len() == 32
        && bytes.iter().all(|byte| {
            byte.len() == 2
                && byte.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        })
}

/// A store page: an `https` link of at most 2048 characters.
fn is_store_url(url: &str) -> bool {
    url.len() <= 2048 && tigress_rules::mailbox::is_https_link(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINGERPRINT: &str = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5";

    #[test]
    fn malformed_entries_are_named() {
        let offer = |offer: AppOffer| AppLinks { offer, ..Default::default() };
        let cases = [
            (offer(AppOffer { name: Some(" ".into()), ..Default::default() }), "app_name"),
            (
                offer(AppOffer {
                    app_store_url: Some("http://apps.example/x".into()),
                    ..Default::default()
                }),
                "app_store_url",
            ),
            (
                offer(AppOffer {
                    play_store_url: Some("https://play.example/#x".into()),
                    ..Default::default()
                }),
                "play_store_url",
            ),
            (
                AppLinks { apple_app_ids: vec!["com.example".into()], ..Default::default() },
                "apple_app_ids[0]",
            ),
            (
                AppLinks { apple_app_ids: vec!["ABCDE12345.".into()], ..Default::default() },
                "apple_app_ids[0]",
            ),
            (
                AppLinks {
                    android: vec![AndroidApp {
                        package: "wallet".into(),
                        sha256_cert_fingerprints: vec![FINGERPRINT.into()],
                    }],
                    ..Default::default()
                },
                "android[0].package",
            ),
            (
                AppLinks {
                    android: vec![AndroidApp {
                        package: "com.example.wallet".into(),
                        sha256_cert_fingerprints: vec![],
                    }],
                    ..Default::default()
                },
                "android[0].sha256_cert_fingerprints",
            ),
            (
                AppLinks {
                    android: vec![AndroidApp {
                        package: "com.example.wallet".into(),
                        sha256_cert_fingerprints: vec![
                            FINGERPRINT.into(),
                            FINGERPRINT.to_lowercase(),
                        ],
                    }],
                    ..Default::default()
                },
                "android[0].sha256_cert_fingerprints[1]",
            ),
        ];
        for (links, key) in cases {
            let error = links.render(&MailboxSegment::default()).err().expect("refused");
            assert_eq!(error.key, key);
        }
    }

    #[test]
    fn no_app_renders_no_file() {
        let files = AppLinks::default().render(&MailboxSegment::default()).unwrap();
        assert!(files.apple.is_none() && files.android.is_none());
    }

    #[test]
    fn universal_links_cover_the_configured_mailbox_path() {
        let links = AppLinks {
            apple_app_ids: vec!["ABCDE12345.example.wallet".into()],
            ..Default::default()
        };
        let segment: MailboxSegment = "mailbox".parse().unwrap();
        let file: Value =
            serde_json::from_str(&links.render(&segment).unwrap().apple.unwrap()).unwrap();
        assert_eq!(file["applinks"]["details"][0]["components"][0]["/"], "/v1/mailbox/*");
    }
}
