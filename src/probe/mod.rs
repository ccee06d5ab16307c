//! A snapshot taken inside the worker core's process: `/proc/self` (through
//! [`crate::observe::procfs`]), the allocator's layers ([`layers`]), the worker state, and the
//! census and site hooks ([`profiling`]). The snapshot's types are [`crate::record`]'s.
//!
//! - [`take`]: a [`Prober`] takes a [`crate::record::Snapshot`];
//! - [`profiling`]: switching census and sites on, `profile.jsonl`, `sites.collapsed`.

pub mod layers;
pub mod profiling;
pub mod take;

pub use take::Prober;
