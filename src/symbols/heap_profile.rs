//! A snapshot's samples as a jemalloc heap profile: the `heap_v2` text format jemalloc's
//! `prof.dump` writes and `jeprof` reads (`jeprof --text BINARY sites.heap`, `--collapsed`,
//! `--svg`, `--base` for a diff).
//!
//! ```text
//! heap_v2/65536                      <- the mean bytes between samples
//!   t*: 12: 4194400 [0: 0]           <- totals (sampled blocks: sampled bytes)
//! @ 0x10831a40 0x1083aa7f ...        <- one stack, innermost first
//!   t*: 3: 4194304 [0: 0]            <- its sampled live blocks of one size, and their bytes
//! MAPPED_LIBRARIES:
//! 10425dc0-10c4904c r-xp 00424dc0 00:00 0 /path/to/docling-memprof
//! ```
//!
//! The counts are the raw samples (tracked live blocks), not estimates, as in jemalloc's own
//! profiles: `jeprof` scales each record by `1 / (1 - exp(-avg / rate))` with the record's
//! average block size. A stack is written once per block size ([`crate::record::RawStack`]'s
//! `sampled`), so that scaling is exactly the sampler's per-block Horvitz-Thompson weight and
//! `jeprof`'s totals are the site table's estimates.
//!
//! Addresses are the binary's stated addresses plus [`BASE`], and the one maps line says the
//! binary's `.text` is mapped there (its file offset as the file has it: `jeprof` adds `.text`'s
//! address minus its offset, from `objdump -h`). Each stack starts at its site: leading frames
//! in the allocator or the standard library are left out. `jeprof` charges a stack's bytes to
//! the innermost inline frame at its first address, and in Rust the call into the allocator
//! is usually reached through `Vec`/`RawVec` code inlined into the function that allocates; so
//! when the first kept address has standard-library frames inlined at it, it is replaced by an
//! address of the same function whose innermost frame is the site function itself (its
//! line table is searched once per address). `jeprof --text` then ranks the function that
//! allocated, as the site table does; its `--lines` view shows that address's line, not the
//! allocating call's (the site table and `sites.collapsed` have that).

use std::fmt::Write;

use super::{elf, Binary, SiteResolver};
use crate::alloc::sites;
use crate::record::RawSites;

/// The heap profile of the latest sampled snapshot, in the run folder.
pub const SITES_HEAP: &str = "sites.heap";

/// Where a heap profile says the binary is loaded (page-aligned, far from 0).
pub const BASE: u64 = 0x1000_0000;

impl SiteResolver {
    /// `raw` as a `heap_v2` profile; `None` when its binary could not be opened (no symbols,
    /// no `.text`).
    pub fn heap_profile(&mut self, raw: &RawSites) -> Option<String> {
        self.resolve_new(raw);
        let binary = self.binary(raw);
        let path = binary.path.clone()?;
        let text = binary.text?;
        if binary.function_starts.is_none() {
            binary.function_starts = Some(elf::function_starts(&path));
        }
        let mut body = String::new();
        let (mut total_blocks, mut total_bytes) = (0u64, 0u64);
        for stack in &raw.stacks {
            let addresses = binary.site_addresses(&stack.frames);
            if addresses.is_empty() {
                continue;
            }
            let line: Vec<String> = addresses
                .iter()
                .map(|a| format!("0x{:x}", a + BASE))
                .collect();
            let line = line.join(" ");
            for &(size, count) in &stack.sampled {
                let bytes = size.saturating_mul(count);
                let _ = writeln!(body, "@ {line}\n  t*: {count}: {bytes} [0: 0]");
                total_blocks += count;
                total_bytes = total_bytes.saturating_add(bytes);
            }
        }
        let mut out = format!(
            "heap_v2/{}\n  t*: {total_blocks}: {total_bytes} [0: 0]\n",
            raw.sample_interval_bytes
        );
        out.push_str(&body);
        out.push_str("\nMAPPED_LIBRARIES:\n");
        let _ = writeln!(
            out,
            "{:x}-{:x} r-xp {:08x} 00:00 0 {path}",
            BASE + text.address,
            BASE + text.address + text.size,
            text.file_offset
        );
        Some(out)
    }
}

/// Line-table rows searched for a site function's own address.
const MAX_ROWS: usize = 4096;

