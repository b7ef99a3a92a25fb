//! Access rights of the receiver: the letters `R`, `W` and `D` (§9).

use std::fmt;
use std::str::FromStr;

/// What the bound receiver may do. The sender always keeps every right (§9 resolution).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessRights {
    /// `R`: read the mailbox (always effectively granted, since reading is how binding happens).
    pub read: bool,
    /// `W`: update the payload (needed for the stateful flow).
    pub write: bool,
    /// `D`: delete the mailbox.
    pub delete: bool,
}

/// Why an access-rights string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "accessRights must be a non-empty combination of the letters R, W and D, each at most once"
)]
pub struct AccessRightsError;

impl Default for AccessRights {
    /// `"RD"`, the drafts' default.
    fn default() -> Self {
        Self { read: true, write: false, delete: true }
    }
}

impl FromStr for AccessRights {
    type Err = AccessRightsError;

    /// Letters are case-insensitive and may come in any order; an empty string, a repeated
    /// letter or any other character is an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(AccessRightsError);
        }
        let mut rights = Self { read: false, write: false, delete: false };
        for c in s.chars() {
            let slot = match c.to_ascii_uppercase() {
                'R' => &mut rights.read,
                'W' => &mut rights.write,
                'D' => &mut rights.delete,
                _ => return Err(AccessRightsError),
            };
            if *slot {
                return Err(AccessRightsError);
            }
            *slot = true;
        }
        Ok(rights)
    }
}

impl fmt::Display for AccessRights {
    /// The canonical spelling: the granted letters in the order `R`, `W`, `D`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (granted, letter) in [(self.read, "R"), (self.write, "W"), (self.delete, "D")] {
            if granted {
                f.write_str(letter)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_letters_in_any_order_and_case() {
        let rights: AccessRights = "dwR".parse().unwrap();
        assert_eq!(rights, AccessRights { read: true, write: true, delete: true });
        assert_eq!(rights.to_string(), "RWD");
        assert_eq!("W".parse::<AccessRights>().unwrap().to_string(), "W");
    }

    #[test]
    fn rejects_empty_repeated_and_unknown_letters() {
        for bad in ["", "RR", "RX", "R D", "rwdr", "é"] {
            assert_eq!(bad.parse::<AccessRights>(), Err(AccessRightsError), "{bad:?}");
        }
    }

    #[test]
    fn default_is_read_and_delete() {
        assert_eq!(AccessRights::default().to_string(), "RD");
    }
}
