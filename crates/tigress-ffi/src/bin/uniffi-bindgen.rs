//! UniFFI's bindings generator, pinned to this crate's version of UniFFI (the generator and the
//! scaffolding must come from the same release). See docs/EMBEDDING.md for the commands.

fn main() {
    uniffi::uniffi_bindgen_main()
}
