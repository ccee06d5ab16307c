//! The replay engine as a library: two replays in one process, each with its own observers and
//! its own cancellation; the typed events each observer sees, in order.

use std::time::Duration;

use docling_memprof::backend::Backend;
use docling_memprof::cancel::Cancel;
use docling_memprof::engine::{analyse_run, EventLog, Replay, ReplayConfig};
use docling_memprof::record::{AllocatorKind, Isolation, RunStatus, SnapshotDetail};

use crate::util::{binary, project_root};

fn config(isolation: Isolation, max_jobs: u32) -> ReplayConfig {
    ReplayConfig {
        backend: Backend::Core {
            exe: binary(),
            allocator: AllocatorKind::Jemalloc,
        },
        isolation,
        max_jobs,
        memory_limit_bytes: None,
        job_timeout: Some(Duration::from_secs(120)),
        snapshots: true,
        purge: SnapshotDetail::Never,
        smaps: SnapshotDetail::Clears,
        sample_interval: Duration::from_millis(5),
        sites: None,
        census: true,
    }
}

#[test]
fn two_replays_run_in_one_process_with_their_own_cancellation() {
    let workload = docling_memprof::workload::load(
        &project_root().join("fixtures/workloads/seed-20-jobs.json"),
    )
    .expect("workload");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (out_a, out_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let cancelled = Cancel::new();
    cancelled.cancel();
    let running = Cancel::new();
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| {
            let mut log = EventLog::default();
            let outcome = Replay::new(&workload, config(Isolation::Recycle, 7), &out_a)
                .run(&mut [&mut log], &running)
                .expect("replay a");
            (outcome, log)
        });
        let b = scope.spawn(|| {
            let mut log = EventLog::default();
            let outcome = Replay::new(&workload, config(Isolation::Worker, 0), &out_b)
                .run(&mut [&mut log], &cancelled)
                .expect("replay b");
            (outcome, log)
        });
        (a.join().expect("thread a"), b.join().expect("thread b"))
    });
    let ((outcome_a, log_a), (outcome_b, log_b)) = (a, b);
    // The one cancelled before its first job stops there; the other is not disturbed.
    assert_eq!(outcome_b.status(), RunStatus::Interrupted);
    assert!(outcome_b.records.is_empty());
    assert_eq!(log_b.kinds, vec!["run_started", "run_ended"]);
    assert_eq!(outcome_a.status(), RunStatus::Completed);
    assert_eq!(outcome_a.records.len(), 20);
    // Recycling every 7 jobs: three workers, each started and retired once, in order.
    let count = |k: &str| log_a.kinds.iter().filter(|x| **x == k).count();
    assert_eq!((count("worker_started"), count("worker_retired")), (3, 3));
    assert_eq!((count("job_started"), count("job_done")), (20, 20));
    assert_eq!(
        count("cache_cleared"),
        6,
        "clears after jobs 3, 6, 10, 13, 17, 20"
    );
    assert_eq!(log_a.kinds.first(), Some(&"run_started"));
    assert_eq!(log_a.kinds.last(), Some(&"run_ended"));
    assert_eq!(log_a.kinds[1], "worker_started");
    // The outcome holds what jobs.jsonl holds: the analysis needs no re-read.
    let (_, on_disk) = docling_memprof::engine::folder::read_run(&out_a).expect("folder");
    assert_eq!(on_disk, outcome_a.records);
    let analysis = analyse_run(outcome_a, &Default::default()).expect("analysis");
    assert_eq!(analysis.trajectory.points.len(), 20);
}
