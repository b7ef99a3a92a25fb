//! Sender and receiver state machines for the one-message share (§5), without I/O.
//!
//! Each machine says which HTTP request to send next; the caller sends it and passes the
//! response back. The order of calls is:
//!
//! ```text
//! while let Some(request) = machine.poll_request() {
//!     let response = transport.send(request).await?;
//!     machine.handle_response(response)?;
//! }
//! ```
//!
//! The [`Receiver`] stops after the preview until [`Receiver::accept`] or [`Receiver::decline`]
//! is called, and after receiving until [`Receiver::finish`] says whether to delete the mailbox.

use std::collections::VecDeque;
use std::mem;

use rand_core::{CryptoRng, RngCore};

use crate::AccessRights;
use crate::aead::{Algorithm, OpenError, Secret};
use crate::expiration;
use crate::ids::{DeviceClaim, RequestId};
use crate::provisioning::{ProvisioningError, ProvisioningInformation};
use crate::share_url::{DEFAULT_MAILBOX_SEGMENT, ShareUrl, ShareUrlError, Vertical};
use crate::transfer::{Conversation, TransferError};
use crate::wire::{
    CreateMailboxRequest, CreateMailboxResponse, Display, ErrorBody, HEADER_DEVICE_CLAIM,
    HEADER_PREFER, HEADER_REQUEST_ID, MailboxConfiguration, NotificationToken, Party,
    PreviewResponse, ReadMailboxRequest, ReadMailboxResponse, UpdateMailboxRequest,
};

/// HTTP methods the protocol uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Remove a mailbox.
    Delete,
    /// Read the preview.
    Get,
    /// Give up the receiver binding.
    Patch,
    /// Create a mailbox, or read its secure content.
    Post,
    /// Replace the payload.
    Put,
}

/// A request for the transport to send.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The full URL. It never carries a fragment.
    pub url: String,
    /// Header names (lower case) and values.
    pub headers: Vec<(&'static str, String)>,
    /// A JSON body, if any.
    pub body: Option<Vec<u8>>,
}

/// What the transport received.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The `Mailbox-Request-ID` header of the response, if any.
    pub request_id: Option<String>,
    /// The `Retry-After` header in seconds, if the relay sent one (with 429 and 503).
    pub retry_after_seconds: Option<u32>,
    /// The body.
    pub body: Vec<u8>,
}

/// What went wrong in a flow, from the user's point of view.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// Another device has already accepted this share; ask the sender for a new one.
    #[error("this share has already been accepted by another device")]
    AlreadyClaimed,
    /// The share has expired or was deleted; ask the sender for a new one.
    #[error("this share has expired or no longer exists")]
    Gone,
    /// The payload failed to decrypt: the secret is wrong or the payload was altered.
    #[error("could not decrypt the share: {0}")]
    Open(#[from] OpenError),
    /// The decrypted payload is not Provisioning Information.
    #[error("the decrypted share is not valid: {0}")]
    Provisioning(#[from] ProvisioningError),
    /// The relay refused the request; `message` says why.
    #[error("the relay refused the request ({status} {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The relay's machine-readable code.
        code: String,
        /// The relay's sentence.
        message: String,
        /// Seconds the relay asked the client to wait (`Retry-After`), with 429 and 503.
        retry_after_seconds: Option<u32>,
    },
    /// The relay answered something that does not follow the protocol.
    #[error("the relay's answer does not follow the protocol: {0}")]
    BadResponse(String),
    /// The response echoed another `Mailbox-Request-ID` than the one sent (§7): it belongs to
    /// another request. Retry the operation.
    #[error("the relay's answer belongs to another request")]
    RequestIdMismatch,
    /// `handle_response` was called while no request was outstanding: a bug in the driver.
    #[error("no request is outstanding")]
    NothingOutstanding,
    /// A message does not fit the conversation: reflected, replayed, reordered, dropped or from
    /// another mailbox. The relay misbehaved; end the transfer.
    #[error("{0}")]
    Transfer(TransferError),
}

impl From<TransferError> for FlowError {
    fn from(e: TransferError) -> Self {
        match e {
            TransferError::Open(e) => Self::Open(e),
            TransferError::Provisioning(e) => Self::Provisioning(e),
            other => Self::Transfer(other),
        }
    }
}

/// Builds the request that creates a mailbox on the relay at `relay_base`, whose mailboxes are
/// under `/v1/{segment}` (`m` unless its operator chose another).
pub fn create_request(
    relay_base: &str,
    segment: &str,
    claim: &DeviceClaim,
    id: &RequestId,
    body: &CreateMailboxRequest,
) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        url: format!("{}/v1/{segment}", relay_base.trim_end_matches('/')),
        headers: claim_headers(claim, id),
        body: Some(to_json(body)),
    }
}

