//! `docling-memprof logs`.

use clap::Args;

#[derive(Debug, Args)]
pub struct LogsArgs {}

pub fn run(_args: LogsArgs) -> crate::Result<i32> {
    Err(crate::Error::Internal("`logs` is being built".into()))
}
