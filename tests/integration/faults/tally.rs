//! The fault suite's figures: per fault class, the inputs tried, the faults injected, and each
//! kind of wrong outcome (all must be zero), printed as one table (`--nocapture`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A wrong outcome of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    Panic,
    Hang,
    OverMemory,
    WrongExit,
    /// `jobs.jsonl` torn before its last line, records missing, out of order, or from
    /// another run.
    LostOrMixed,
    /// `gate` exited 0 on a run that did not finish.
    FalsePass,
    /// A worker outlived its replay.
    Orphan,
}

const COLUMNS: [(Problem, &str); 7] = [
    (Problem::Panic, "panics"),
    (Problem::Hang, "hangs"),
    (Problem::OverMemory, "over-bound memory"),
    (Problem::WrongExit, "wrong exit codes"),
    (Problem::LostOrMixed, "records lost or mixed"),
    (Problem::FalsePass, "false passes"),
    (Problem::Orphan, "orphans"),
];

#[derive(Debug, Default)]
struct Row {
    tried: u64,
    injected: u64,
    problems: BTreeMap<Problem, u64>,
}

/// Every case's result, by fault class.
#[derive(Debug, Default)]
pub struct Tally {
    rows: BTreeMap<String, Row>,
    /// Each problem with its case (class, point, what was seen), for the failure message.
    details: Vec<String>,
}

impl Tally {
    /// One case of `class` was run; `injected` when its fault was delivered.
    pub fn tried(&mut self, class: &str, injected: bool) {
        let row = self.rows.entry(class.to_string()).or_default();
        row.tried += 1;
        row.injected += u64::from(injected);
    }

    pub fn problem(&mut self, class: &str, point: &str, problem: Problem, detail: String) {
        let row = self.rows.entry(class.to_string()).or_default();
        *row.problems.entry(problem).or_default() += 1;
        self.details
            .push(format!("{class} at {point}: {problem:?}: {detail}"));
    }

    /// The table: one row per class, a total row.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let header: Vec<&str> = COLUMNS.iter().map(|(_, name)| *name).collect();
        let _ = writeln!(
            out,
            "| fault class | inputs tried | faults injected | {} |",
            header.join(" | ")
        );
        let _ = writeln!(out, "|---|---:|---:|{}", "---:|".repeat(COLUMNS.len()));
        let mut total = Row::default();
        for (class, row) in &self.rows {
            out.push_str(&line(class, row));
            total.tried += row.tried;
            total.injected += row.injected;
            for (p, n) in &row.problems {
                *total.problems.entry(*p).or_default() += n;
            }
        }
        out.push_str(&line("**total**", &total));
        out
    }

    pub fn details(&self) -> &[String] {
        &self.details
    }
}

fn line(class: &str, row: &Row) -> String {
    let counts: Vec<String> = COLUMNS
        .iter()
        .map(|(p, _)| row.problems.get(p).copied().unwrap_or(0).to_string())
        .collect();
    format!(
        "| {class} | {} | {} | {} |\n",
        row.tried,
        row.injected,
        counts.join(" | ")
    )
}

/// A small seeded generator (SplitMix64): the points of a run are a function of the seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The suite's seed: `DOCLING_MEMPROF_FAULT_SEED` when set (to repeat a run), else the clock
/// (every run explores new points). Printed either way.
pub fn seed() -> u64 {
    if let Some(text) = std::env::var_os("DOCLING_MEMPROF_FAULT_SEED") {
        let text = text.to_string_lossy();
        return text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("DOCLING_MEMPROF_FAULT_SEED={text}: expected a u64"));
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Points per signal and target: `DOCLING_MEMPROF_FAULT_POINTS` (default 5).
pub fn points_per_signal() -> u64 {
    std::env::var("DOCLING_MEMPROF_FAULT_POINTS")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(5)
}
