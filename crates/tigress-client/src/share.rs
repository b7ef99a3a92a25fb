//! The sender's side of a one-message share (§5).

use std::fmt;

use rand::rngs::OsRng;
use tigress_proto::flow::{self, ShareOptions};
use tigress_proto::{DeviceClaim, ProvisioningInformation, Secret, ShareUrl};

use crate::{Client, Error, Transfer};

/// A share the relay has accepted: the URL to give the receiver, and the sender's claim.
///
/// `Debug` is redacted: the URL and the claim are capabilities.
#[derive(Clone)]
pub struct Share {
    url: ShareUrl,
    claim: DeviceClaim,
}

impl Share {
    /// The share URL with vertical and secret (`…/v1/m/{id}?v=…#secret`). Prefer sending
    /// [`ShareUrl::without_secret`] and [`Share::secret`] over separate channels (§14).
    pub fn url(&self) -> &ShareUrl {
        &self.url
    }

    /// The secret that encrypts the share.
    pub fn secret(&self) -> &Secret {
        // `Client::share` checks that the URL carries the secret before building a `Share`.
        self.url.secret().expect("a share's URL always carries its secret")
    }

    /// The sender's device claim, needed to [`Client::update`] or [`Client::delete`] the share.
    /// Keep it as secret as the share URL.
    pub fn claim(&self) -> &DeviceClaim {
        &self.claim
    }
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Share(..)")
    }
}

impl Client {
    /// Encrypts `info` under a fresh secret and creates a mailbox holding it.
    ///
    /// A create whose answer was lost (a transport error) is sent once more with the same
    /// `Mailbox-Request-ID`; the relay answers such a repeat with the original mailbox (§7), so
    /// the retry never creates a second one.
    pub async fn share(
        &self,
        info: &ProvisioningInformation,
        options: ShareOptions,
    ) -> Result<Share, Error> {
        let (share, _) = self.create(info, options).await?;
        Ok(share)
    }

    /// Like [`Client::share`], with the members `seal` names (JSON Pointers from the document's
    /// root, `/content/…`) sealed first for their recipients' keys, so that the receiving
    /// device carries them but cannot read them (docs/MESSAGES.md, "Sealed fields"). Each is
    /// bound to this share and its pointer; the receiver sees them with
    /// [`ReceivedShare::sealed_fields`](crate::ReceivedShare::sealed_fields).
    pub async fn share_sealed(
        &self,
        info: &ProvisioningInformation,
        options: ShareOptions,
        seal: &[(&str, &tigress_jwe::PublicJwk)],
        algorithm: tigress_jwe::Algorithm,
    ) -> Result<Share, Error> {
        let sender =
            flow::Sender::new_sealed(self.relay_base(), info, options, seal, algorithm, &mut OsRng)
                .map_err(Error::Seal)?;
        let (share, _) = self.create_with(sender).await?;
        Ok(share)
    }

    /// Like [`Client::share`], and continues as a multi-message [`Transfer`] for flows with
    /// several round trips (give the mailbox the `W` right for the receiver to answer).
    pub async fn start_transfer(
        &self,
        info: &ProvisioningInformation,
        options: ShareOptions,
    ) -> Result<(Share, Transfer), Error> {
        let (share, sender) = self.create(info, options).await?;
        let session = sender
            .into_session()
            .ok_or_else(|| Error::Protocol("the share did not become a transfer".into()))?;
        Ok((share, Transfer::new(self.clone(), session)))
    }

    async fn create(
        &self,
        info: &ProvisioningInformation,
        options: ShareOptions,
    ) -> Result<(Share, flow::Sender), Error> {
        self.create_with(flow::Sender::new(self.relay_base(), info, options, &mut OsRng)).await
    }

