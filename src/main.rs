//! The thin binary: parse arguments, dispatch, map errors to documented exit codes.
//! Exit codes: 0 success, 1 budget broken, 2 bad input, 3 worker child died, 4 internal.

use clap::Parser;
use docling_memprof::cli::{dispatch, Cli};

#[global_allocator]
static GLOBAL: docling_memprof::alloc::SelectedAllocator =
    docling_memprof::alloc::SelectedAllocator::new();

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = err.print();
            std::process::exit(if err.use_stderr() {
                docling_memprof::error::EXIT_BAD_INPUT
            } else {
                0
            });
        }
    };
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            err.exit_code()
        }
    };
    std::process::exit(code);
}
