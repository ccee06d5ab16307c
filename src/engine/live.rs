//! The verdict so far, for observers that show it while a run goes on (the metrics, the live
//! status line): the records seen, judged again at most every [`REJUDGE_EVERY`] (the same
//! analysis as the end of a run, on what there is).

use std::time::{Duration, Instant};

use super::events::Event;
use crate::analysis::{from_records, judge_run, SeriesVerdict, VerdictParams};
use crate::record::{JobRecord, RunManifest};

/// How often the verdict is computed again while jobs come in.
pub const REJUDGE_EVERY: Duration = Duration::from_secs(2);

/// Keeps a run's records and its latest verdict.
#[derive(Debug, Default)]
pub struct LiveVerdict {
    manifest: Option<RunManifest>,
    records: Vec<JobRecord>,
    judged_at: Option<Instant>,
    judged_records: usize,
    pub verdict: Option<SeriesVerdict>,
}

impl LiveVerdict {
    /// Take an event; true when the verdict was computed again.
    pub fn on_event(&mut self, event: &Event<'_>) -> bool {
        match event {
            Event::RunStarted { manifest } | Event::WorkerStarted { manifest, .. } => {
                self.manifest = Some((*manifest).clone());
                false
            }
            Event::JobDone { record } => {
                self.records.push((*record).clone());
                let due = self
                    .judged_at
                    .is_none_or(|at| at.elapsed() >= REJUDGE_EVERY);
                due && self.judge()
            }
            Event::RunEnded { manifest } => {
                self.manifest = Some((*manifest).clone());
                self.judged_records != self.records.len() && self.judge()
            }
            _ => false,
        }
    }

    pub fn jobs(&self) -> usize {
        self.records.len()
    }

    fn judge(&mut self) -> bool {
        let Some(manifest) = self.manifest.as_ref() else {
            return false;
        };
        let trajectory = from_records::trajectory(manifest, &self.records, "live");
        let verdict = judge_run(&trajectory, &VerdictParams::default());
        self.verdict = Some(verdict.primary);
        self.judged_at = Some(Instant::now());
        self.judged_records = self.records.len();
        true
    }
}
