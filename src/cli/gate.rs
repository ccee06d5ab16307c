//! `docling-memprof gate`.

use clap::Args;

#[derive(Debug, Args)]
pub struct GateArgs {}

pub fn run(_args: GateArgs) -> crate::Result<i32> {
    Err(crate::Error::Internal("`gate` is being built".into()))
}
