//! What is shown to the person at the terminal.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use tokio::task::JoinHandle;

/// A spinner on stderr while the program waits for the network. On a terminal it animates; in a
/// pipe or a log it prints its message once, as a line.
pub struct Spinner {
    task: Option<JoinHandle<()>>,
}

impl Spinner {
    /// Shows `message` until dropped.
    pub fn start(message: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            eprintln!("{message}");
            return Self { task: None };
        }
        let message = message.to_owned();
        let task = tokio::spawn(async move {
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            for frame in FRAMES.iter().cycle() {
                eprint!("\r{frame} {message}");
                let _ = std::io::stderr().flush();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Self { task: Some(task) }
    }

    fn clear(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // Erases the spinner's line.
            eprint!("\r\x1b[2K");
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.clear();
    }
}

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
