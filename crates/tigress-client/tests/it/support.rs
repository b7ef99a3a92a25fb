//! A relay in this process (from tigress-test-support), a client of it, and a credential to
//! share.

use serde_json::json;
use tigress_client::{
    AccessRights, Algorithm, Client, DisplayInformation, ProvisioningInformation, ShareOptions,
    Vertical,
};

pub use tigress_test_support::TestRelay;

/// A client of a test relay.
pub trait ClientOf {
    fn client(&self) -> Client;
}

impl ClientOf for TestRelay {
    fn client(&self) -> Client {
        Client::new(self.base_url()).expect("client")
    }
}

pub fn key(seq: u32) -> ProvisioningInformation {
    ProvisioningInformation::new(
        "digitalwallet.carkey.ccc",
        json!({"role": "sender", "seq": seq, "keyCreationRequest": "AAEC"}),
    )
    .expect("valid Provisioning Information")
}

pub fn options(access_rights: Option<&str>) -> ShareOptions {
    ShareOptions {
        display: DisplayInformation {
            title: "Car Key".into(),
            description: "Borrow my car this weekend".into(),
            image_url: "https://img.example/car.png".into(),
        }
        .into(),
        access_rights: access_rights.map(|r| r.parse::<AccessRights>().expect("rights")),
        expires_at: None,
        vertical: Some(Vertical::Car),
        algorithm: Algorithm::Aes128Gcm,
        max_receivers: None,
        notification_token: None,
        event_endpoint: None,
    }
}
