//! Expiration timestamps: parsed leniently as RFC 3339, always emitted as `YYYY-MM-DDThh:mm:ssZ`
//! (§10).

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Why an expiration could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expiration must be an RFC 3339 timestamp such as 2030-05-01T12:00:00Z")]
pub struct ExpirationError;

/// Parses an RFC 3339 timestamp with any offset and fractional seconds, and returns it as whole
/// Unix seconds in UTC (fractions are dropped).
///
/// The `+0000` offset without a colon, used in an example of draft -02, is accepted too.
pub fn parse(text: &str) -> Result<i64, ExpirationError> {
    if text.len() > 64 {
        return Err(ExpirationError);
    }
    let fixed = colonise_offset(text);
    let instant = OffsetDateTime::parse(fixed.as_deref().unwrap_or(text), &Rfc3339)
        .map_err(|_| ExpirationError)?;
    Ok(instant.unix_timestamp())
}

/// Formats whole Unix seconds as `YYYY-MM-DDThh:mm:ssZ`.
pub fn format(unix_seconds: i64) -> String {
    let instant = OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(UtcOffset::UTC);
    let (y, mo, d) = (instant.year(), u8::from(instant.month()), instant.day());
    let (h, mi, s) = (instant.hour(), instant.minute(), instant.second());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Turns a trailing `±hhmm` into `±hh:mm`, or returns `None` when there is nothing to fix.
fn colonise_offset(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    if n < 5 {
        return None;
    }
    let (sign, digits) = (bytes[n - 5], &bytes[n - 4..]);
    let is_offset = (sign == b'+' || sign == b'-') && digits.iter().all(u8::is_ascii_digit);
    // The date part also has `-dddd`-like runs only at its start, and a full timestamp is longer
    // than 19 characters, so a match here is an offset.
    if !is_offset || n < 24 {
        return None;
    }
    Some(format!("{}:{}", &text[..n - 2], &text[n - 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_offsets_and_fractions_to_utc() {
        let utc = parse("2030-05-01T12:00:00Z").unwrap();
        assert_eq!(parse("2030-05-01T14:00:00.987+02:00").unwrap(), utc);
        assert_eq!(parse("2030-05-01T14:00:00+0200").unwrap(), utc);
        assert_eq!(format(utc), "2030-05-01T12:00:00Z");
    }

    #[test]
    fn rejects_what_is_not_rfc_3339() {
        for bad in ["", "tomorrow", "2030-05-01", "2030-05-01 12:00:00", "2030-13-01T00:00:00Z"] {
            assert_eq!(parse(bad), Err(ExpirationError), "{bad:?}");
        }
    }

    #[test]
    fn formats_the_epoch() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
    }
}