/// The function part of a normalised frame (`function (file:line)`).
fn function_of(frame: &str) -> &str {
    frame.rfind(" (").map_or(frame, |open| &frame[..open])
}

impl Binary {
    /// A stack's addresses from its site on (innermost first; frames outside the binary
    /// dropped). The first address with a site frame ([`sites::is_site_frame`]) among its
    /// (inline) frames starts the stack, as an address whose innermost frame is that site
    /// function ([`Binary::own_address`]); a stack without one is written whole.
    fn site_addresses(&mut self, frames: &[u64]) -> Vec<u64> {
        let inside: Vec<u64> = frames.iter().copied().filter(|&a| a > 1).collect();
        let site = inside.iter().enumerate().find_map(|(i, a)| {
            let resolved = self.frames.get(a)?;
            let target = resolved.iter().find(|f| sites::is_site_frame(f))?;
            Some((
                i,
                resolved.first() == Some(target),
                function_of(target).to_string(),
            ))
        });
        let Some((i, innermost, target)) = site else {
            return inside;
        };
        // A return address points after the call: the call is at `address - 1`.
        let call = inside[i] - 1;
        let first = if innermost {
            call
        } else {
            self.own_address(call, &target)
        };
        let mut out = Vec::with_capacity(inside.len() - i);
        out.push(first);
        out.extend_from_slice(&inside[i + 1..]);
        out
    }

    /// An address of the function holding `call` whose innermost frame is `target`, searched
    /// in its line table once per `call` (`call` itself when there is none).
    fn own_address(&mut self, call: u64, target: &str) -> u64 {
        if let Some(&found) = self.own.get(&call) {
            return found;
        }
        let starts = self.function_starts.as_deref().unwrap_or(&[]);
        let found = match (self.loader.as_ref(), elf::function_range(starts, call)) {
            (Some(loader), Some((start, end))) => loader
                .find_location_range(start, end)
                .ok()
                .and_then(|rows| {
                    rows.take(MAX_ROWS)
                        .map(|(address, _, _)| address)
                        .find(|&address| {
                            super::resolve_address(Some(loader), address + 1)
                                .first()
                                .is_some_and(|f| function_of(f) == target)
                        })
                }),
            _ => None,
        };
        let found = found.unwrap_or(call);
        self.own.insert(call, found);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RawStack;

    #[inline(never)]
    fn an_allocating_function() -> usize {
        an_allocating_function as *const () as usize
    }

    #[test]
    fn a_heap_profile_names_the_site_function_first_and_maps_text() {
        let main = crate::alloc::module::main_binary();
        let start = main.relative(an_allocating_function());
        let raw = RawSites {
            build_id: main.build_id.clone(),
            binary: main.path.clone(),
            sample_interval_bytes: 65536,
            current_job: 1,
            tracked_blocks: 3,
            stacks: vec![RawStack {
                // A frame outside the binary (0), then a return address inside the function.
                frames: vec![0, start + 5],
                bytes: 3000.0,
                blocks: 3.0,
                variance: 0.0,
                by_job: vec![(1, 3000.0)],
                sampled: vec![(1000, 2), (1024, 1)],
            }],
        };
        let mut resolver = SiteResolver::new();
        let profile = resolver.heap_profile(&raw).expect("this binary opens");
        let lines: Vec<&str> = profile.lines().collect();
        assert_eq!(lines[0], "heap_v2/65536");
        assert_eq!(lines[1], "  t*: 3: 3024 [0: 0]");
        // The allocating call is in the site function itself: its address (return address - 1).
        let at = format!("@ 0x{:x}", start + 4 + BASE);
        assert_eq!(lines[2], at);
        assert_eq!(lines[3], "  t*: 2: 2000 [0: 0]");
        assert_eq!(lines[4], at);
        assert_eq!(lines[5], "  t*: 1: 1024 [0: 0]");
        let maps = lines.last().expect("a maps line");
        assert!(
            maps.ends_with(&format!(
                " r-xp {} 00:00 0 {}",
                maps.split(' ').nth(2).unwrap_or(""),
                main.path.as_deref().unwrap_or("")
            )),
            "{maps}"
        );
        let range: Vec<u64> = maps
            .split(' ')
            .next()
            .unwrap_or("")
            .split('-')
            .filter_map(|h| u64::from_str_radix(h, 16).ok())
            .collect();
        assert!(
            range[0] <= start + BASE && start + BASE < range[1],
            "{maps}"
        );
    }
}
