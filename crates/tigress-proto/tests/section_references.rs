//! Every `§N` and `§N.M` in the code, tests and docs names a section of docs/PROTOCOL.md.
//!
//! The sections are the numbered headings of docs/PROTOCOL.md (`## 8. Device claims and
//! binding`, `### 6.1 CreateMailbox`). The references are gathered from `crates/`, `fuzz/`,
//! `docs/`, `scripts/`, `interop/`, `deploy/` and README.md, leaving out build output (`target/`)
//! and fuzzer inputs. Spaced forms (`§ 8`), lists (`(§8, §9)`) and ranges (`§§7–9`) count. A `§`
//! right after another document's name (`RFC 8030 §5`, `draft-art-tigress-04 §6`), and the ones
//! chained to it by commas or "and", cite that document and are not checked.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Where references are looked for, from the workspace root.
const ROOTS: [&str; 7] = ["crates", "fuzz", "docs", "scripts", "interop", "deploy", "README.md"];

/// Directories that hold build output, caches or fuzzer inputs, not prose.
const SKIPPED_DIRS: [&str; 7] =
    ["target", "corpus", "artifacts", "coverage", "seeds", "__pycache__", "node_modules"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The section numbers of the protocol page: the first word of each numbered heading.
fn sections(protocol: &str) -> BTreeSet<String> {
    protocol
        .lines()
        .filter_map(|line| line.strip_prefix("##"))
        .filter_map(|heading| heading.trim_start_matches('#').split_whitespace().next())
        .map(|word| word.trim_end_matches('.'))
        .filter(|word| is_section_number(word))
        .map(str::to_owned)
        .collect()
}

fn is_section_number(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// The protocol sections a line refers to, in order; sections of other documents are left out.
fn references(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    // Where the previous reference ended, and whether it cited another document.
    let mut previous: Option<(usize, bool)> = None;
    let mut at = 0;
    while let Some(offset) = line[at..].find('§') {
        let marker = at + offset;
        let mut rest = &line[marker..];
        let mut signs = 0;
        while let Some(after) = rest.strip_prefix('§') {
            rest = after;
            signs += 1;
        }
        at = line.len() - rest.len();
        let rest_trimmed = rest.trim_start_matches([' ', '\u{a0}']);
        let Some((first, mut tail)) = number(rest_trimmed) else {
            continue;
        };
        let external = match previous {
            Some((end, external)) if is_connector(&line[end..marker]) => external,
            _ => names_a_document(&line[..marker]),
        };
        let mut numbers = vec![first];
        // `§§7–9` and `§§7, 8`; a single `§` takes only a range.
        while let Some((separator, after)) = separator(tail) {
            let is_range = matches!(separator, "–" | "—" | "-");
            if signs < 2 && !is_range {
                break;
            }
            let Some((next, after)) = number(after.trim_start()) else {
                break;
            };
            if is_range {
                numbers.extend(between(numbers.last().map_or("", String::as_str), &next));
            }
            numbers.push(next);
            tail = after;
        }
        at = line.len() - tail.len();
        previous = Some((at, external));
        if !external {
            found.extend(numbers);
        }
    }
    found
}

/// A section number at the start of `text` (`8`, `6.1`; a final dot is punctuation), and the rest.
fn number(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut end = digits(0);
    if end == 0 {
        return None;
    }
    while end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
        end += 1 + digits(end + 1);
    }
    Some((text[..end].to_owned(), &text[end..]))
}

/// A list or range separator at the start of `text`, and what follows it.
fn separator(text: &str) -> Option<(&'static str, &str)> {
    ["–", "—", "-", ",", " and ", " to ", " or "]
        .into_iter()
        .find_map(|separator| text.strip_prefix(separator).map(|rest| (separator, rest)))
}

/// The whole sections strictly between two whole-section numbers of a range (`7–9`: 8).
fn between(from: &str, to: &str) -> Vec<String> {
    match (from.parse::<u32>(), to.parse::<u32>()) {
        (Ok(from), Ok(to)) if from < to => (from + 1..to).map(|n| n.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Whether only list words and punctuation stand between two references.
fn is_connector(text: &str) -> bool {
    text.split_whitespace()
        .map(|word| word.trim_matches([',', ';']))
        .all(|word| matches!(word, "" | "and" | "or" | "&" | "/"))
}

/// Whether `before` ends with the name of another document: `RFC 8030`, `RFC8030` or a draft.
fn names_a_document(before: &str) -> bool {
    let mut words = before
        .split_whitespace()
        .rev()
        .map(|word| word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-'));
    let last = words.next().unwrap_or("");
    let is_number = !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit());
    let rfc_glued = last
        .strip_prefix("RFC")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    (is_number && words.next() == Some("RFC")) || rfc_glued || last.starts_with("draft-")
}

/// Every file under `path` (or `path` itself), in a stable order; reading skips the binary ones.
fn text_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_owned());
        return;
    }
    let Ok(entries) = fs::read_dir(path) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if entry.is_dir() && (name.starts_with('.') || SKIPPED_DIRS.contains(&name)) {
            continue;
        }
        text_files(&entry, out);
    }
}

