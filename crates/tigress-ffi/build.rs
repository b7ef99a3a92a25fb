//! Generates the Rust scaffolding of `src/tigress.udl`, the one interface definition from which
//! the Kotlin, Swift and Python bindings are also generated.

fn main() {
    // A UDL that does not parse fails the build with UniFFI's message.
    uniffi::generate_scaffolding("src/tigress.udl").expect("src/tigress.udl is valid UDL");
}
