//! The parent's side of sampled allocation sites: every snapshot that arrives with raw
//! stacks ([`crate::record::RawSites`]) is symbolised here ([`crate::symbols::SiteResolver`],
//! one loader per build id for the whole run) before its record is written; the survivors by
//! job go to `sites.jsonl`, the latest live stacks to `sites.collapsed` and the latest samples
//! to `sites.heap` (a jemalloc heap profile for `jeprof`) in the run folder.
//!
//! The resolver lives on a thread of its own ("symbols"). With `preload` (a replay with
//! `--sites sampled`) that thread opens this executable's debug info as soon as the run
//! starts, while the worker starts and takes its baseline, instead of after the baseline
//! arrives while the worker waits (measured: BENCHMARKS.md, "Where the sampled mode's cost
//! went"). Each snapshot is then a round trip to that thread, but off the job loop's critical
//! path: with sampled sites the replay sends the worker its next job before it symbolises the
//! finished job's snapshots, and a fresh worker's first job before its baseline's
//! ([`crate::engine::replay`]). The thread runs at niceness [`SYMBOLS_NICENESS`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::alloc::sites::{collapsed_stacks, DEFAULT_TOP_N};
use crate::probe::profiling::{ProfileRecord, SITES_COLLAPSED};
use crate::record::{JobRecord, RawSites, SiteTable, SitesMode, Snapshot};
use crate::symbols::heap_profile::SITES_HEAP;
use crate::symbols::{SampledReport, SiteResolver};

/// Per sampled snapshot: the survivors by job of its top sites (a [`ProfileRecord`] without
/// owners), one line each.
pub const SITES_JSONL: &str = "sites.jsonl";

/// What the symbols thread hands back for one snapshot.
#[derive(Debug)]
struct Reply {
    report: SampledReport,
    heap: Option<String>,
    warnings: Vec<String>,
}

fn symbolise(resolver: &mut SiteResolver, raw: &RawSites) -> Reply {
    let report = resolver.resolve(raw, DEFAULT_TOP_N);
    let heap = resolver.heap_profile(raw);
    Reply {
        report,
        heap,
        warnings: std::mem::take(&mut resolver.warnings),
    }
}

/// The symbols thread: raw sites in, replies out.
#[derive(Debug)]
struct Service {
    requests: mpsc::Sender<RawSites>,
    replies: mpsc::Receiver<Reply>,
}

