//! Symbolising sampled allocation sites outside the worker.
//!
//! The worker sends [`RawSites`]: per sampled stack, return addresses relative to its binary's
//! load address, the binary's build id and path, and the Horvitz-Thompson estimates. The
//! replay's parent turns them into the site table of the record ([`SiteResolver::resolve`]):
//! each distinct binary (by build id) is opened once per run with `addr2line`'s loader, each
//! address is resolved once (inline frames included) and cached, and the frames are normalised
//! exactly as in-process symbols were (`function (file:line)`, [`crate::alloc::sites`]), so
//! site identities are unchanged. The debug info lives in the parent, never in the process
//! whose memory is measured. [`SiteResolver::preload`] opens a binary before its first
//! snapshot arrives (the replay does it for its own executable, on a thread of its own, while
//! the worker starts), and [`SiteResolver::heap_profile`] writes a snapshot's samples as a
//! jemalloc heap profile that `jeprof` reads ([`heap_profile`]).

pub mod elf;
pub mod heap_profile;

use std::collections::HashMap;
use std::time::Instant;

use crate::alloc::sites::{self, JobBytes, SiteSurvivors, StackBytes};
use crate::record::{RawSites, SiteStat, SiteTable};

/// What one snapshot's sampled sites become once symbolised.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledReport {
    /// Top sites by estimated live bytes.
    pub table: SiteTable,
    /// For the same sites: estimated live bytes by allocating job.
    pub survivors: Vec<SiteSurvivors>,
    /// Every tracked stack's estimated live bytes (for collapsed output).
    pub stacks: Vec<StackBytes>,
    /// Tracked blocks at the snapshot.
    pub tracked_blocks: u64,
}

/// One binary's symbols: its loader (None when it could not be opened, or its build id does
/// not match) and the frames resolved so far per relative address.
struct Binary {
    loader: Option<addr2line::Loader>,
    /// The file, when it was opened.
    path: Option<String>,
    /// `.text`, for a heap profile's maps line.
    text: Option<elf::TextSection>,
    /// Function start addresses, read on the first heap profile.
    function_starts: Option<Vec<u64>>,
    /// Per call address: an address of the same function whose innermost frame is the site
    /// function (the first address of a heap profile's stack, [`heap_profile`]).
    own: HashMap<u64, u64>,
    frames: HashMap<u64, Vec<String>>,
}

/// What symbolising has cost so far (BENCHMARKS.md reads them).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ResolverStats {
    /// Opening binaries (build id check and `addr2line`'s loader), seconds.
    pub open_secs: f64,
    /// Resolving addresses not seen before, seconds.
    pub resolve_secs: f64,
    /// Distinct addresses resolved.
    pub addresses: u64,
}

/// Resolves raw sites, caching loaders per build id (or per path when there is none) and
/// frames per address.
#[derive(Default)]
pub struct SiteResolver {
    binaries: HashMap<String, Binary>,
    /// Problems met (a binary that could not be opened, a build id mismatch), each once.
    pub warnings: Vec<String>,
    pub stats: ResolverStats,
}

impl std::fmt::Debug for SiteResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteResolver")
            .field("binaries", &self.binaries.len())
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// The GNU build id of the ELF file at `path` (lower-case hex), read from its note sections.
pub fn file_build_id(path: &str) -> Option<String> {
    elf::elf_info(path)?.build_id
}

fn key_of(build_id: Option<&str>, path: Option<&str>) -> String {
    build_id.or(path).unwrap_or_default().to_string()
}

impl SiteResolver {
    pub fn new() -> SiteResolver {
        SiteResolver::default()
    }

    /// Open the binary at `path` with `build_id` now, and resolve one address in it (which
    /// builds `addr2line`'s table of compilation units), so that the first snapshot naming it
    /// only pays for its own addresses.
    pub fn preload(&mut self, path: &str, build_id: &str) {
        let key = key_of(Some(build_id), Some(path));
        let started = Instant::now();
        let mut binary = open(Some(path), Some(build_id));
        if let Some(warning) = binary.1.take() {
            self.warnings.push(warning);
        }
        // An address of this very function (meaningful when `path` is this executable, as
        // the replay's preload is; harmless otherwise).
        let here = Self::preload as fn(&mut SiteResolver, &str, &str) as usize;
        let warm = crate::alloc::module::main_binary().relative(here) + 1;
        let _ = resolve_address(binary.0.loader.as_ref(), warm);
        self.stats.open_secs += started.elapsed().as_secs_f64();
        self.binaries.insert(key, binary.0);
    }

