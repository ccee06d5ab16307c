//! Fuzz target: the Csv reader never panics on any input.
#![no_main]

use docling_memprof::worker::document::DocumentFormat;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check("x.csv", DocumentFormat::Csv, data));
