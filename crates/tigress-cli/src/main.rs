//! The `tigress` binary; everything lives in the library, see its documentation.

/// mimalloc rather than the C library's allocator: a request allocates dozens of small,
/// short-lived buffers, and mimalloc serves them in a fraction of the instructions, from
/// per-thread pages (docs/PERFORMANCE.md, "Where a request's time goes").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tigress_cli::main()
}