/// Builds the request that reads (and, for a fresh claim, binds) a mailbox.
pub fn read_request(share: &ShareUrl, claim: &DeviceClaim, id: &RequestId) -> HttpRequest {
    mailbox_request(Method::Post, share, claim, id, None)
}

/// Builds a read of the messages after `after` that waits up to `wait_seconds` for the peer's
/// next one (`Prefer: wait`, an extension; see the relay's docs/MESSAGES.md).
pub fn wait_request(
    share: &ShareUrl,
    claim: &DeviceClaim,
    id: &RequestId,
    after: u64,
    wait_seconds: u64,
) -> HttpRequest {
    let body = ReadMailboxRequest { notification_token: None, after: Some(after) };
    let mut request = mailbox_request(Method::Post, share, claim, id, Some(to_json(&body)));
    request.headers.push((HEADER_PREFER, format!("wait={wait_seconds}")));
    request
}

/// Builds the request that replaces a mailbox's payload.
pub fn update_request(
    share: &ShareUrl,
    claim: &DeviceClaim,
    id: &RequestId,
    body: &UpdateMailboxRequest,
) -> HttpRequest {
    mailbox_request(Method::Put, share, claim, id, Some(to_json(body)))
}

/// Builds the request that deletes a mailbox.
pub fn delete_request(share: &ShareUrl, claim: &DeviceClaim, id: &RequestId) -> HttpRequest {
    mailbox_request(Method::Delete, share, claim, id, None)
}

/// Builds the request that gives up the receiver binding.
pub fn relinquish_request(share: &ShareUrl, claim: &DeviceClaim, id: &RequestId) -> HttpRequest {
    mailbox_request(Method::Patch, share, claim, id, None)
}

/// A claimed request to the mailbox URL, which never carries the share's fragment.
fn mailbox_request(
    method: Method,
    share: &ShareUrl,
    claim: &DeviceClaim,
    id: &RequestId,
    body: Option<Vec<u8>>,
) -> HttpRequest {
    HttpRequest {
        method,
        url: share.mailbox_url().to_owned(),
        headers: claim_headers(claim, id),
        body,
    }
}

/// Builds the preview request: no claim, binds nothing.
pub fn preview_request(share: &ShareUrl) -> HttpRequest {
    HttpRequest {
        method: Method::Get,
        url: share.mailbox_url().to_owned(),
        headers: vec![("accept", "application/json".to_owned())],
        body: None,
    }
}

/// Checks the echoed request id and the status, and turns an error status into a [`FlowError`].
/// `read` says whether a 401 means "claimed by another device".
pub fn check_response(
    response: &HttpResponse,
    sent: Option<&RequestId>,
    read: bool,
) -> Result<(), FlowError> {
    if let Some(sent) = sent {
        if response.request_id.as_deref() != Some(sent.as_str()) {
            return Err(FlowError::RequestIdMismatch);
        }
    }
    match response.status {
        200..=299 => Ok(()),
        404 => Err(FlowError::Gone),
        401 if read => Err(FlowError::AlreadyClaimed),
        status => {
            let body: Option<ErrorBody> = serde_json::from_slice(&response.body).ok();
            let (code, message) = body
                .map(|b| (b.code, b.message))
                .unwrap_or_else(|| ("unknown".into(), "no error description".into()));
            let retry_after_seconds = response.retry_after_seconds;
            Err(FlowError::Rejected { status, code, message, retry_after_seconds })
        }
    }
}

fn claim_headers(claim: &DeviceClaim, id: &RequestId) -> Vec<(&'static str, String)> {
    vec![
        (HEADER_DEVICE_CLAIM, claim.to_header_value()),
        (HEADER_REQUEST_ID, id.as_str().to_owned()),
        ("content-type", "application/json".to_owned()),
    ]
}

