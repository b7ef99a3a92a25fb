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
    let Ok(year) = u16::try_from(y) else {
        // Before year 0: never a real expiry, but still an answer.
        return format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
    };
    // Written digit by digit: every read and preview answer carries one, and `format!` costs
    // about ten times as much (docs/PERFORMANCE.md).
    let mut text = *b"0000-00-00T00:00:00Z";
    let fields: [(usize, u16, usize); 6] = [
        (0, year, 4),
        (5, mo.into(), 2),
        (8, d.into(), 2),
        (11, h.into(), 2),
        (14, mi.into(), 2),
        (17, s.into(), 2),
    ];
    for (at, mut value, width) in fields {
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    text.iter().map(|&byte| char::from(byte)).collect()
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

    /// The digit-by-digit form against the plain `format!` it replaced, across the years `time`
    /// can hold and every field's edges.
    #[test]
    fn formats_as_format_would() {
        let reference = |unix: i64| {
            let t = OffsetDateTime::from_unix_timestamp(unix).unwrap();
            let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
            let (h, mi, s) = (t.hour(), t.minute(), t.second());
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        };
        let (first, last) = (-377_705_116_800_i64, 253_402_300_799_i64); // -9999-01-01 … 9999-12-31
        let mut unix = first;
        while unix <= last {
            assert_eq!(format(unix), reference(unix), "{unix}");
            unix += 86_399 * 37 + 3_599;
        }
        for unix in [first, last, -1, 0, 59, 3_599, 86_399, 951_782_400, 1_700_000_000] {
            assert_eq!(format(unix), reference(unix), "{unix}");
        }
    }

    #[test]
    fn formats_the_epoch() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
    }
}
