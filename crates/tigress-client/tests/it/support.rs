//! A relay in this process, a client of it, and a credential to share.

use serde_json::json;
use tempfile::TempDir;
use tigress_client::{
    AccessRights, Algorithm, Client, DisplayInformation, ProvisioningInformation, ShareOptions,
    Vertical,
};
use tigress_relay::{RelayConfig, RunningRelay};

pub struct TestRelay {
    relay: Option<RunningRelay>,
    _dir: TempDir,
}

impl TestRelay {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        let relay = tigress_relay::start(config).await.expect("the relay starts");
        Self { relay: Some(relay), _dir: dir }
    }

    pub fn client(&self) -> Client {
        Client::new(self.relay.as_ref().expect("running").base_url()).expect("client")
    }

    pub async fn stop(mut self) {
        if let Some(relay) = self.relay.take() {
            relay.shutdown().await.expect("graceful shutdown");
        }
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
        },
        access_rights: access_rights.map(|r| r.parse::<AccessRights>().expect("rights")),
        expires_at: None,
        vertical: Some(Vertical::Car),
        algorithm: Algorithm::Aes128Gcm,
        max_receivers: None,
        notification_token: None,
    }
}