fn to_json(value: &impl serde::Serialize) -> Vec<u8> {
    // The wire types are plain strings and options; serialising them cannot fail.
    serde_json::to_vec(value).expect("wire types serialise")
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, FlowError> {
    serde_json::from_slice(body).map_err(|e| FlowError::BadResponse(e.to_string()))
}

/// What the sender chooses about a share besides its content.
#[derive(Clone, Debug)]
pub struct ShareOptions {
    /// The public preview: inline text, or the URL of a page of the sender's vendor.
    pub display: Display,
    /// The receiver's rights; the relay's default (`RD`) when `None`.
    pub access_rights: Option<AccessRights>,
    /// Expiry as Unix seconds; the relay's default when `None`.
    pub expires_at: Option<i64>,
    /// The vertical to put in the share URL.
    pub vertical: Option<Vertical>,
    /// The AEAD to encrypt with.
    pub algorithm: Algorithm,
    /// How many distinct receivers may ever bind (extension `maxReceivers`); no cap when `None`.
    pub max_receivers: Option<u32>,
    /// The sender's push token.
    pub notification_token: Option<NotificationToken>,
    /// The relay's event endpoint to tell of the mailbox's life (extension `events`), by the
    /// name its operator gave it; none when `None`.
    pub event_endpoint: Option<String>,
}

impl ShareOptions {
    /// Options with this preview text and the relay's defaults for everything else: rights
    /// `RD`, the relay's default lifetime, general access, AES-128-GCM, no cap on receivers and
    /// no push token. Change the fields to choose otherwise.
    pub fn new(display: impl Into<Display>) -> Self {
        Self {
            display: display.into(),
            access_rights: None,
            expires_at: None,
            vertical: None,
            algorithm: Algorithm::Aes128Gcm,
            max_receivers: None,
            notification_token: None,
            event_endpoint: None,
        }
    }
}

enum SenderState {
    ToCreate,
    Creating,
    Shared(ShareUrl),
    Failed,
}

/// The sender of a one-message share: encrypts the Provisioning Information and creates the
/// mailbox. Call [`Sender::poll_request`], send, pass the answer to [`Sender::handle_response`];
/// then [`Sender::share_url`] holds the URL to give the receiver. After a transport failure,
/// [`Sender::handle_transport_error`] makes the next poll repeat the same request with the same
/// request id, so the relay answers a retry of a request it did process with the original result.
pub struct Sender {
    relay_base: String,
    mailbox_segment: String,
    claim: DeviceClaim,
    request_id: RequestId,
    conversation: Conversation,
    vertical: Option<Vertical>,
    body: CreateMailboxRequest,
    state: SenderState,
}

impl Sender {
    /// Prepares a share of `info` through the relay at `relay_base`.
    pub fn new(
        relay_base: &str,
        info: &ProvisioningInformation,
        options: ShareOptions,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let secret = Secret::generate(options.algorithm, rng);
        Self::with_secret(relay_base, info, options, secret, rng)
    }

    /// Like [`Sender::new`], with the members `seal` names sealed first for their recipients,
    /// bound to this share ([`Secret::share_binding`]) and their pointers (docs/MESSAGES.md,
    /// "Sealed fields"). All of them, or none and an error.
    pub fn new_sealed(
        relay_base: &str,
        info: &ProvisioningInformation,
        options: ShareOptions,
        seal: &[(&str, &tigress_jwe::PublicJwk)],
        algorithm: tigress_jwe::Algorithm,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self, tigress_jwe::FieldError> {
        let secret = Secret::generate(options.algorithm, rng);
        let mut document = serde_json::to_value(info).expect("Provisioning Information encodes");
        tigress_jwe::seal_fields(rng, &mut document, seal, algorithm, &secret.share_binding())?;
        let sealed = ProvisioningInformation::new(
            info.format.clone(),
            document.get_mut("content").map(serde_json::Value::take).unwrap_or_default(),
        )
        .expect("sealing keeps the content an object");
        Ok(Self::with_secret(relay_base, &sealed, options, secret, rng))
    }

    fn with_secret(
        relay_base: &str,
        info: &ProvisioningInformation,
        options: ShareOptions,
        secret: Secret,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let mut conversation = Conversation::new(Party::Sender, secret);
        // The invitation is message 1 of the conversation.
        let payload = conversation.seal(info, rng);
        let configured = options.access_rights.is_some()
            || options.expires_at.is_some()
            || options.max_receivers.is_some()
            || options.event_endpoint.is_some();
        let configuration = configured.then(|| MailboxConfiguration {
            access_rights: options.access_rights.map(|r| r.to_string()),
            expiration: options.expires_at.map(expiration::format),
            max_receivers: options.max_receivers,
            event_endpoint: options.event_endpoint,
        });
        let (display_information, display_information_url) = options.display.into_members();
        Self {
            relay_base: relay_base.to_owned(),
            mailbox_segment: DEFAULT_MAILBOX_SEGMENT.to_owned(),
            claim: DeviceClaim::random(rng),
            request_id: RequestId::random(rng),
            conversation,
            vertical: options.vertical,
            body: CreateMailboxRequest {
                payload,
                display_information,
                display_information_url,
                notification_token: options.notification_token,
                mailbox_configuration: configuration,
            },
            state: SenderState::ToCreate,
        }
    }

    /// Creates the mailbox under `/v1/{segment}`, for a relay whose operator chose a segment
    /// other than `m` (its descriptor's `mailboxPath` says which). Check it with
    /// [`is_mailbox_segment`](crate::share_url::is_mailbox_segment) first: the segment goes into
    /// the URL as it is.
    pub fn with_mailbox_segment(mut self, segment: &str) -> Self {
        self.mailbox_segment = segment.to_owned();
        self
    }

    /// The next request to send, if any.
    pub fn poll_request(&mut self) -> Option<HttpRequest> {
        match self.state {
            SenderState::ToCreate => {
                self.state = SenderState::Creating;
                let (base, segment) = (&self.relay_base, &self.mailbox_segment);
                Some(create_request(base, segment, &self.claim, &self.request_id, &self.body))
            }
            _ => None,
        }
    }

    /// Takes the relay's answer to the create request.
    pub fn handle_response(&mut self, response: HttpResponse) -> Result<(), FlowError> {
        if !matches!(self.state, SenderState::Creating) {
            return Err(FlowError::NothingOutstanding);
        }
        self.state = SenderState::Failed;
        if response.status == 404 {
            // No mailbox is gone here: the relay creates none at this path.
            return Err(FlowError::Rejected {
                status: 404,
                code: "not_found".into(),
                message: format!(
                    "the relay creates no mailboxes at /v1/{}; its descriptor's mailboxPath \
                     names the path it serves",
                    self.mailbox_segment
                ),
                retry_after_seconds: None,
            });
        }
        check_response(&response, Some(&self.request_id), false)?;
        let created: CreateMailboxResponse = decode(&response.body)?;
        let mut share = ShareUrl::from_url_link(&created.url_link)
            .map_err(|e: ShareUrlError| FlowError::BadResponse(format!("urlLink: {e}")))?
            .with_secret(self.conversation.secret().clone());
        if let Some(vertical) = self.vertical {
            share = share.with_vertical(vertical);
        }
        self.conversation.set_mailbox(share.mailbox());
        self.state = SenderState::Shared(share);
        Ok(())
    }

    /// The create request was lost in transit; the next poll retries it.
    pub fn handle_transport_error(&mut self) {
        if matches!(self.state, SenderState::Creating) {
            self.state = SenderState::ToCreate;
        }
    }

    /// The share URL, with vertical and secret, once the mailbox exists.
    pub fn share_url(&self) -> Option<&ShareUrl> {
        match &self.state {
            SenderState::Shared(share) => Some(share),
            _ => None,
        }
    }

    /// The sender's claim, needed to update or cancel the share later.
    pub fn claim(&self) -> &DeviceClaim {
        &self.claim
    }

    /// Continues the share as a multi-message transfer, once the mailbox exists.
    pub fn into_session(self) -> Option<Session> {
        match self.state {
            // The sender's own invitation is message 1: start after it.
            SenderState::Shared(share) => {
                Some(Session::new(share.without_secret(), self.claim, self.conversation, 1))
            }
            _ => None,
        }
    }
}

/// What the receiver learns before accepting: the public preview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// Title, description and image URL, as the sender wrote them; or the URL of its vendor's
    /// page with them (compatibility profile).
    pub display: Display,
    /// `YYYY-MM-DDThh:mm:ssZ`.
    pub expiration: String,
    /// From the share URL; general access when absent.
    pub vertical: Vertical,
}

enum ReceiverState {
    ToPreview,
    Previewing,
    Deciding,
    ToRead,
    Reading(RequestId),
    Received,
    ToDelete,
    Deleting(RequestId),
    Declined,
    Done,
    Failed,
}

/// The receiver of a one-message share: previews, binds with a fresh claim, decrypts, deletes.
pub struct Receiver {
    share: ShareUrl,
    conversation: Conversation,
    claim: DeviceClaim,
    state: ReceiverState,
    preview: Option<Preview>,
    received: Option<ProvisioningInformation>,
    /// Peer messages read after the first, kept for a [`Session`].
    later: VecDeque<ProvisioningInformation>,
    cursor: u64,
    /// The sender wrote without bindings (a client written to the drafts alone): the share is
    /// read as the drafts do, and cannot continue as a [`Session`].
    unbound: bool,
    rng_request_ids: Vec<RequestId>,
}

impl Receiver {
    /// Starts receiving `share` with `secret`. The fragment of `share` is never sent: every
    /// request goes to [`ShareUrl::mailbox_url`].
    pub fn new(share: &ShareUrl, secret: Secret, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut conversation = Conversation::new(Party::Receiver, secret);
        conversation.set_mailbox(share.mailbox());
        Self {
            share: share.without_secret(),
            conversation,
            claim: DeviceClaim::random(rng),
            state: ReceiverState::ToPreview,
            preview: None,
            received: None,
            later: VecDeque::new(),
            cursor: 0,
            unbound: false,
            // Drawn up front so that the machine needs no RNG after construction.
            rng_request_ids: vec![RequestId::random(rng), RequestId::random(rng)],
        }
    }

    /// The next request to send, or `None` while waiting for a decision or when finished.
    pub fn poll_request(&mut self) -> Option<HttpRequest> {
        let (next, request) = match mem::replace(&mut self.state, ReceiverState::Failed) {
            ReceiverState::ToPreview => {
                (ReceiverState::Previewing, Some(preview_request(&self.share)))
            }
            ReceiverState::ToRead => {
                let id = self.next_request_id();
                let request = read_request(&self.share, &self.claim, &id);
                (ReceiverState::Reading(id), Some(request))
            }
            ReceiverState::ToDelete => {
                let id = self.next_request_id();
                let request = delete_request(&self.share, &self.claim, &id);
                (ReceiverState::Deleting(id), Some(request))
            }
            other => (other, None),
        };
        self.state = next;
        request
    }

    /// Takes the relay's answer to the outstanding request.
    pub fn handle_response(&mut self, response: HttpResponse) -> Result<(), FlowError> {
        match mem::replace(&mut self.state, ReceiverState::Failed) {
            ReceiverState::Previewing => {
                check_response(&response, None, false)?;
                let preview: PreviewResponse = decode(&response.body)?;
                let preview = Preview {
                    display: Display::from_members(
                        preview.display_information,
                        preview.display_information_url,
                    )
                    .ok_or_else(|| {
                        FlowError::BadResponse("a preview needs exactly one display member".into())
                    })?,
                    expiration: preview.expiration,
                    vertical: self.share.vertical().unwrap_or(Vertical::Access),
                };
                self.preview = Some(preview);
                self.state = ReceiverState::Deciding;
            }
            ReceiverState::Reading(id) => {
                check_response(&response, Some(&id), true)?;
                let read: ReadMailboxResponse = decode(&response.body)?;
                self.take_first_read(read)?;
                self.state = ReceiverState::Received;
            }
            ReceiverState::Deleting(id) => {
                check_response(&response, Some(&id), false)?;
                self.state = ReceiverState::Done;
            }
            other => {
                self.state = other;
                return Err(FlowError::NothingOutstanding);
            }
        }
        Ok(())
    }

    /// The preview, once fetched.
    pub fn preview(&self) -> Option<&Preview> {
        self.preview.as_ref()
    }

    /// Whether the machine waits for [`Receiver::accept`] or [`Receiver::decline`].
    pub fn is_deciding(&self) -> bool {
        matches!(self.state, ReceiverState::Deciding)
    }

    /// Accepts the share: the next request reads and binds the mailbox.
    pub fn accept(&mut self) {
        if let ReceiverState::Deciding = self.state {
            self.state = ReceiverState::ToRead;
        }
    }

    /// Declines the share; nothing is bound and no further request is made.
    pub fn decline(&mut self) {
        if let ReceiverState::Deciding = self.state {
            self.state = ReceiverState::Declined;
        }
    }

    /// This device's receiver claim: the bearer token of its binding, needed to update or
    /// relinquish the mailbox later. Keep it as secret as the share URL.
    pub fn claim(&self) -> &DeviceClaim {
        &self.claim
    }

    /// The decrypted Provisioning Information, once read.
    pub fn received(&self) -> Option<&ProvisioningInformation> {
        self.received.as_ref()
    }

    /// After receiving: delete the mailbox (the default), or keep it (`keep`).
    pub fn finish(&mut self, keep: bool) {
        if let ReceiverState::Received = self.state {
            self.state = if keep { ReceiverState::Done } else { ReceiverState::ToDelete };
        }
    }

    /// Whether the flow has ended (received and finished, or declined).
    pub fn is_done(&self) -> bool {
        matches!(self.state, ReceiverState::Done | ReceiverState::Declined)
    }

    /// Continues as a multi-message transfer after receiving (instead of [`Receiver::finish`]).
    pub fn into_session(self) -> Option<Session> {
        if !matches!(self.state, ReceiverState::Received) || self.unbound {
            return None;
        }
        let mut session = Session::new(self.share, self.claim, self.conversation, self.cursor);
        session.pending = self.later;
        Some(session)
    }

    /// Opens the first read: the whole log when the relay keeps one, else the single slot (a
    /// relay written to the drafts alone). A log whose first message is bound is checked message
    /// by message; one whose first message is not comes from a sender written to the drafts
    /// alone, and is read as the drafts do: the slot holds the latest message.
    fn take_first_read(&mut self, read: ReadMailboxResponse) -> Result<(), FlowError> {
        let Some((first, rest)) = read.messages.split_first() else {
            self.received = Some(self.conversation.open_first(&read.payload)?.0);
            return Ok(());
        };
        let (info, bound) = self.conversation.open_first(&first.payload)?;
        self.cursor = read.messages.last().map_or(first.seq, |m| m.seq);
        if !bound {
            self.unbound = true;
            let latest = self.conversation.secret().open(&read.payload)?;
            self.received = Some(ProvisioningInformation::from_slice(&latest)?);
            return Ok(());
        }
        self.received = Some(info);
        for message in rest {
            if let Some(info) = self.conversation.open(&message.payload, message.from)? {
                self.later.push_back(info);
            }
        }
        Ok(())
    }

    fn next_request_id(&mut self) -> RequestId {
        // Two ids were drawn at construction, one each for the read and the delete.
        self.rng_request_ids.pop().expect("one request id per state-changing request")
    }
}

enum Outstanding {
    Close(RequestId),
    Read(RequestId),
    Send(RequestId),
}

/// A multi-message transfer between the two devices, after the invitation: each side sends
/// messages and waits for the peer's, through the mailbox's message log. Every message is bound
/// to the conversation ([`crate::transfer`]), so the relay cannot reflect, replay, reorder or drop
/// one unnoticed.
///
/// Build one with [`Sender::into_session`] or [`Receiver::into_session`]. Each of
/// [`Session::send`], [`Session::wait`] and [`Session::close`] returns the request to send; pass
/// its answer to [`Session::handle_response`] before making the next. After a wait, take the
/// peer's messages with [`Session::next_message`]. A request lost in transit may be sent again
/// as is: it carries the same request id.
pub struct Session {
    share: ShareUrl,
    claim: DeviceClaim,
    conversation: Conversation,
    cursor: u64,
    pending: VecDeque<ProvisioningInformation>,
    outstanding: Option<Outstanding>,
    push_token: Option<NotificationToken>,
}

impl Session {
    fn new(share: ShareUrl, claim: DeviceClaim, conversation: Conversation, cursor: u64) -> Self {
        Self {
            share,
            claim,
            conversation,
            cursor,
            pending: VecDeque::new(),
            outstanding: None,
            push_token: None,
        }
    }

    /// Registers this device's push token with its next message, so the relay wakes it when the
    /// peer writes (§15). Use a token made for this share only.
    pub fn set_push_token(&mut self, token: NotificationToken) {
        self.push_token = Some(token);
    }

    /// This device's role.
    pub fn role(&self) -> Party {
        self.conversation.me()
    }

    /// The share, without its secret.
    pub fn share(&self) -> &ShareUrl {
        &self.share
    }

    /// This device's claim.
    pub fn claim(&self) -> &DeviceClaim {
        &self.claim
    }

    /// Seals `info` as the next message of the conversation and returns the Update to send.
    pub fn send(
        &mut self,
        info: &ProvisioningInformation,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> HttpRequest {
        let payload = self.conversation.seal(info, rng);
        let id = RequestId::random(rng);
        let body = UpdateMailboxRequest { payload, notification_token: self.push_token.take() };
        let request = update_request(&self.share, &self.claim, &id, &body);
        self.outstanding = Some(Outstanding::Send(id));
        request
    }

    /// Returns a read that waits up to `wait_seconds` for the peer's next message.
    pub fn wait(&mut self, wait_seconds: u64, rng: &mut (impl RngCore + CryptoRng)) -> HttpRequest {
        let id = RequestId::random(rng);
        let request = wait_request(&self.share, &self.claim, &id, self.cursor, wait_seconds);
        self.outstanding = Some(Outstanding::Read(id));
        request
    }

    /// Returns the Delete that ends the transfer for both sides (done, or cancelled).
    pub fn close(&mut self, rng: &mut (impl RngCore + CryptoRng)) -> HttpRequest {
        let id = RequestId::random(rng);
        let request = delete_request(&self.share, &self.claim, &id);
        self.outstanding = Some(Outstanding::Close(id));
        request
    }

    /// Takes the answer to the request last returned.
    pub fn handle_response(&mut self, response: HttpResponse) -> Result<(), FlowError> {
        match self.outstanding.take() {
            None => Err(FlowError::NothingOutstanding),
            Some(Outstanding::Send(id) | Outstanding::Close(id)) => {
                check_response(&response, Some(&id), false)
            }
            Some(Outstanding::Read(id)) => {
                check_response(&response, Some(&id), false)?;
                let read: ReadMailboxResponse = decode(&response.body)?;
                if read.last_seq.is_none() {
                    return Err(FlowError::BadResponse(
                        "the relay keeps no message log (it answers no lastSeq)".into(),
                    ));
                }
                let cursor = self.cursor;
                for message in read.messages.iter().filter(|m| m.seq > cursor) {
                    if let Some(info) = self.conversation.open(&message.payload, message.from)? {
                        self.pending.push_back(info);
                    }
                    self.cursor = message.seq;
                }
                Ok(())
            }
        }
    }

    /// The peer's next message, oldest first, once read.
    pub fn next_message(&mut self) -> Option<ProvisioningInformation> {
        self.pending.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::wire::{DisplayInformation, ReadMailboxResponse};

    const LINK: &str = "https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40";

    fn options() -> ShareOptions {
        ShareOptions {
            display: Display::Inline(DisplayInformation {
                title: "Room 12".into(),
                description: "Hotel key".into(),
                image_url: "https://img.example/k.png".into(),
            }),
            access_rights: None,
            expires_at: Some(1_900_000_000),
            vertical: Some(Vertical::Home),
            algorithm: Algorithm::Aes128Gcm,
            max_receivers: None,
            notification_token: None,
            event_endpoint: None,
        }
    }

    fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
        request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// A fake relay good enough for one share: it keeps the created body and answers reads.
    fn sender_and_created() -> (Sender, CreateMailboxRequest, ShareUrl) {
        let info = ProvisioningInformation::new(
            "digitalwallet.generic.authorizationToken",
            json!({"token": "abc"}),
        )
        .unwrap();
        let mut sender =
            Sender::new("https://relay.example/", &info, options(), &mut rand::rngs::OsRng);
        let request = sender.poll_request().unwrap();
        assert_eq!(request.url, "https://relay.example/v1/m");
        assert!(sender.poll_request().is_none());
        let body: CreateMailboxRequest =
            serde_json::from_slice(request.body.as_ref().unwrap()).unwrap();
        let echoed = header(&request, HEADER_REQUEST_ID).map(str::to_owned);
        let answer =
            serde_json::to_vec(&json!({"urlLink": LINK, "isPushNotificationSupported": false}))
                .unwrap();
        sender
            .handle_response(HttpResponse {
                status: 200,
                request_id: echoed,
                retry_after_seconds: None,
                body: answer,
            })
            .unwrap();
        let share = sender.share_url().unwrap().clone();
        (sender, body, share)
    }

    #[test]
    fn sender_retries_create_with_the_same_request_id() {
        let info = ProvisioningInformation::new("f", json!({})).unwrap();
        let mut sender =
            Sender::new("https://relay.example", &info, options(), &mut rand::rngs::OsRng);
        let first = sender.poll_request().unwrap();
        sender.handle_transport_error();
        let second = sender.poll_request().unwrap();
        assert_eq!(header(&first, HEADER_REQUEST_ID), header(&second, HEADER_REQUEST_ID));
        assert_eq!(first.body, second.body);
    }

    #[test]
    fn sender_builds_the_share_url_with_vertical_and_secret() {
        let (_, body, share) = sender_and_created();
        assert_eq!(share.vertical(), Some(Vertical::Home));
        assert!(share.to_string().starts_with(&format!("{LINK}?v=h#")));
        let config = body.mailbox_configuration.unwrap();
        assert_eq!(config.expiration.as_deref(), Some("2030-03-17T17:46:40Z"));
        let plaintext = share.secret().unwrap().open(&body.payload).unwrap();
        assert_eq!(
            ProvisioningInformation::from_slice(&plaintext).unwrap().content["token"],
            "abc"
        );
    }

    #[test]
    fn sender_rejects_an_answer_to_another_request() {
        let info = ProvisioningInformation::new("f", json!({})).unwrap();
        let mut sender =
            Sender::new("https://relay.example", &info, options(), &mut rand::rngs::OsRng);
        sender.poll_request().unwrap();
        let answer =
            serde_json::to_vec(&json!({"urlLink": LINK, "isPushNotificationSupported": false}))
                .unwrap();
        let result = sender.handle_response(HttpResponse {
            status: 200,
            request_id: Some("other".into()),
            retry_after_seconds: None,
            body: answer,
        });
        assert!(matches!(result, Err(FlowError::RequestIdMismatch)));
        assert!(sender.share_url().is_none());
    }

    #[test]
    fn receiver_previews_then_reads_then_deletes_without_sending_the_secret() {
        let (_, created, share) = sender_and_created();
        let secret = share.secret().unwrap().clone();
        let mut receiver = Receiver::new(&share, secret.clone(), &mut rand::rngs::OsRng);

        let preview = receiver.poll_request().unwrap();
        assert_eq!(preview.method, Method::Get);
        assert!(header(&preview, HEADER_DEVICE_CLAIM).is_none());
        let body = json!({"displayInformation": created.display_information, "expiration": "2030-03-17T17:46:40Z"});
        receiver
            .handle_response(HttpResponse {
                status: 200,
                request_id: None,
                retry_after_seconds: None,
                body: serde_json::to_vec(&body).unwrap(),
            })
            .unwrap();
        assert!(receiver.is_deciding());
        let shown = receiver.preview().unwrap();
        assert_eq!(shown.display.information().unwrap().title, "Room 12");
        assert!(receiver.poll_request().is_none(), "nothing is read before accepting");

        receiver.accept();
        let read = receiver.poll_request().unwrap();
        assert_eq!((read.method, read.url.as_str()), (Method::Post, LINK));
        let echoed = header(&read, HEADER_REQUEST_ID).map(str::to_owned);
        let answer = ReadMailboxResponse {
            payload: created.payload.clone(),
            display_information: created.display_information.clone(),
            display_information_url: None,
            expiration: "2030-03-17T17:46:40Z".into(),
            messages: vec![],
            last_seq: None,
            role: None,
            receiver_bound: None,
        };
        receiver
            .handle_response(HttpResponse {
                status: 200,
                request_id: echoed,
                retry_after_seconds: None,
                body: serde_json::to_vec(&answer).unwrap(),
            })
            .unwrap();
        assert_eq!(receiver.received().unwrap().content["token"], "abc");

        receiver.finish(false);
        let delete = receiver.poll_request().unwrap();
        assert_eq!(delete.method, Method::Delete);
        let echoed = header(&delete, HEADER_REQUEST_ID).map(str::to_owned);
        receiver
            .handle_response(HttpResponse {
                status: 200,
                request_id: echoed,
                retry_after_seconds: None,
                body: vec![],
            })
            .unwrap();
        assert!(receiver.is_done());

        for request in [preview, read, delete] {
            assert!(!request.url.contains('#'));
            let text = format!("{:?}{:?}", request.headers, request.body);
            assert!(!text.contains(&secret.to_base64()));
        }
    }

    #[test]
    fn receiver_reports_claimed_gone_and_tampered_shares() {
        let (_, created, share) = sender_and_created();
        let secret = share.secret().unwrap().clone();
        let ready = |status: u16, body: Vec<u8>| {
            let mut receiver = Receiver::new(&share, secret.clone(), &mut rand::rngs::OsRng);
            receiver.poll_request();
            let preview =
                json!({"displayInformation": created.display_information, "expiration": "x"});
            receiver
                .handle_response(HttpResponse {
                    status: 200,
                    request_id: None,
                    retry_after_seconds: None,
                    body: serde_json::to_vec(&preview).unwrap(),
                })
                .unwrap();
            receiver.accept();
            let read = receiver.poll_request().unwrap();
            let echoed = header(&read, HEADER_REQUEST_ID).map(str::to_owned);
            receiver.handle_response(HttpResponse {
                status,
                request_id: echoed,
                retry_after_seconds: None,
                body,
            })
        };
        assert!(matches!(ready(401, vec![]), Err(FlowError::AlreadyClaimed)));
        assert!(matches!(ready(404, vec![]), Err(FlowError::Gone)));
        let mut payload = created.payload.clone();
        payload.data = Secret::generate(Algorithm::Aes128Gcm, &mut rand::rngs::OsRng)
            .seal(b"{}", &mut rand::rngs::OsRng)
            .data;
        let answer = ReadMailboxResponse {
            payload,
            display_information: created.display_information.clone(),
            display_information_url: None,
            expiration: "x".into(),
            messages: vec![],
            last_seq: None,
            role: None,
            receiver_bound: None,
        };
        let tampered = ready(200, serde_json::to_vec(&answer).unwrap());
        assert!(matches!(tampered, Err(FlowError::Open(OpenError::Undecryptable))));
    }

    #[test]
    fn declining_sends_nothing_more() {
        let (_, created, share) = sender_and_created();
        let mut receiver =
            Receiver::new(&share, share.secret().unwrap().clone(), &mut rand::rngs::OsRng);
        receiver.poll_request();
        let preview = json!({"displayInformation": created.display_information, "expiration": "x"});
        receiver
            .handle_response(HttpResponse {
                status: 200,
                request_id: None,
                retry_after_seconds: None,
                body: serde_json::to_vec(&preview).unwrap(),
            })
            .unwrap();
        receiver.decline();
        assert!(receiver.poll_request().is_none());
        assert!(receiver.is_done());
    }
}
