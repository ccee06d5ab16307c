//! The one integration-test binary (ripgrep style): one module per area.
//! Tests that install a global allocator live in their own files beside this folder.

mod util;

mod analysis;
mod architecture;
mod census;
mod docling;
mod documents;
mod engine;
mod faults;
mod fleet;
mod gate;
mod heap_profile;
mod hostile;
mod labelled;
mod logs;
mod protocol;
mod render;
mod replay;
mod sweep;
mod verdict_logs;
mod watch;
mod worker_cmd;
mod worker_core;