    fn binary(&mut self, raw: &RawSites) -> &mut Binary {
        let key = key_of(raw.build_id.as_deref(), raw.binary.as_deref());
        let (warnings, stats) = (&mut self.warnings, &mut self.stats);
        self.binaries.entry(key).or_insert_with(|| {
            let started = Instant::now();
            let (binary, warning) = open(raw.binary.as_deref(), raw.build_id.as_deref());
            warnings.extend(warning);
            stats.open_secs += started.elapsed().as_secs_f64();
            binary
        })
    }

    /// The site table (top `top_n` sites), job-tagged survivors and per-stack bytes of `raw`.
    pub fn resolve(&mut self, raw: &RawSites, top_n: usize) -> SampledReport {
        self.resolve_new(raw);
        let binary = self.binary(raw);
        let mut by_site: HashMap<String, Estimate> = HashMap::new();
        let mut stack_bytes = Vec::with_capacity(raw.stacks.len());
        for stack in &raw.stacks {
            let mut frames = Vec::new();
            for address in &stack.frames {
                if let Some(resolved) = binary.frames.get(address) {
                    frames.extend(resolved.iter().cloned());
                }
            }
            let clean = sites::clean_stack(&frames);
            let site = sites::site_identity(&clean);
            stack_bytes.push(StackBytes {
                frames: clean,
                live_bytes: stack.bytes.round() as u64,
            });
            let total = by_site.entry(site).or_default();
            total.bytes += stack.bytes;
            total.blocks += stack.blocks;
            total.variance += stack.variance;
            for &(job, bytes) in &stack.by_job {
                *total.by_job.entry(job).or_default() += bytes;
            }
        }
        let (table_sites, survivors) = top_of(by_site, raw.current_job, top_n);
        SampledReport {
            table: SiteTable {
                mode: "sampled".into(),
                sample_interval_bytes: Some(raw.sample_interval_bytes),
                sites: table_sites,
            },
            survivors,
            stacks: stack_bytes,
            tracked_blocks: raw.tracked_blocks,
        }
    }

    /// Resolve every address of `raw` not seen before (timed).
    fn resolve_new(&mut self, raw: &RawSites) {
        let started = Instant::now();
        let binary = self.binary(raw);
        let mut new = 0;
        for stack in &raw.stacks {
            for &address in &stack.frames {
                if !binary.frames.contains_key(&address) {
                    let resolved = resolve_address(binary.loader.as_ref(), address);
                    binary.frames.insert(address, resolved);
                    new += 1;
                }
            }
        }
        if new > 0 {
            self.stats.addresses += new;
            self.stats.resolve_secs += started.elapsed().as_secs_f64();
        }
    }
}

/// Open the binary at `path`, refusing one whose build id differs from the worker's.
fn open(path: Option<&str>, build_id: Option<&str>) -> (Binary, Option<String>) {
    let (loader, text, warning) = open_loader(path, build_id);
    let binary = Binary {
        path: loader.as_ref().and(path).map(str::to_string),
        loader,
        text,
        function_starts: None,
        own: HashMap::new(),
        frames: HashMap::new(),
    };
    (binary, warning)
}

type Opened = (
    Option<addr2line::Loader>,
    Option<elf::TextSection>,
    Option<String>,
);

fn open_loader(path: Option<&str>, build_id: Option<&str>) -> Opened {
    let Some(path) = path else {
        return (
            None,
            None,
            Some("sampled sites: the worker named no binary".into()),
        );
    };
    // The path comes from the worker's message: open only a regular file (never a FIFO or a
    // device a hostile worker could name).
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return (
            None,
            None,
            Some(format!(
                "sampled sites: {path} is not a regular file; its sites are unsymbolised"
            )),
        );
    }
    let info = elf::elf_info(path).unwrap_or_default();
    if let Some(expected) = build_id {
        if info.build_id.as_deref() != Some(expected) {
            return (
                None,
                None,
                Some(format!(
                    "sampled sites: {path} has build id {} but the worker ran {expected} (rebuilt during the run?); its sites are unsymbolised",
                    info.build_id.as_deref().unwrap_or("none")
                )),
            );
        }
    }
    match addr2line::Loader::new(path) {
        Ok(loader) => (Some(loader), info.text, None),
        Err(e) => (
            None,
            None,
            Some(format!("sampled sites: cannot read symbols of {path}: {e}")),
        ),
    }
}