#[test]
fn every_section_reference_names_a_section_of_the_protocol_page() {
    let root = workspace_root();
    let protocol = fs::read_to_string(root.join("docs/PROTOCOL.md")).expect("docs/PROTOCOL.md");
    let known = sections(&protocol);
    assert!(known.contains("1") && known.contains("6.6") && known.contains("17"), "{known:?}");

    let mut files = Vec::new();
    for name in ROOTS {
        text_files(&root.join(name), &mut files);
    }
    let (mut checked, mut broken) = (0, Vec::new());
    for file in &files {
        // Binary files are not prose.
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        let shown = file.strip_prefix(&root).unwrap_or(file).display();
        for (index, line) in text.lines().enumerate() {
            for section in references(line) {
                checked += 1;
                if !known.contains(&section) {
                    broken.push(format!("{shown}:{}: §{section}", index + 1));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "{} reference(s) name no section of docs/PROTOCOL.md:\n{}",
        broken.len(),
        broken.join("\n")
    );
    // The code cites the protocol about a hundred times: finding few means the walk went wrong.
    assert!(checked > 50, "only {checked} references found under {}", root.display());
}

#[test]
fn sections_are_the_numbered_headings() {
    let page = "# Title\n\n## 1. Terms\n### 6.1 CreateMailbox\n## Notes\n#### 6.3.2. Deep\n";
    let found: Vec<String> = sections(page).into_iter().collect();
    assert_eq!(found, ["1", "6.1", "6.3.2"]);
}

#[test]
fn references_come_in_every_spelling() {
    let s = '\u{a7}';
    assert_eq!(references(&format!("rules ({s}8, {s}9) and {s}6.1.")), ["8", "9", "6.1"]);
    assert_eq!(references(&format!("see {s} 8 and {s}10: expiry")), ["8", "10"]);
    assert_eq!(references(&format!("{s}{s}7–9, then {s}{s}12, 13")), ["7", "8", "9", "12", "13"]);
    assert_eq!(references(&format!("{s}6.3 resolution; {s}12)")), ["6.3", "12"]);
    assert!(references(&format!("{s}N and {s} numbers")).is_empty());
}

#[test]
fn sections_of_other_documents_are_not_references() {
    let s = '\u{a7}';
    let rfcs = format!("(RFC 8030 {s}5 and {s}7.3, RFC 8292 {s}4), RFC8188 {s}2.2");
    assert!(references(&rfcs).is_empty(), "{:?}", references(&rfcs));
    assert!(references(&format!("`draft-art-tigress-04` {s}6")).is_empty());
    // A protocol reference after an RFC's, with words between, is still checked.
    assert_eq!(references(&format!("RFC 7240 {s}4; the relay caps it ({s}15)")), ["15"]);
    assert_eq!(references(&format!("as {s}99 says")), ["99"]);
}
