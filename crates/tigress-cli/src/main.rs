//! The `tigress` binary; everything lives in the library, see its documentation.

fn main() -> std::process::ExitCode {
    tigress_cli::main()
}