impl Service {
    fn start(preload: bool) -> Option<Service> {
        let (requests, inbox) = mpsc::channel::<RawSites>();
        let (outbox, replies) = mpsc::channel::<Reply>();
        std::thread::Builder::new()
            .name("symbols".into())
            .spawn(move || {
                lower_priority();
                let mut resolver = SiteResolver::new();
                if preload {
                    let main = crate::alloc::module::main_binary();
                    if let (Some(path), Some(id)) = (&main.path, &main.build_id) {
                        resolver.preload(path, id);
                    }
                }
                while let Ok(raw) = inbox.recv() {
                    if outbox.send(symbolise(&mut resolver, &raw)).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Service { requests, replies })
    }

    /// The reply; `Err(Some(raw))` when the thread is gone before taking `raw`, `Err(None)`
    /// when it took `raw` and ended without a reply (it panicked).
    fn ask(&self, raw: RawSites) -> Result<Reply, Option<RawSites>> {
        self.requests.send(raw).map_err(|e| Some(e.0))?;
        self.replies.recv().map_err(|_| None)
    }
}

/// Niceness of the symbols thread: its work (mostly parsing the debug info once) yields to
/// the measured worker when the cores are busy, instead of taking their time from it.
const SYMBOLS_NICENESS: libc::c_int = 10;

/// Lower this thread's scheduling priority to [`SYMBOLS_NICENESS`] (best effort).
fn lower_priority() {
    // SAFETY: gettid takes no arguments and only returns the calling thread's id.
    let tid = unsafe { libc::gettid() };
    // SAFETY: setpriority reads its plain integer arguments; on Linux PRIO_PROCESS with a
    // thread id changes that thread alone (this one). A failure leaves the priority as it was.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, SYMBOLS_NICENESS) };
}

/// Symbolises the run's sampled sites.
#[derive(Debug)]
pub(crate) struct RunSites {
    service: Option<Service>,
    /// Used when the symbols thread cannot be started (or has failed).
    local: Option<SiteResolver>,
    started: bool,
    /// The run asked for sampled sites.
    sampled: bool,
    dir: PathBuf,
    warnings: Vec<String>,
    /// Warnings already handed to the run.
    reported: usize,
}

impl RunSites {
    /// `preload` (the run asks for sampled sites): open this executable's symbols now, on the
    /// symbols thread.
    pub(crate) fn new(dir: &Path, preload: bool) -> RunSites {
        RunSites {
            service: preload.then(|| Service::start(true)).flatten(),
            local: None,
            started: preload,
            sampled: preload,
            dir: dir.to_path_buf(),
            warnings: Vec::new(),
            reported: 0,
        }
    }

    fn symbolise(&mut self, raw: RawSites) -> Reply {
        if !self.started {
            self.started = true;
            self.service = Service::start(false);
        }
        let raw = match &self.service {
            Some(service) => match service.ask(raw) {
                Ok(reply) => return reply,
                Err(back) => {
                    self.service = None;
                    self.warnings.push(
                        "sampled sites: the symbols thread failed; symbolising in place".into(),
                    );
                    back
                }
            },
            None => Some(raw),
        };
        let mut resolver = self.local.take().unwrap_or_default();
        let reply = match raw {
            Some(raw) => symbolise(&mut resolver, &raw),
            // The snapshot was lost with the thread: an empty table, said in the warning.
            None => Reply {
                report: SampledReport {
                    table: SiteTable {
                        mode: SitesMode::Sampled.as_str().into(),
                        sample_interval_bytes: None,
                        sites: Vec::new(),
                    },
                    survivors: Vec::new(),
                    stacks: Vec::new(),
                    tracked_blocks: 0,
                },
                heap: None,
                warnings: Vec::new(),
            },
        };
        self.local = Some(resolver);
        reply
    }

    /// Symbolise a snapshot's raw sites into its site table (no-op without raw sites).
    pub(crate) fn snapshot(&mut self, snapshot: &mut Snapshot, job: u64, worker_pid: u32) {
        let Some(raw) = snapshot.raw_sites.take() else {
            return;
        };
        let Reply {
            report,
            heap,
            warnings,
        } = self.symbolise(raw);
        self.warnings.extend(warnings);
        snapshot.sites = Some(report.table);
        let record = ProfileRecord {
            job,
            kind: snapshot.kind,
            worker_pid,
            owners: None,
            unreachable: Vec::new(),
            sites_mode: Some(SitesMode::Sampled),
            survivors: report.survivors,
        };
        if let Err(e) = append_line(&self.dir.join(SITES_JSONL), &record) {
            self.warnings.push(format!("{SITES_JSONL}: {e}"));
        }
        if !report.stacks.is_empty() {
            self.write(SITES_COLLAPSED, &collapsed_stacks(&report.stacks));
        }
        if let Some(heap) = heap {
            self.write(SITES_HEAP, &heap);
        }
    }

    fn write(&mut self, name: &str, text: &str) {
        let path = self.dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            self.warnings.push(format!("{}: {e}", path.display()));
        }
    }

    /// Both snapshots of a job's record.
    pub(crate) fn record(&mut self, record: &mut JobRecord) {
        let (job, pid) = (record.job, record.worker_pid);
        if let Some(s) = record.after_job.as_mut() {
            self.snapshot(s, job, pid);
        }
        if let Some(s) = record
            .cache_clear
            .as_mut()
            .and_then(|c| c.after_clear.as_mut())
        {
            self.snapshot(s, job, pid);
        }
    }

    /// Whether this run records sampled sites (the replay then sends each job before the
    /// previous job's snapshots are symbolised).
    pub(crate) fn is_sampled(&self) -> bool {
        self.sampled
    }

    /// Warnings met since the last call.
    pub(crate) fn new_warnings(&mut self) -> Vec<String> {
        let new = self.warnings[self.reported..].to_vec();
        self.reported = self.warnings.len();
        new
    }
}

fn append_line(path: &Path, record: &ProfileRecord) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(&line)
}
