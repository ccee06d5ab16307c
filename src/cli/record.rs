//! `docling-memprof record`.

use clap::Args;

#[derive(Debug, Args)]
pub struct RecordArgs {}

pub fn run(_args: RecordArgs) -> crate::Result<i32> {
    Err(crate::Error::Internal("`record` is being built".into()))
}
