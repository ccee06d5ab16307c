//! A long log read in place: the file mapped into memory (memmap2) instead of copied into a
//! buffer block by block, as ripgrep reads a single large file. The kernel's copy of every
//! byte is a fifth of a long log's parse on two cores (BENCHMARKS.md, "Long logs").
//!
//! A mapped file that shrinks while it is read (truncated in place: logrotate's
//! `copytruncate`, a `> file` in a shell) makes the next read of a page past its new end a
//! bus error (SIGBUS), which would end the process with no word of why. The first mapping
//! installs a SIGBUS handler that says so on stderr and exits 2 (bad input): nothing is
//! lost, since `logs` has written nothing yet when it reads, and the run can be repeated on a
//! log that holds still. A rotated log (renamed, a new file in its place) keeps its inode and
//! reads to its end.

use std::fs::File;
use std::sync::Once;

use memmap2::{Mmap, MmapOptions, UncheckedAdvice};

/// What the SIGBUS handler writes before it exits.
const SIGBUS_MESSAGE: &[u8] = b"docling-memprof: error: a log file shrank while it was read \
(truncated in place, e.g. by logrotate's copytruncate): the read stopped with a bus error; \
nothing was written; run it again on a copy of the log or after the rotation\n";

/// The SIGBUS handler: only async-signal-safe calls (`write`, `_exit`).
extern "C" fn on_sigbus(_signal: libc::c_int) {
    // SAFETY: `write` and `_exit` are async-signal-safe; the message is a static byte string
    // whose pointer and length are valid for the whole call.
    unsafe {
        let _ = libc::write(
            libc::STDERR_FILENO,
            SIGBUS_MESSAGE.as_ptr().cast(),
            SIGBUS_MESSAGE.len(),
        );
        libc::_exit(2);
    }
}

/// Install [`on_sigbus`] once for the process.
fn install_sigbus_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: `action` is zeroed (a valid `sigaction`), then given a handler of the type
        // `sa_sigaction` expects without SA_SIGINFO (`extern "C" fn(c_int)`) and an empty
        // mask; `sigaction` reads it and writes no old action (null).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    });
}

/// The first `len` bytes of `file` mapped read-only, or `None` when the file cannot be
/// mapped (the caller reads it with `read` instead).
pub(super) fn map(file: &File, len: u64) -> Option<Mmap> {
    let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
    install_sigbus_handler();
    // SAFETY: the mapping is read-only and private to this read; a file changed under it
    // changes what is read (as a `read` would see), and one that shrinks under it is a bus
    // error that `on_sigbus` turns into a message and exit 2 (see the module's comment).
    let map = unsafe { MmapOptions::new().len(len).map(file) }.ok()?;
    // Read front to back: the kernel reads ahead and may drop pages behind.
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

/// Bytes read between two [`release`]s.
pub(super) const RELEASE_EVERY_BYTES: usize = 16 * 1024 * 1024;

/// Drop bytes `from..to` of `map` (read already) from the process' resident set: without it a
/// read of a 1 GB log shows 1 GB of RSS (the file's pages, mapped). Their pages stay in the
/// page cache; a later read of them maps them again.
pub(super) fn release(map: &Mmap, from: usize, to: usize) {
    if to <= from || to > map.len() {
        return;
    }
    // SAFETY: the mapping is a private, read-only map of a file that nothing here writes:
    // MADV_DONTNEED drops its pages from this process' page tables, and any later read of
    // the range (a chunk's neighbour reading across the boundary) faults the same file
    // bytes back in from the page cache. No byte a borrow of the map sees changes.
    let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, from, to - from) };
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::Command;

    use super::*;

    /// Set in the child this test starts: the child maps a file, truncates it and reads past
    /// its new end.
    const CHILD: &str = "DOCLING_MEMPROF_TEST_SIGBUS_CHILD";

    #[test]
    fn a_log_truncated_under_its_map_exits_2_with_a_message() {
        if let Some(dir) = std::env::var_os(CHILD) {
            let path = std::path::Path::new(&dir).join("shrinks.log");
            let mut file = File::create(&path).expect("create");
            file.write_all(&vec![b'x'; 1 << 20]).expect("write");
            let file = File::open(&path).expect("open");
            let map = map(&file, 1 << 20).expect("maps");
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(0))
                .expect("truncate");
            // The last page is past the new end: a bus error.
            let byte = std::hint::black_box(map[(1 << 20) - 1]);
            panic!("read {byte} past the end of a truncated file");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "logs::mapped::tests::a_log_truncated_under_its_map_exits_2_with_a_message",
                "--test-threads=1",
            ])
            .env(CHILD, dir.path())
            .output()
            .expect("run the child");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
        assert!(
            stderr.contains("a log file shrank while it was read"),
            "stderr: {stderr}"
        );
    }

    #[test]
    fn an_empty_file_is_not_mapped() {
        let file = tempfile::tempfile().expect("tempfile");
        assert!(map(&file, 0).is_none());
    }
}
