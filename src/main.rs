//! `svna`: the command line of the Serious Violence needs-assessment pipeline.
//! Thin by design: each command parses arguments and calls one library.

mod cli;
mod population;
mod project;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Outcome};

/// Stack of each runtime thread. A Ballista scheduler decodes and optimises a stage's whole
/// plan recursively: with the default 2 MiB it overflowed on the standard pipeline's
/// `sv_victims_by_age_sex`, so svna's threads get the 32 MiB Ballista's own scheduler uses.
/// Only touched pages are committed, so the cost is address space.
const WORKER_STACK_BYTES: usize = 32 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(cli::run(cli));
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Finding) => ExitCode::from(1),
        Err(e) => {
            let code = exit_code(&e);
            let label = if code == 1 { "refused" } else { "error" };
            eprintln!("{label}: {}", error_text(&e));
            ExitCode::from(code)
        }
    }
}

/// The exit code of a failed command, from the kind of its error: 1 where svna refused
/// something for what it is (a release whose tables must not leave the partnership: a
/// finding about the data, like rows rejected by validation), 2 for every other error
/// (I/O, storage, configuration, arguments), which says nothing about the data. The one
/// place an error becomes an exit code.
fn exit_code(error: &anyhow::Error) -> u8 {
    let finding = error.chain().any(|cause| {
        cause
            .downcast_ref::<svna_publish::PublishError>()
            .is_some_and(svna_publish::PublishError::is_finding)
    });
    if finding { 1 } else { 2 }
}

/// The error and its causes, each said once. svna's library errors name their cause in their
/// own message and also keep it as their `source()`, so that callers can inspect it; anyhow's
/// `{:#}` would print each such cause a second time.
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}
