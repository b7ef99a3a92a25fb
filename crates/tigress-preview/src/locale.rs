//! The message catalogs (`locales/*.ftl`, Fluent) and the choice among them from an
//! `Accept-Language` header.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_langneg::{NegotiationStrategy, negotiate_languages};
use unic_langid::LanguageIdentifier;

/// The languages the page is written in, by tag; the first is the fallback.
pub const LANGUAGES: [&str; 6] = ["en", "de", "fr", "es", "ja", "zh-Hans"];

const CATALOGS: [&str; 6] = [
    include_str!("../locales/en.ftl"),
    include_str!("../locales/de.ftl"),
    include_str!("../locales/fr.ftl"),
    include_str!("../locales/es.ftl"),
    include_str!("../locales/ja.ftl"),
    include_str!("../locales/zh-Hans.ftl"),
];

/// At most this many languages of a header are considered: a header is the client's to write.
const MAX_REQUESTED: usize = 16;
/// A header longer than this is ignored (English).
const MAX_HEADER_LEN: usize = 1024;

/// One language's catalog.
pub struct Locale {
    tag: &'static str,
    id: LanguageIdentifier,
    bundle: FluentBundle<FluentResource>,
}

impl Locale {
    /// The language tag, as sent in `Content-Language` and `<html lang>`.
    pub fn tag(&self) -> &'static str {
        self.tag
    }

    /// Message `id` with `args`. Every message exists in every catalog (a test checks), so a
    /// missing one is a bug, shown as its id rather than a panic.
    pub fn text(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_owned();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        self.bundle.format_pattern(pattern, Some(&fluent_args), &mut errors).into_owned()
    }
}

fn locales() -> &'static [Locale] {
    static LOCALES: OnceLock<Vec<Locale>> = OnceLock::new();
    LOCALES.get_or_init(|| {
        LANGUAGES
            .iter()
            .zip(CATALOGS)
            .map(|(tag, catalog)| {
                let id: LanguageIdentifier = tag.parse().expect("a valid language tag");
                let resource = FluentResource::try_new(catalog.to_owned())
                    .unwrap_or_else(|(_, errors)| panic!("locales/{tag}.ftl: {errors:?}"));
                let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
                // The page is HTML with `lang` set; Unicode isolation marks around placeables
                // would only show as stray characters in titles and copied text.
                bundle.set_use_isolating(false);
                bundle.add_resource(resource).expect("no message defined twice");
                Locale { tag, id, bundle }
            })
            .collect()
    })
}

/// The locale for a request's `Accept-Language` (`None`: English). Languages are taken by
/// their `q` weights, highest first; `q=0` and tags that do not parse are dropped; a language
/// we do not have falls through to the next, and to English at the end (`zh-CN`, `zh-SG` and
/// `zh` find `zh-Hans` through the likely subtags).
pub fn negotiate(accept_language: Option<&str>) -> &'static Locale {
    let all = locales();
    let requested = accept_language.map(requested).unwrap_or_default();
    let available: Vec<&LanguageIdentifier> = all.iter().map(|l| &l.id).collect();
    let chosen = negotiate_languages(&requested, &available, None, NegotiationStrategy::Lookup)
        .first()
        .copied();
    chosen.and_then(|id| all.iter().find(|l| &&l.id == id)).unwrap_or(&all[0])
}

/// The languages of a header, by weight (stable for equal weights).
fn requested(header: &str) -> Vec<LanguageIdentifier> {
    if header.len() > MAX_HEADER_LEN {
        return Vec::new();
    }
    let mut weighted: Vec<(u16, LanguageIdentifier)> = header
        .split(',')
        .take(MAX_REQUESTED)
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let weight =
                parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(Some(1000), weight_of)?;
            if weight == 0 || tag == "*" {
                return None;
            }
            Some((weight, tag.parse().ok()?))
        })
        .collect();
    weighted.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    weighted.into_iter().map(|(_, id)| id).collect()
}

/// A `q` value in thousandths (`0`–`1000`), or `None` when it is not one.
fn weight_of(q: &str) -> Option<u16> {
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use fluent_syntax::ast::Entry;
    use fluent_syntax::parser::parse;

    use super::*;

    fn ids(catalog: &str) -> BTreeSet<String> {
        let resource = parse(catalog).expect("the catalog parses without error");
        resource
            .body
            .iter()
            .filter_map(|entry| match entry {
                Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_catalog_has_exactly_the_messages_of_the_english_one() {
        let english = ids(CATALOGS[0]);
        assert!(english.len() > 10);
        for (tag, catalog) in LANGUAGES.iter().zip(CATALOGS) {
            assert_eq!(ids(catalog), english, "locales/{tag}.ftl");
        }
        // And each formats every message without an error.
        for locale in locales() {
            for id in &english {
                let mut args = FluentArgs::new();
                args.set("app", "Wallet");
                args.set("count", 3);
                args.set("date", "2030-05-01 12:00");
                let pattern = locale.bundle.get_message(id).and_then(|m| m.value()).unwrap();
                let mut errors = Vec::new();
                let text = locale.bundle.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty() && !text.is_empty(), "{} {id}: {errors:?}", locale.tag);
            }
        }
    }

    #[test]
    fn the_language_follows_the_header_by_weight_and_falls_back_to_english() {
        let tag = |header: Option<&str>| negotiate(header).tag();
        assert_eq!(tag(None), "en");
        assert_eq!(tag(Some("de-DE,de;q=0.9,en;q=0.8")), "de");
        assert_eq!(tag(Some("en;q=0.5, fr-CA;q=0.9")), "fr");
        assert_eq!(tag(Some("es-419")), "es");
        assert_eq!(tag(Some("ja-JP")), "ja");
        for chinese in ["zh-CN", "zh", "zh-Hans", "zh-SG"] {
            assert_eq!(tag(Some(chinese)), "zh-Hans", "{chinese}");
        }
        assert_eq!(tag(Some("pl, ko;q=0.8")), "en");
        assert_eq!(tag(Some("pl, de;q=0.1")), "de");
        assert_eq!(tag(Some("de;q=0, fr")), "fr");
        assert_eq!(tag(Some("*")), "en");
        assert_eq!(tag(Some("de;q=2")), "en", "a weight above 1 is not a weight");
        assert_eq!(tag(Some(";;;,,,\u{0}")), "en");
        assert_eq!(tag(Some(&format!("{}de", "x,".repeat(600)))), "en");
    }

    #[test]
    fn plurals_follow_each_language() {
        let en = negotiate(Some("en"));
        assert_eq!(en.text("expires-in-hours", &[("count", 1.into())]), "in 1 hour");
        assert_eq!(en.text("expires-in-hours", &[("count", 5.into())]), "in 5 hours");
        let fr = negotiate(Some("fr"));
        assert_eq!(fr.text("expires-in-days", &[("count", 2.into())]), "dans 2 jours");
        let ja = negotiate(Some("ja"));
        assert_eq!(ja.text("expires-in-days", &[("count", 2.into())]), "あと 2 日");
    }
}
