//! The one integration-test binary (ripgrep style): one module per area.
//! Tests that install a global allocator live in their own files beside this folder.

mod util;

mod analysis;
mod census;
mod documents;
mod gate;
mod hostile;
mod logs;
mod render;
mod replay;
mod worker_core;
