//! The `tigress` command: runs a relay, shares a credential, receives one.
//!
//! - `tigress relay` runs the Secure Credential Transfer relay (`tigress-relay`) until SIGTERM
//!   or Ctrl-C, configured by options or `TIGRESS_*` environment variables, logging to stderr.
//! - `tigress share` encrypts Provisioning Information, stores it on a relay and prints the share
//!   URL on stdout.
//! - `tigress receive` previews a share, asks for consent, decrypts it, prints the Provisioning
//!   Information JSON on stdout and deletes the mailbox. A car-key invitation is answered as the
//!   friend's device (`tigress-carkey`).
//! - `tigress share --stateful` stays running and answers each step of a car-key share as the
//!   owner's device; `tigress demo car-key` shows the whole exchange in one process.
//!
//! Sharing and receiving go through `tigress-client`; this crate only reads arguments and files,
//! talks to the person at the terminal, and maps errors to exit codes. It never prints a claim, a
//! payload or a request id, and prints a share URL or secret only as the `share` command's
//! output.
//!
//! # Exit codes
//!
//! [`Exit`] lists them, with what each means; `tigress --help` prints the same list, and
//! README.md gives it as a sentence. Each failure prints one line on stderr. A receive whose
//! mailbox cannot be deleted afterwards still exits 0, with a warning: the credential was
//! delivered and the mailbox expires on its own.
//!
//! § numbers refer to the sections of docs/PROTOCOL.md.

mod args;
mod car_key;
mod config_file;
mod demo;
mod exit;
mod health;
mod inspect;
mod pin;
mod receive;
mod relay;
mod revoke;
mod sealed;
mod settings;
mod share;
mod terminal;
mod verify;

use std::process::ExitCode;

pub use args::Cli;
use args::Command;
pub use exit::Exit;

/// Parses the command line, runs the command, and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = match config_file::parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(error) => return fail(&error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return Exit::Other.into();
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Relay(args) => relay::run(*args).await,
            Command::Receive(args) => receive::run(args).await,
            Command::Share(args) => share::run(*args).await,
            Command::Revoke(args) => revoke::run(args).await,
            Command::Verify(args) => verify::run(args).await,
            Command::Keygen(args) => sealed::keygen(&args),
            Command::Unseal(args) => sealed::unseal(&args),
            Command::Demo(_) => demo::car_key().await,
            Command::Inspect(args) => inspect::run(&args).await,
            Command::Completions(args) => {
                let mut command = <Cli as clap::CommandFactory>::command();
                clap_complete::generate(
                    args.shell,
                    &mut command,
                    "tigress",
                    &mut std::io::stdout(),
                );
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => Exit::Success.into(),
        Err(error) => fail(&error),
    }
}

/// Prints the one line about `error` and gives its exit code.
fn fail(error: &anyhow::Error) -> ExitCode {
    let exit = Exit::of(error);
    eprintln!("error: {}", exit::describe(error, exit));
    exit.into()
}

/// A client of the relay at `relay_base`, trusting the extra CA certificate in `ca_cert` if any.
fn client(
    relay_base: &str,
    ca_cert: Option<&std::path::Path>,
) -> anyhow::Result<tigress_client::Client> {
    use anyhow::Context as _;

    client_builder(relay_base, ca_cert)?.build().context("invalid relay settings")
}

/// The builder behind [`client`], for callers that add to it.
fn client_builder(
    relay_base: &str,
    ca_cert: Option<&std::path::Path>,
) -> anyhow::Result<tigress_client::ClientBuilder> {
    use anyhow::Context as _;

    let mut builder = tigress_client::Client::builder(relay_base);
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("could not read the CA certificate {}", path.display()))?;
        builder = builder.root_certificate_pem(pem);
    }
    Ok(builder)
}
