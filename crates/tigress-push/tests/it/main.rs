//! Integration tests of tigress-push: each provider against a local server on 127.0.0.1 that
//! plays the provider's side and checks what it receives.

mod apns;
mod fcm;
mod privacy;
mod pusher;
mod support;
mod webpush;