/// `function (file:line)` for every (inline) frame at a return address, innermost first,
/// normalised. The lookup is at `address - 1`, inside the call instruction.
fn resolve_address(loader: Option<&addr2line::Loader>, address: u64) -> Vec<String> {
    let unknown = || vec![format!("??? (0x{address:x})")];
    let Some(loader) = loader else {
        return unknown();
    };
    if address == 0 {
        return vec!["???".into()];
    }
    let probe = address - 1;
    let mut out = Vec::new();
    if let Ok(mut frames) = loader.find_frames(probe) {
        while let Ok(Some(frame)) = frames.next() {
            let name = frame
                .function
                .as_ref()
                .and_then(|f| f.demangle().ok())
                .map(|n| n.into_owned())
                .unwrap_or_else(|| "???".into());
            let text = match frame.location.as_ref().and_then(|l| l.file.zip(l.line)) {
                Some((file, line)) => format!("{name} ({file}:{line})"),
                None => name,
            };
            out.push(sites::normalize_frame(&text));
        }
    }
    if out.is_empty() {
        if let Some(symbol) = loader.find_symbol(probe) {
            let name = addr2line::demangle_auto(symbol.into(), None);
            out.push(sites::normalize_frame(&name));
        }
    }
    if out.is_empty() {
        return unknown();
    }
    out
}

#[derive(Debug, Default)]
struct Estimate {
    bytes: f64,
    blocks: f64,
    variance: f64,
    by_job: HashMap<u64, f64>,
}

/// The top `top_n` sites by estimated live bytes, and their survivors by job.
fn top_of(
    by_site: HashMap<String, Estimate>,
    current_job: u64,
    top_n: usize,
) -> (Vec<SiteStat>, Vec<SiteSurvivors>) {
    let mut all: Vec<(String, Estimate)> = by_site.into_iter().collect();
    all.sort_by(|a, b| b.1.bytes.total_cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
    all.truncate(top_n);
    let mut table_sites = Vec::with_capacity(all.len());
    let mut survivors = Vec::with_capacity(all.len());
    for (site, estimate) in all {
        let job_live = estimate.by_job.get(&current_job).copied().unwrap_or(0.0);
        table_sites.push(SiteStat {
            site: site.clone(),
            live_bytes: estimate.bytes.round() as u64,
            live_blocks: estimate.blocks.round() as u64,
            live_bytes_stderr: Some(estimate.variance.sqrt().round() as u64),
            job_live_bytes: Some(job_live.round() as u64),
        });
        let mut by_job: Vec<JobBytes> = estimate
            .by_job
            .into_iter()
            .map(|(job, bytes)| JobBytes {
                job,
                live_bytes: bytes.round() as u64,
            })
            .collect();
        by_job.sort_by_key(|j| j.job);
        survivors.push(SiteSurvivors { site, by_job });
    }
    (table_sites, survivors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RawStack;

    #[inline(never)]
    fn a_known_function() -> usize {
        a_known_function as *const () as usize
    }

    fn raw(build_id: Option<String>, frames: Vec<u64>) -> RawSites {
        let main = crate::alloc::module::main_binary();
        RawSites {
            build_id,
            binary: main.path.clone(),
            sample_interval_bytes: 65536,
            current_job: 2,
            tracked_blocks: 1,
            stacks: vec![RawStack {
                frames,
                bytes: 1000.0,
                blocks: 1.0,
                variance: 4.0,
                by_job: vec![(1, 400.0), (2, 600.0)],
                sampled: vec![(1000, 1)],
            }],
        }
    }

    #[test]
    fn addresses_are_symbolised_from_the_binary_of_their_build_id() {
        let main = crate::alloc::module::main_binary();
        let address = main.relative(a_known_function()) + 1;
        let mut resolver = SiteResolver::new();
        let report = resolver.resolve(&raw(main.build_id.clone(), vec![address, 0]), 20);
        let site = &report.table.sites[0];
        assert!(
            site.site.contains("a_known_function (src/symbols/mod.rs:"),
            "{}",
            site.site
        );
        assert_eq!(
            (site.live_bytes, site.live_bytes_stderr, site.job_live_bytes),
            (1000, Some(2), Some(600))
        );
        assert_eq!(report.survivors[0].from_job(1), 400);
        assert!(resolver.warnings.is_empty(), "{:?}", resolver.warnings);

        let mut other = SiteResolver::new();
        let report = other.resolve(&raw(Some("00ff".into()), vec![address]), 20);
        assert!(
            other.warnings[0].contains("build id"),
            "{:?}",
            other.warnings
        );
        assert!(
            report.table.sites[0].site.starts_with("???"),
            "{:?}",
            report.table
        );
    }
}
