//! The SDK against a real relay started in this process on 127.0.0.1:0.

mod flows;
mod pin;
mod sealed;
mod support;
mod transfer;