    async fn create_with(&self, sender: flow::Sender) -> Result<(Share, flow::Sender), Error> {
        let mut sender = sender.with_mailbox_segment(self.mailbox_segment());
        let mut retried = false;
        while let Some(request) = sender.poll_request() {
            // A retry is attested anew: the token's time is the send's.
            match self.send(self.attest(request)?).await {
                Ok(response) => sender.handle_response(response)?,
                Err(Error::Unreachable(_)) if !retried => {
                    tracing::debug!("the create request failed in transit; sending it again");
                    retried = true;
                    sender.handle_transport_error();
                }
                Err(e) => return Err(e),
            }
        }
        let url = sender
            .share_url()
            .filter(|url| url.secret().is_some())
            .ok_or_else(|| Error::Protocol("the create request ended without a share".into()))?
            .clone();
        let claim = *sender.claim();
        Ok((Share { url, claim }, sender))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use tigress_proto::wire::DisplayInformation;
    use tigress_proto::{Algorithm, Vertical};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    const ID: &str = "0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40";

    /// Reads one HTTP/1.1 request (head and `content-length` body) as text.
    async fn read_request(socket: &mut TcpStream) -> String {
        let mut raw = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket.read(&mut buffer).await.unwrap();
            assert!(n > 0, "the client closed the connection early");
            raw.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&raw).into_owned();
            let Some(head_end) = text.find("\r\n\r\n") else {
                continue;
            };
            let length: usize = header(&text, "content-length").map_or(0, |v| v.parse().unwrap());
            if raw.len() >= head_end + 4 + length {
                return text;
            }
        }
    }

    fn header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
        request.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn options() -> ShareOptions {
        ShareOptions {
            display: DisplayInformation {
                title: "Room 12".into(),
                description: "Hotel key".into(),
                image_url: "https://img.example/k.png".into(),
            }
            .into(),
            access_rights: None,
            expires_at: None,
            vertical: Some(Vertical::Home),
            algorithm: Algorithm::Aes256Gcm,
            max_receivers: None,
            notification_token: None,
            event_endpoint: None,
        }
    }

    #[tokio::test]
    async fn a_create_lost_in_transit_is_repeated_once_with_the_same_request_id() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let link = format!("{base}/v1/m/{ID}");
        let server = tokio::spawn(async move {
            // First attempt: the request arrives, the answer is lost.
            let (mut socket, _) = listener.accept().await.unwrap();
            let first = read_request(&mut socket).await;
            drop(socket);
            // Second attempt: the relay recognises the request id and answers 201.
            let (mut socket, _) = listener.accept().await.unwrap();
            let second = read_request(&mut socket).await;
            let id = header(&second, "mailbox-request-id").unwrap().to_owned();
            let body = json!({"urlLink": link, "isPushNotificationSupported": false}).to_string();
            let answer = format!(
                "HTTP/1.1 201 Created\r\nmailbox-request-id: {id}\r\ncontent-type: \
                 application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            (first, second)
        });

        let client = Client::new(&base).unwrap();
        let info = ProvisioningInformation::new("f", json!({"k": 1})).unwrap();
        let share = client.share(&info, options()).await.unwrap();
        let (first, second) = server.await.unwrap();

        assert!(first.starts_with("POST /v1/m HTTP/1.1\r\n"));
        assert_eq!(header(&first, "mailbox-request-id"), header(&second, "mailbox-request-id"));
        assert_eq!(
            header(&first, "mailbox-device-claim"),
            Some(share.claim().to_header_value().as_str())
        );
        let text = share.url().to_string();
        assert!(text.starts_with(&format!("{base}/v1/m/{ID}?v=h#")), "{text}");
        assert_eq!(share.secret().algorithm(), Algorithm::Aes256Gcm);
        assert!(!first.contains(&share.secret().to_base64()));
    }

    #[tokio::test]
    async fn a_create_is_not_repeated_twice() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let client = Client::new(&base).unwrap();
        let sharing = tokio::spawn(async move {
            let info = ProvisioningInformation::new("f", json!({})).unwrap();
            client.share(&info, options()).await
        });
        for _ in 0..2 {
            let (mut socket, _) = listener.accept().await.unwrap();
            read_request(&mut socket).await;
        }
        let error = sharing.await.unwrap().unwrap_err();
        assert!(matches!(error, Error::Unreachable(_)), "{error:?}");
        let third = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(third.is_err(), "a third attempt was made");
    }
}
