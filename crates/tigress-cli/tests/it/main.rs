//! Integration tests of the `tigress` binary, run as a subprocess against a real relay.

mod car_key;
mod cli;
mod events;
mod interop;
mod pin;
mod process;
mod sealed;
mod several_relays;
mod snapshots;
mod support;
