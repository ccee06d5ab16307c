//! The parent's sampler of the child's RSS: a thread that reads `/proc/<pid>/statm` (the file
//! kept open; seek + read costs about 2 us) every few milliseconds, keeps the current and the
//! peak RSS of the running job, and enforces the memory limit by killing the child with
//! SIGKILL when its RSS crosses it — what the Kubernetes OOM killer does to a pod.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(5);

/// `/proc/<pid>/statm` kept open.
#[derive(Debug)]
pub struct StatmReader {
    file: File,
    page_size_bytes: u64,
    buf: [u8; 256],
}

impl StatmReader {
    pub fn open(pid: u32) -> io::Result<StatmReader> {
        let file = File::open(format!("/proc/{pid}/statm"))?;
        // SAFETY: sysconf only reads a system constant.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page_size_bytes = if page > 0 { page as u64 } else { 4096 };
        Ok(StatmReader {
            file,
            page_size_bytes,
            buf: [0; 256],
        })
    }

    /// The process's resident set in bytes (second field of statm, in pages).
    pub fn rss_bytes(&mut self) -> io::Result<u64> {
        self.file.seek(SeekFrom::Start(0))?;
        let n = self.file.read(&mut self.buf)?;
        let text = std::str::from_utf8(&self.buf[..n])
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "statm is not text"))?;
        let pages: u64 = text
            .split_ascii_whitespace()
            .nth(1)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "statm has no resident field")
            })?;
        Ok(pages * self.page_size_bytes)
    }
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    current_rss_bytes: AtomicU64,
    peak_rss_bytes: AtomicU64,
    samples: AtomicU64,
    /// RSS at which the limit was enforced (0 = not crossed).
    limit_crossed_at_bytes: AtomicU64,
}

/// A running sampler for one child process.
#[derive(Debug)]
pub struct RssSampler {
    pid: u32,
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

impl RssSampler {
    /// Start sampling `pid` every `interval`; with `limit_bytes`, kill it (SIGKILL) as soon as a
    /// sample exceeds the limit.
    pub fn start(pid: u32, interval: Duration, limit_bytes: Option<u64>) -> io::Result<RssSampler> {
        let mut reader = StatmReader::open(pid)?;
        let shared = Arc::new(Shared::default());
        if let Ok(rss) = reader.rss_bytes() {
            shared.current_rss_bytes.store(rss, Ordering::Relaxed);
            shared.peak_rss_bytes.store(rss, Ordering::Relaxed);
        }
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name(format!("rss-sampler-{pid}"))
            .spawn(move || sample_loop(pid, reader, interval, limit_bytes, &thread_shared))?;
        Ok(RssSampler {
            pid,
            shared,
            handle: Some(handle),
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The latest sampled RSS.
    pub fn current_rss_bytes(&self) -> u64 {
        self.shared.current_rss_bytes.load(Ordering::Relaxed)
    }

    /// The peak since the last reset, and restart the peak from the current value.
    pub fn take_peak_bytes(&self) -> Option<u64> {
        let current = self.current_rss_bytes();
        let peak = self.shared.peak_rss_bytes.swap(current, Ordering::Relaxed);
        (peak > 0).then_some(peak.max(current))
    }

    /// Restart the peak from the current RSS (call when a job starts).
    pub fn reset_peak(&self) {
        self.shared
            .peak_rss_bytes
            .store(self.current_rss_bytes(), Ordering::Relaxed);
    }

    /// Samples taken so far.
    pub fn samples(&self) -> u64 {
        self.shared.samples.load(Ordering::Relaxed)
    }

    /// The RSS at which the sampler killed the child for crossing the limit, if it did.
    pub fn limit_crossed_at_bytes(&self) -> Option<u64> {
        match self.shared.limit_crossed_at_bytes.load(Ordering::Relaxed) {
            0 => None,
            rss => Some(rss),
        }
    }

    /// Stop the sampling thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

fn sample_loop(
    pid: u32,
    mut reader: StatmReader,
    interval: Duration,
    limit: Option<u64>,
    shared: &Shared,
) {
    while !shared.stop.load(Ordering::Relaxed) {
        match reader.rss_bytes() {
            // A zombie's statm reads zeros: the process has exited.
            Ok(0) => break,
            Ok(rss) => {
                shared.current_rss_bytes.store(rss, Ordering::Relaxed);
                shared.peak_rss_bytes.fetch_max(rss, Ordering::Relaxed);
                shared.samples.fetch_add(1, Ordering::Relaxed);
                if let Some(limit_bytes) = limit {
                    if rss > limit_bytes
                        && shared.limit_crossed_at_bytes.load(Ordering::Relaxed) == 0
                    {
                        shared.limit_crossed_at_bytes.store(rss, Ordering::Relaxed);
                        // SAFETY: kill only sends a signal to the child pid we spawned and have
                        // not yet reaped (the parent waits for it after this thread stops), so
                        // the pid cannot have been reused.
                        unsafe {
                            libc::kill(pid as libc::pid_t, libc::SIGKILL);
                        }
                    }
                }
            }
            // The process exited (statm reads fail or give zeros): nothing left to sample.
            Err(_) => break,
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let mut reader = StatmReader::open(std::process::id()).expect("statm");
        assert!(reader.rss_bytes().expect("reads") > 0);
        assert!(reader.rss_bytes().expect("reads again") > 0);
        let sampler =
            RssSampler::start(std::process::id(), Duration::from_millis(1), None).expect("starts");
        std::thread::sleep(Duration::from_millis(20));
        assert!(sampler.samples() > 0);
        assert!(sampler.take_peak_bytes().unwrap_or(0) >= sampler.current_rss_bytes() / 2);
        assert_eq!(sampler.limit_crossed_at_bytes(), None);
        sampler.stop();
    }
}
