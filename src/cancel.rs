//! Cancellation as a value: a [`Cancel`] is handed to a run, which stops at the next check
//! when it is set. A library user makes one per run (two replays in one process each have
//! their own); the binary wires SIGINT, SIGTERM and SIGHUP to the one it passes
//! ([`Cancel::on_signals`]), so Kubernetes' and CI runners' SIGTERM stop a replay as Ctrl-C does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Set when the run should stop; holds the signal number that asked (or [`BY_CALLER`]).
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    state: Arc<AtomicUsize>,
}

/// The value [`Cancel::cancel`] stores (a library caller, not a signal).
pub const BY_CALLER: usize = usize::MAX;

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Ask the run to stop.
    pub fn cancel(&self) {
        self.state.store(BY_CALLER, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.state.load(Ordering::SeqCst) != 0
    }

    /// Who asked: `SIGINT`, `SIGTERM`, `SIGHUP`, `cancelled` (a caller), or None.
    pub fn reason(&self) -> Option<&'static str> {
        match self.state.load(Ordering::SeqCst) {
            0 => None,
            BY_CALLER => Some("cancelled"),
            n if n == libc::SIGINT as usize => Some("SIGINT"),
            n if n == libc::SIGTERM as usize => Some("SIGTERM"),
            n if n == libc::SIGHUP as usize => Some("SIGHUP"),
            _ => Some("signal"),
        }
    }

    /// Set this value when the process gets SIGINT, SIGTERM or SIGHUP (instead of dying).
    pub fn on_signals(&self) -> std::io::Result<()> {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            signal_hook::flag::register_usize(signal, Arc::clone(&self.state), signal as usize)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_cancels_are_independent() {
        let a = Cancel::new();
        let b = Cancel::new();
        a.cancel();
        assert!(a.is_cancelled());
        assert!(!b.is_cancelled());
        assert_eq!(a.reason(), Some("cancelled"));
        assert_eq!(b.reason(), None);
        let a2 = a.clone();
        assert!(a2.is_cancelled());
    }
}
