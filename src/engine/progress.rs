//! The progress bar as an observer (indicatif; hidden when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::events::{Event, Observer};
use crate::units::format_size;

/// Draws `[=====>   ] 12/20 jobs  ETA 3s  RSS 61 MB`.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar on stderr when `show`, else one that draws nothing.
    pub fn new(show: bool) -> Progress {
        let target = if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} jobs  ETA {eta}  {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar }
    }
}

impl Observer for Progress {
    fn on_event(&mut self, event: &Event<'_>) -> crate::Result<()> {
        match event {
            Event::JobStarted {
                job,
                workload_job,
                planned,
            } => {
                self.bar.set_length(*planned);
                self.bar.set_message(format!("job {job}: {workload_job}"));
            }
            Event::Tick { rss_bytes } => {
                if let Some(rss) = rss_bytes {
                    self.bar.set_message(format!("RSS {}", format_size(*rss)));
                }
                self.bar.tick();
            }
            Event::JobDone { record } => {
                self.bar.inc(1);
                let rss = record
                    .after_job
                    .as_ref()
                    .and_then(|s| s.process.as_ref())
                    .map(|p| p.rss_bytes);
                if let Some(rss) = rss {
                    self.bar.set_message(format!("RSS {}", format_size(rss)));
                }
            }
            Event::RunEnded { .. } => self.bar.finish_and_clear(),
            _ => {}
        }
        Ok(())
    }
}
