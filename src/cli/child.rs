//! `docling-memprof child`.

use clap::Args;

#[derive(Debug, Args)]
pub struct ChildArgs {}

pub fn run(_args: ChildArgs) -> crate::Result<i32> {
    Err(crate::Error::Internal("`child` is being built".into()))
}
