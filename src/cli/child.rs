//! `docling-memprof child`: the Rust worker core as a protocol worker (started by the core
//! backend; not for direct use). All of it is [`crate::backend::core_child`].

use clap::Args;

#[derive(Debug, Args)]
pub struct ChildArgs {}

pub fn run(_args: ChildArgs) -> crate::Result<i32> {
    crate::backend::core_child::run()
}
