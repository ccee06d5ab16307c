//! `docling-memprof replay`.

use clap::Args;

#[derive(Debug, Args)]
pub struct ReplayArgs {}

pub fn run(_args: ReplayArgs) -> crate::Result<i32> {
    Err(crate::Error::Internal("`replay` is being built".into()))
}
