//! Standard Webhooks signatures: `v1,` and the base64 of HMAC-SHA256 under the endpoint's
//! secret over `{webhook-id}.{webhook-timestamp}.{body}`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::Secret;

/// The `webhook-signature` header's value for one attempt.
pub fn signature(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", STANDARD.encode(mac(secret, id, timestamp, body)))
}

/// Whether `header` (a `webhook-signature` value: space-separated `v1,<base64>` signatures)
/// holds a valid signature of this attempt. Compared in constant time; what a receiver does.
pub fn verify(secret: &Secret, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let expected = mac(secret, id, timestamp, body);
    header.split(' ').filter_map(|one| one.strip_prefix("v1,")).any(|given| {
        STANDARD.decode(given).is_ok_and(|given| bool::from(given.as_slice().ct_eq(&expected)))
    })
}

fn mac(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.key()).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification (its reference libraries' tests).
    #[test]
    fn the_specifications_example_signs_as_published() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let signed = signature(&secret, id, 1_614_265_330, body);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(&secret, id, 1_614_265_330, body, &format!("v1,bm90IGl0 {signed}")));
        assert!(!verify(&secret, id, 1_614_265_331, body, &signed));
        assert!(!verify(&secret, "msg_other", 1_614_265_330, body, &signed));
        assert!(!verify(&secret, id, 1_614_265_330, br#"{"test": 2432232315}"#, &signed));
        assert!(!verify(
            &secret,
            id,
            1_614_265_330,
            body,
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        ));
    }
}
