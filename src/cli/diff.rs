//! `docling-memprof diff`.

use clap::Args;

#[derive(Debug, Args)]
pub struct DiffArgs {}

pub fn run(_args: DiffArgs) -> crate::Result<i32> {
    Err(crate::Error::Internal("`diff` is being built".into()))
}
