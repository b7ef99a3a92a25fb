//! The generated bindings against a real relay started in this process on 127.0.0.1:0.

mod bindings;
mod kotlin;
mod python;
mod support;
mod swift;
