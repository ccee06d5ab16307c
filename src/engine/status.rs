//! `watch`'s one-line live status on a terminal (stderr), redrawn at each sample: jobs, RSS,
//! the slope so far with its interval, the verdict so far and the projected job at
//! `--memory-limit`. Draws nothing when stderr is not a terminal.

use std::io::{IsTerminal, Write};

use super::events::{Event, Observer};
use super::live::LiveVerdict;
use crate::units::format_size;

/// The status line.
#[derive(Debug)]
pub struct StatusLine {
    show: bool,
    live: LiveVerdict,
    rss: Option<u64>,
    drawn: bool,
}

impl StatusLine {
    /// Shown only when `wanted` and stderr is a terminal.
    pub fn new(wanted: bool) -> StatusLine {
        StatusLine {
            show: wanted && std::io::stderr().is_terminal(),
            live: LiveVerdict::default(),
            rss: None,
            drawn: false,
        }
    }

    /// The line as it would be drawn now.
    pub fn text(&self) -> String {
        let mut parts = vec![format!("jobs {}", self.live.jobs())];
        if let Some(rss) = self.rss {
            parts.push(format!("RSS {}", format_size(rss)));
        }
        match &self.live.verdict {
            Some(v) => {
                parts.push(format!(
                    "slope {:+.2} {}/job [{:+.2}, {:+.2}]",
                    v.slope_per_job, v.unit, v.slope_ci.0, v.slope_ci.1
                ));
                let call = serde_json::to_value(v.call)
                    .ok()
                    .and_then(|c| c.as_str().map(str::to_string))
                    .unwrap_or_default();
                parts.push(format!("{call} ({})", v.pattern.name()));
                if let Some(job) = v.projected_limit_job {
                    parts.push(format!("limit at job {job}"));
                }
            }
            None => parts.push("verdict: waiting for jobs".into()),
        }
        parts.join(" | ")
    }
}

impl Observer for StatusLine {
    fn on_event(&mut self, event: &Event<'_>) -> crate::Result<()> {
        self.live.on_event(event);
        match event {
            Event::Sampled { sample } => self.rss = sample.worker().map(|w| w.rss_bytes),
            Event::RunEnded { .. } if self.drawn => {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
                return Ok(());
            }
            _ => return Ok(()),
        }
        if self.show {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{}", self.text());
            let _ = err.flush();
            self.drawn = true;
        }
        Ok(())
    }
}
