//! Signals at seeded random points of a replay: SIGKILL, SIGTERM, SIGINT and SIGHUP, each to
//! the parent and to the worker, at `DOCLING_MEMPROF_FAULT_POINTS` points (default 5) drawn
//! from `DOCLING_MEMPROF_FAULT_SEED` (printed; default the clock). A point is a number of
//! finished jobs and a delay after it: a third of them up to 400 ms from the start (before
//! the signal handlers exist, the folder is claimed, the worker is ready), the rest after 1
//! to 350 of the 4000 jobs plus up to 20 ms (mid-job, between jobs, at a cache clear).
//! The worker's signal waits for the worker to exist. Then [`super::case::Faulted::judge`].
//! The disk faults of [`super::disk`] join the same table.

use std::path::Path;
use std::time::{Duration, Instant};

use super::case::{
    replay_command, signal, spawn, wait_bounded, workers_of, Expect, Faulted, DEADLINE,
};
use super::long_workload_of;
use super::tally::{points_per_signal, seed, Rng, Tally};

const SIGNALS: [(i32, &str); 4] = [
    (libc::SIGKILL, "SIGKILL"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGHUP, "SIGHUP"),
];

fn jobs_recorded(out: &Path) -> usize {
    std::fs::read(out.join("jobs.jsonl"))
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

/// The jobs of the replay the signals hit: long enough that the early points (up to 400 ms)
/// land inside it on a fast, idle machine too (400 jobs took under 300 ms there). Every
/// signal ends the run, so the length costs nothing.
const LONG_JOBS: usize = 4000;

/// `run.json` says `completed` and `jobs.jsonl` holds all `jobs` records.
fn run_completed(out: &Path, jobs: usize) -> bool {
    let status = std::fs::read(out.join("run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["status"].as_str().map(str::to_string));
    status.as_deref() == Some("completed") && jobs_recorded(out) == jobs
}

/// Waits until `out` holds `n` records (or the deadline); whether it did.
fn wait_records(out: &Path, n: usize, deadline: Instant) -> bool {
    while Instant::now() < deadline {
        if jobs_recorded(out) >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// One case: start a replay, reach the point, send `sig` to the parent or the worker, judge.
fn one_point(tally: &mut Tally, rng: &mut Rng, sig: (i32, &str), to_worker: bool) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let workload = long_workload_of(tmp.path(), LONG_JOBS);
    // A third of the points in the first 400 ms (before the handlers, the folder, the
    // worker's start), the rest anywhere in the first 350 of the 4000 jobs.
    let (jobs, delay) = if rng.below(3) == 0 {
        (0, rng.below(400))
    } else {
        (1 + rng.below(350) as usize, rng.below(20))
    };
    let delay = Duration::from_millis(delay);
    let target = if to_worker { "worker" } else { "parent" };
    let class = format!("{} to the {target}", sig.1);
    let point = format!("{jobs} jobs + {} ms", delay.as_millis());
    let stem = tmp.path().join("replay");
    let child = spawn(replay_command(&workload, &out), &stem);
    let parent = child.id();
    let started = Instant::now();
    let reached = wait_records(&out, jobs, started + DEADLINE);
    std::thread::sleep(delay);
    let mut workers = workers_of(parent);
    let mut records_before = jobs_recorded(&out);
    let injected = if !reached {
        false
    } else if to_worker {
        // The worker may not exist yet (a point before its start): the first one started.
        let give_up = Instant::now() + Duration::from_secs(30);
        while workers.is_empty() && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(1));
            workers = workers_of(parent);
        }
        records_before = jobs_recorded(&out);
        workers.first().is_some_and(|w| signal(*w, sig.0))
    } else {
        signal(parent, sig.0)
    };
    let ended = wait_bounded(child, &stem, DEADLINE);
    tally.tried(&class, injected);
    eprintln!(
        "fault {class:<22} at {point:<18} -> exit {:?} signal {:?}, {} records, peak {} MiB",
        ended.code,
        ended.signal,
        jobs_recorded(&out),
        ended.peak_rss_bytes >> 20
    );
    if !injected {
        let why = "the point was never reached (the replay ended or no worker started)";
        tally.problem(&class, &point, super::tally::Problem::WrongExit, why.into());
        return;
    }
    // A signal to the parent after its last job (a short delay on a fast machine can land
    // there): the run is complete, and a completed run.json with every record is the true
    // answer (its gate may pass). Anything else is judged as below.
    if !to_worker && records_before >= LONG_JOBS && run_completed(&out, LONG_JOBS) {
        eprintln!("  (late: the replay had finished its {LONG_JOBS} jobs; a complete run)");
        return;
    }
    let expect = match (to_worker, sig.0) {
        (true, s) => Expect::WorkerSignalled(s),
        (false, libc::SIGKILL) => Expect::ParentKilled,
        (false, s) => Expect::ParentInterrupted(s),
    };
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir_all(&scratch).expect("scratch");
    Faulted {
        class: &class,
        point,
        expect,
        out: &out,
        records_before,
        workers,
        scratch: &scratch,
    }
    .judge(&ended, tally);
}

/// The whole seeded suite (signals, then the disk faults), one table, every count zero.
#[test]
fn signals_at_seeded_random_points_and_disk_faults_leave_a_true_answer() {
    let seed = seed();
    let points = points_per_signal();
    eprintln!("fault suite seed {seed} (DOCLING_MEMPROF_FAULT_SEED={seed} repeats it), {points} points per signal");
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    for to_worker in [false, true] {
        for sig in SIGNALS {
            for _ in 0..points {
                one_point(&mut tally, &mut rng, sig, to_worker);
            }
        }
    }
    super::disk::all(&mut tally, &mut rng);
    eprintln!("\nfault suite (seed {seed}):\n{}", tally.table());
    assert!(
        tally.details().is_empty(),
        "seed {seed}: {} wrong outcome(s):\n{}",
        tally.details().len(),
        tally.details().join("\n")
    );
}
