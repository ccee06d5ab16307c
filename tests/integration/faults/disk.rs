//! Disk faults under a replay's run folder: a full disk (a small tmpfs, its size drawn from
//! the suite's seed, so that it fills at a different record each run) and a read-only output
//! (a tmpfs remounted read-only, and a read-only bind mount; root ignores permission bits).
//! Each must end with exit 4 naming the path, no orphan worker, no torn record but the last,
//! and a gate that does not pass. Mounting needs root: under `CI=true` a mount that fails is
//! a test failure, elsewhere the disk faults are skipped with a note.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::case::{replay_command, run_bounded, Expect, Faulted};
use super::long_workload;
use super::tally::{Rng, Tally};

/// A mount point unmounted (lazily) when dropped.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount(args: &[&str], target: &Path) -> Result<Mount, String> {
    let output = Command::new("mount")
        .args(args)
        .arg(target)
        .output()
        .map_err(|e| format!("mount: {e}"))?;
    if output.status.success() {
        Ok(Mount(target.to_path_buf()))
    } else {
        Err(format!(
            "mount {args:?} {}: {}",
            target.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn remount_ro(target: &Path, bind: bool) -> Result<(), String> {
    let opts = if bind {
        "remount,bind,ro"
    } else {
        "remount,ro"
    };
    mount(&["-o", opts], target).map(std::mem::forget)
}

/// A mount that failed: a test failure under CI, a printed skip elsewhere.
fn cannot_mount(problem: String) {
    assert!(
        std::env::var_os("CI").is_none_or(|v| v != "true"),
        "CI=true: the disk faults need root and mount(8): {problem}"
    );
    eprintln!("SKIPPED: the disk faults: {problem}");
}

/// One replay whose output is under `mnt`, expected to fail with exit 4 naming `expect_path`.
fn judge_io_failure(
    tally: &mut Tally,
    class: &str,
    point: String,
    out: &Path,
    expect_path: PathBuf,
    tmp: &Path,
) {
    let workload = long_workload(tmp);
    let ended = run_bounded(replay_command(&workload, out), &tmp.join("replay"));
    tally.tried(class, true);
    eprintln!(
        "fault {class:<22} at {point:<18} -> exit {:?} signal {:?}, peak {} MiB: {}",
        ended.code,
        ended.signal,
        ended.peak_rss_bytes >> 20,
        ended.stderr.lines().last().unwrap_or("")
    );
    let scratch = tmp.join("scratch");
    std::fs::create_dir_all(&scratch).expect("scratch");
    Faulted {
        class,
        point,
        expect: Expect::IoFailure(expect_path),
        out,
        records_before: 0,
        workers: Vec::new(),
        scratch: &scratch,
    }
    .judge(&ended, tally);
}

/// A full disk at `points` seeded sizes, then the two read-only outputs.
pub fn all(tally: &mut Tally, rng: &mut Rng) {
    for _ in 0..2 {
        let kib = 24 + 4 * rng.below(48);
        let tmp = tempfile::tempdir().expect("tempdir");
        let mnt = tmp.path().join("mnt");
        std::fs::create_dir(&mnt).expect("mnt");
        let size = format!("size={kib}k");
        let _guard = match mount(&["-t", "tmpfs", "-o", &size, "tmpfs"], &mnt) {
            Ok(m) => m,
            Err(problem) => return cannot_mount(problem),
        };
        let out = mnt.join("run");
        judge_io_failure(
            tally,
            "full disk",
            format!("a {kib} KiB tmpfs"),
            &out,
            out.clone(),
            tmp.path(),
        );
    }
    // A tmpfs remounted read-only: the run folder cannot be created.
    let tmp = tempfile::tempdir().expect("tempdir");
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mnt");
    let _guard = match mount(&["-t", "tmpfs", "-o", "size=1m", "tmpfs"], &mnt) {
        Ok(m) => m,
        Err(problem) => return cannot_mount(problem),
    };
    if let Err(problem) = remount_ro(&mnt, false) {
        return cannot_mount(problem);
    }
    let out = mnt.join("run");
    judge_io_failure(
        tally,
        "read-only output",
        "a read-only tmpfs".into(),
        &out,
        out.clone(),
        tmp.path(),
    );
    // A read-only bind mount over an empty run folder: the folder exists, its files cannot.
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    std::fs::create_dir(&out).expect("run");
    // `mount --bind SRC TARGET`: the folder onto itself.
    let source = out.display().to_string();
    let _guard = match mount(&["--bind", &source], &out) {
        Ok(m) => m,
        Err(problem) => return cannot_mount(problem),
    };
    if let Err(problem) = remount_ro(&out, true) {
        return cannot_mount(problem);
    }
    judge_io_failure(
        tally,
        "read-only output",
        "a read-only bind mount".into(),
        &out,
        out.clone(),
        tmp.path(),
    );
}
