//! Sealed fields through a real relay: the sender seals a member for the hotel's key, the
//! receiving device sees it only as a sealed value with its share binding, and the hotel opens
//! it, for this share and field only.

use rand::rngs::OsRng;
use serde_json::json;
use tigress_client::tigress_jwe::{Algorithm, FieldError, OpenError, PrivateJwk, unseal_fields};
use tigress_client::{Error, ProvisioningInformation};

use crate::support::{ClientOf, TestRelay, options};

#[tokio::test]
async fn a_sealed_field_travels_unread_and_opens_for_its_issuer_only_for_this_share() {
    let relay = TestRelay::start().await;
    let hotel = PrivateJwk::generate(&mut OsRng, "hotel-pms").unwrap();
    let room = ProvisioningInformation::new(
        "digitalwallet.generic.authorizationToken",
        json!({"roomNumber": "412", "authorizationToken": "tok-9f2"}),
    )
    .unwrap();
    let public = hotel.public();
    let seal = [("/content/authorizationToken", &public)];
    let sender = relay.client();
    let share =
        sender.share_sealed(&room, options(None), &seal, Algorithm::EcdhEsA256Kw).await.unwrap();

    let receiver = relay.client();
    let secret = share.secret().clone();
    let received = receiver.receive(share.url(), secret).await.unwrap().accept().await.unwrap();
    let carried = received.provisioning().clone();
    assert_eq!(carried.content["roomNumber"], "412");
    assert!(
        !serde_json::to_string(&carried).unwrap().contains("tok-9f2"),
        "the device can read it"
    );
    let sealed = received.sealed_fields();
    assert_eq!(sealed.len(), 1);
    assert_eq!(sealed[0].pointer, "/content/authorizationToken");
    assert_eq!(sealed[0].envelope.as_ref().unwrap().kid, "hotel-pms");
    let binding = received.share_binding();
    assert_eq!(sealed[0].envelope.as_ref().unwrap().share, binding);
    received.finish(false).await.unwrap();

    // The hotel's side: opens it with its key, for this share; not for another.
    let mut document = serde_json::to_value(&carried).unwrap();
    let mut elsewhere = document.clone();
    assert_eq!(
        unseal_fields(&mut document, &hotel, &binding).unwrap(),
        ["/content/authorizationToken"]
    );
    assert_eq!(document["content"]["authorizationToken"], "tok-9f2");
    let pasted = unseal_fields(&mut elsewhere, &hotel, "another-share");
    assert!(
        matches!(pasted, Err(FieldError::Open { error: OpenError::OtherShare, .. })),
        "{pasted:?}"
    );

    // A pointer that names nothing: an error before anything is sent.
    let wrong = [("/content/nothing", &public)];
    let refused = sender.share_sealed(&room, options(None), &wrong, Algorithm::EcdhEs).await;
    assert!(matches!(refused, Err(Error::Seal(FieldError::NoSuchField(_)))), "{:?}", refused.err());
}
