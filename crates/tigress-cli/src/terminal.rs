//! What is shown to the person at the terminal.

/// Replaces control characters (escape sequences included) with `?`, so that text chosen by
/// someone else, such as a share's public title, cannot drive the terminal.
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_newlines_are_neutralised() {
        assert_eq!(printable("Room\u{1b}[2J 12\nfake"), "Room?[2J 12?fake");
        assert_eq!(printable("Clé de voiture"), "Clé de voiture");
    }
}
