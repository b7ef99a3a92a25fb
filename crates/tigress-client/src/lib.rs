//! Async client SDK for Secure Credential Transfer.
//!
//! [`Client`] drives the sans-I/O state machines of `tigress-proto` over HTTPS (reqwest with
//! rustls): it sends the requests they ask for and hands the answers back. It adds no protocol
//! logic of its own beyond one retry of a state-changing request whose answer was lost, which the
//! relay's `Mailbox-Request-ID` de-duplication makes safe (§7).
//!
//! - A sender calls [`Client::share`] and gives the receiver [`Share::url`]; with
//!   [`Share::claim`] it can later [`Client::update`] or cancel ([`Client::delete`]) the share.
//! - A receiver calls [`Client::receive`], looks at [`PendingShare::preview`], then
//!   [`PendingShare::accept`]s (or declines) and [`ReceivedShare::finish`]es, which deletes the
//!   mailbox unless asked to keep it.
//! - For flows with several round trips (a car key), the sender calls
//!   [`Client::start_transfer`] and the receiver [`ReceivedShare::into_transfer`]; each side then
//!   [`Transfer::send`]s messages and waits for the peer's with [`Transfer::next_message`], and
//!   one side [`Transfer::finish`]es. Every message is bound to the conversation, so the relay
//!   cannot reflect, replay, reorder or drop one unnoticed.
//! - For a share that needs a PIN, the sender calls [`Client::share_with_pin`] and
//!   [`PinShare::deliver`]; the receiver, whose [`ReceivedShare::needs_pin`], continues with
//!   [`ReceivedShare::into_pin_exchange`] and [`PinExchange::attempt`]. The credential leaves the
//!   sender's device only after the PIN is proven, under a key the relay cannot derive.
//! - [`Client::read`], [`Client::update`], [`Client::relinquish`] and [`Client::delete`] are the
//!   single operations.
//!
//! It does not store anything, run a relay, or retry beyond that one repeat. It never logs
//! claims, request ids, secrets, payloads or share URLs: the only log events are content-free
//! `debug` lines about requests sent.
//!
//! § numbers refer to the sections of docs/PROTOCOL.md.
//!
//! # Share a key and receive it
//!
//! The sender's device encrypts the Provisioning Information and gets the share URL, which it
//! sends the receiver over any channel (a message, a QR code). The receiver's device shows the
//! preview, accepts, and gets the credential back; finishing deletes the mailbox. (The example
//! runs both devices, and a relay, in one process.)
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let config = tigress_relay::RelayConfig::new("127.0.0.1:0".parse()?, dir.path());
//! # let relay = tigress_relay::start(config).await?;
//! # let relay_url = relay.base_url().to_owned();
//! use serde_json::json;
//! use tigress_client::{Client, DisplayInformation, ProvisioningInformation, ShareOptions};
//!
//! // On the sender's device.
//! let sender = Client::new(&relay_url)?;
//! let room = ProvisioningInformation::new(
//!     "digitalwallet.generic.authorizationToken",
//!     json!({"roomNumber": "412", "authorizationToken": "b5d3a0e2"}),
//! )?;
//! let options = ShareOptions::new(DisplayInformation {
//!     title: "Room 412".into(),
//!     description: "Grand Hotel, 1-2 June".into(),
//!     image_url: "https://img.example/grand-hotel.png".into(),
//! });
//! let share = sender.share(&room, options).await?;
//! let link = share.url().to_string(); // `…/v1/m/{id}?v=c#secret`: send it to the receiver.
//!
//! // On the receiver's device.
//! let receiver = Client::new(&relay_url)?;
//! let url: tigress_client::ShareUrl = link.parse()?;
//! let secret = url.secret().cloned().expect("this link carries its secret");
//! let pending = receiver.receive(&url, secret).await?;
//! assert_eq!(pending.preview().display.information().unwrap().title, "Room 412");
//! let received = pending.accept().await?; // binds the mailbox to this device
//! assert_eq!(received.provisioning().content["roomNumber"], "412");
//! received.finish(false).await?; // deletes the mailbox
//! # relay.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Several round trips
//!
//! A car key needs the receiver's device to answer (a key-creation request) and the owner's
//! device to sign. The sender gives the receiver the right to write (`W`), and both continue
//! as a [`Transfer`]:
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let config = tigress_relay::RelayConfig::new("127.0.0.1:0".parse()?, dir.path());
//! # let relay = tigress_relay::start(config).await?;
//! # let relay_url = relay.base_url().to_owned();
//! use std::time::Duration;
//!
//! use serde_json::json;
//! use tigress_client::{Client, DisplayInformation, ProvisioningInformation, ShareOptions};
//!
//! let message = |step: &str| {
//!     ProvisioningInformation::new("digitalwallet.carkey.ccc", json!({"step": step}))
//! };
//! let mut options = ShareOptions::new(DisplayInformation {
//!     title: "Car Key".into(),
//!     description: "Borrow my car this weekend".into(),
//!     image_url: "https://img.example/car.png".into(),
//! });
//! options.access_rights = Some("RWD".parse()?);
//!
//! // The owner's device shares an invitation and keeps the transfer.
//! let owner = Client::new(&relay_url)?;
//! let (share, mut owner_side) = owner.start_transfer(&message("invitation")?, options).await?;
//!
//! // The friend's device accepts it and answers.
//! let friend = Client::new(&relay_url)?;
//! let pending = friend.receive(share.url(), share.secret().clone()).await?;
//! let invitation = pending.accept().await?;
//! assert_eq!(invitation.provisioning().content["step"], "invitation");
//! let mut friend_side = invitation.into_transfer()?;
//! friend_side.send(&message("key-creation-request")?).await?;
//!
//! // The owner waits for the answer (a long-polling read) and signs.
//! let wait = Duration::from_secs(10);
//! let request = owner_side.next_message(wait).await?.expect("the friend answered");
//! assert_eq!(request.content["step"], "key-creation-request");
//! owner_side.send(&message("signed-key")?).await?;
//!
//! let signed = friend_side.next_message(wait).await?.expect("the owner signed");
//! assert_eq!(signed.content["step"], "signed-key");
//! friend_side.finish().await?; // deletes the mailbox and every message in it
//! # relay.shutdown().await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod attester;
mod client;
mod error;
mod mailbox;
mod pin;
mod receive;
mod share;
mod transfer;

pub use attester::Attester;
pub use client::{Client, ClientBuilder, DEFAULT_TIMEOUT};
pub use error::Error;
pub use pin::{PinAttempt, PinEvent, PinExchange, PinOutcome, PinShare};
pub use receive::{PendingShare, ReceivedShare};
pub use share::Share;
pub use tigress_attest;
pub use tigress_jwe;
pub use tigress_proto::Pin;
pub use tigress_proto::flow::{Preview, ShareOptions};
/// Wrong PINs a PIN share allows before its sender ends it.
pub use tigress_proto::pin::MAX_ATTEMPTS as PIN_MAX_ATTEMPTS;
pub use tigress_proto::wire::{
    Display, DisplayInformation, NotificationToken, Party, RelayDescriptor,
};
pub use tigress_proto::{
    AccessRights, Algorithm, DeviceClaim, ProvisioningInformation, Secret, ShareUrl, Vertical,
};
pub use transfer::Transfer;
