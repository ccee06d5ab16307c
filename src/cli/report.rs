//! `docling-memprof report`.

use clap::Args;

#[derive(Debug, Args)]
pub struct ReportArgs {}

pub fn run(_args: ReportArgs) -> crate::Result<i32> {
    Err(crate::Error::Internal("`report` is being built".into()))
}
