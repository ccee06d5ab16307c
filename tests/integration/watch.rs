//! `watch`: a live worker followed from outside. Real processes (the Python reference worker
//! with `--standalone`, a replay's child), real log lines written live, a real SIGKILL; the
//! metrics endpoint read by `promtool check metrics` and by a real Prometheus server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{binary, project_root, python3};

const MIB: f64 = 1024.0 * 1024.0;
const PREFIX: &str = "INFO:docling_serve.rq_worker_instrumented:";

fn reference_worker() -> String {
    project_root()
        .join("workers/reference_worker.py")
        .display()
        .to_string()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn run_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).expect("run.json"))
        .expect("run.json parses")
}

fn rss_mb(record: &Value) -> f64 {
    record["after_job"]["process"]["rss_bytes"]
        .as_f64()
        .expect("after_job RSS")
        / MIB
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// `GET path` on 127.0.0.1:port: (head, body).
fn http_get(port: u16, path: &str, accept: Option<&str>) -> Option<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{accept}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.to_string(), body.to_string()))
}

/// A tool from Debian's `prometheus` package. Missing under CI=true fails the test.
fn prometheus_tool(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin").join(name);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{name} is needed and CI=true: apt-get install -y prometheus");
    }
    eprintln!("SKIPPED: {name} not found (install it: apt-get install -y prometheus)");
    None
}

fn watch_cmd(out: &Path, extra: &[&str], command: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("watch")
        .args(["--interval", "0.2", "--quiet", "--no-charts", "--out"])
        .arg(out)
        .args(extra);
    if !command.is_empty() {
        cmd.arg("--").args(command);
    }
    cmd
}

fn wait_with_deadline(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("watch did not end within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `watch -- reference_worker.py --standalone`: one record per job, each with the worker's
/// own [MEMORY] RSS and ours within a sampling interval's change, RSS moving by the leak.
#[test]
fn watch_a_command_records_its_jobs_from_its_log() {
    let Some(py) = python3() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let worker = reference_worker();
    let py = py.display().to_string();
    let command = [
        py.as_str(),
        worker.as_str(),
        "--standalone",
        "6",
        "--job-secs",
        "0.4",
        "--leak-kb-per-job",
        "20480",
        "--clear-every",
        "0",
    ];
    let output = watch_cmd(&out, &["--json"], &command)
        .output()
        .expect("watch runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = lines(&out.join("jobs.jsonl"));
    assert_eq!(records.len(), 6, "one record per job");
    for r in &records {
        let logged = r["logged_rss_bytes"]
            .as_f64()
            .expect("the worker's [MEMORY] RSS")
            / MIB;
        // Whole-MB logging plus what one interval can change.
        assert!((rss_mb(r) - logged).abs() <= 2.0, "{r}: ours vs logged");
        assert!(r["job_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("job-")));
    }
    // 20 MiB kept per job: about 100 MiB from the first job to the sixth.
    let growth = rss_mb(&records[5]) - rss_mb(&records[0]);
    assert!(
        (85.0..=115.0).contains(&growth),
        "RSS moved by {growth} MiB"
    );
    let samples = lines(&out.join("samples.jsonl"));
    assert!(samples.len() >= 10, "{} samples", samples.len());
    assert!(
        samples.iter().any(|s| s["job"].as_u64().is_some()),
        "samples inside jobs"
    );
    let run = run_json(&out);
    assert_eq!(run["status"], "completed");
    assert_eq!(run["watch"]["jobs_from"], "log");
    let summary: Value = serde_json::from_slice(&output.stdout).expect("--json");
    assert!(summary.to_string().contains("leak"), "a verdict: {summary}");
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(report.contains("job boundaries from the log"));
    // `report` and `gate` read the folder like a replay's.
    let status = Command::new(binary())
        .args(["report", "--no-charts"])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .expect("report");
    assert!(status.success());
}

/// `watch --pid` of a replay's child, with the replay's worker.log: the records are the
/// worker's jobs that ended while it was watched, with their [MEMORY] RSS.
#[test]
fn watch_a_replay_child_by_pid() {
    let Some(_) = python3() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let replay_out = dir.path().join("replay");
    let worker_cmd = format!(
        "python3 {} --job-secs 0.25 --leak-kb-per-job 4096",
        reference_worker()
    );
    let mut replay = Command::new(binary())
        .args([
            "replay",
            "--quiet",
            "--no-charts",
            "--worker-cmd",
            &worker_cmd,
            "--out",
        ])
        .arg(&replay_out)
        .arg(project_root().join("fixtures/workloads/seed-20-jobs.json"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("replay");
    // The replay's child: the python3 process whose parent is the replay.
    let deadline = Instant::now() + Duration::from_secs(30);
    let child_pid = loop {
        let found = std::fs::read_dir("/proc")
            .expect("proc")
            .flatten()
            .find_map(|e| {
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let rest = &stat[stat.rfind(')')? + 2..];
                let ppid: u32 = rest.split(' ').nth(1)?.parse().ok()?;
                (ppid == replay.id()).then_some(pid)
            });
        if let (Some(pid), true) = (found, replay_out.join("worker.log").exists()) {
            break pid;
        }
        assert!(Instant::now() < deadline, "no replay child appeared");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = dir.path().join("watch");
    let log = replay_out.join("worker.log");
    let log = log.display().to_string();
    let pid = child_pid.to_string();
    let output = watch_cmd(&out, &["--pid", &pid, "--log", &log], &[])
        .output()
        .expect("watch");
    let _ = replay.wait();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = lines(&out.join("jobs.jsonl"));
    assert!(records.len() >= 10, "{} records of 20 jobs", records.len());
    let logged: Vec<String> = std::fs::read_to_string(replay_out.join("worker.log"))
        .expect("log")
        .lines()
        .filter(|l| l.contains("[MEMORY]"))
        .map(|l| {
            l.split("job_id=")
                .nth(1)
                .unwrap_or("")
                .split(' ')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let ours: Vec<String> = records
        .iter()
        .map(|r| r["job_id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        ours,
        logged[logged.len() - ours.len()..],
        "the last jobs of the log, in order"
    );
    let history = run_json(&out)["watch"]["notes"].to_string();
    let skipped = logged.len() - ours.len();
    if skipped > 0 {
        assert!(
            history.contains(&format!("{skipped} job(s) already in the log")),
            "{history}"
        );
    }
    for r in &records {
        let logged = r["logged_rss_bytes"].as_f64().expect("logged") / MIB;
        assert!((rss_mb(r) - logged).abs() <= 5.0, "{r}");
    }
    assert!(out.join("report.md").is_file());
}

/// A watched command killed with SIGKILL: exit 3, the death in run.json and the report.
#[test]
fn a_sigkilled_worker_leaves_a_report_with_its_death() {
    let Some(py) = python3() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let worker = reference_worker();
    let py = py.display().to_string();
    let command = [
        py.as_str(),
        worker.as_str(),
        "--standalone",
        "1000",
        "--job-secs",
        "0.3",
    ];
    let mut watch = watch_cmd(&out, &[], &command)
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch");
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines(&out.join("jobs.jsonl")).len() < 2 {
        assert!(Instant::now() < deadline, "no jobs recorded");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = run_json(&out)["watch"]["pid"].as_i64().expect("pid");
    // SAFETY: a signal to the watched child, alive (it is still writing jobs).
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let status = wait_with_deadline(&mut watch, 30);
    assert_eq!(status.code(), Some(3));
    let run = run_json(&out);
    assert_eq!(run["status"], "child_died");
    assert_eq!(run["watch"]["exit"]["signal"], 9);
    let records = lines(&out.join("jobs.jsonl"));
    let last = records.last().expect("records");
    assert_eq!(
        last["outcome"]["status"], "died",
        "the job it was killed in: {last}"
    );
    assert_eq!(last["outcome"]["death"]["signal"], 9);
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        report.contains("killed by signal 9"),
        "the death in the report"
    );
}

fn job_lines(n: u32, rss: u32) -> String {
    format!(
        "{PREFIX}[JOB START] job_id=j{n} | task_id=t{n} | queue=convert\n{PREFIX}[JOB SUCCESS] job_id=j{n} | task_id=t{n} | duration=0.10s\n{PREFIX}[MEMORY] job_id=j{n} | rss={rss}MB | jobs_total={n}\n"
    )
}

/// A log written live (the real worker's lines) while it is rotated and truncated: every
/// job is recorded, in order.
#[test]
fn a_rotated_and_a_truncated_log_are_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("worker.log");
    std::fs::write(&log, format!("{PREFIX}[WORKER START] name=w | queues=convert | config={{'jobs_between_cache_clear': 0}}\n")).expect("log");
    let mut sleeper = Command::new("sleep").arg("60").spawn().expect("sleep");
    let out = dir.path().join("run");
    let pid = sleeper.id().to_string();
    let log_arg = log.display().to_string();
    let mut watch = watch_cmd(&out, &["--pid", &pid, "--log", &log_arg], &[])
        .spawn()
        .expect("watch");
    let append = |text: &str| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .expect("open");
        f.write_all(text.as_bytes()).expect("write");
    };
    let records = || lines(&out.join("jobs.jsonl")).len();
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while records() < n {
            assert!(Instant::now() < deadline, "{} of {n} records", records());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    std::thread::sleep(Duration::from_millis(500));
    append(&job_lines(1, 100));
    append(&job_lines(2, 110));
    wait_for(2);
    std::fs::rename(&log, dir.path().join("worker.log.1")).expect("rotate");
    std::fs::write(&log, job_lines(3, 120)).expect("new file");
    append(&job_lines(4, 130));
    wait_for(4);
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .expect("truncate");
    append(&job_lines(5, 140));
    wait_for(5);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let status = wait_with_deadline(&mut watch, 20);
    assert_eq!(status.code(), Some(0));
    let got: Vec<(String, f64)> = lines(&out.join("jobs.jsonl"))
        .iter()
        .map(|r| {
            (
                r["job_id"].as_str().unwrap_or("").to_string(),
                r["logged_rss_bytes"].as_f64().unwrap_or(0.0) / MIB,
            )
        })
        .collect();
    let want: Vec<(String, f64)> = (1..=5)
        .map(|n| (format!("j{n}"), 90.0 + 10.0 * n as f64))
        .collect();
    assert_eq!(got, want);
    let notes = run_json(&out)["watch"]["notes"].to_string();
    assert!(
        notes.contains("rotated 1 time(s) and truncated 1 time(s)"),
        "{notes}"
    );
}

fn expect_bad_input(output: Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_targets_and_flags_exit_2_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let run = |extra: &[&str]| watch_cmd(&out, extra, &[]).output().expect("watch");
    expect_bad_input(
        run(&["--pid", "999999999"]),
        "no process with PID 999999999",
    );
    expect_bad_input(run(&[]), "give --pid N or a command");
    let me = std::process::id().to_string();
    expect_bad_input(
        run(&["--pid", &me, "--log", "/nonexistent/worker.log"]),
        "cannot follow the log",
    );
    let tmp = dir.path().display().to_string();
    expect_bad_input(run(&["--pid", &me, "--log", &tmp]), "directory");
    expect_bad_input(
        run(&["--pid", &me, "--metrics", "not an address"]),
        "--metrics",
    );
    expect_bad_input(run(&["--pid", &me, "--interval", "0"]), "--interval");
    // A port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    expect_bad_input(run(&["--pid", &me, "--metrics", &addr]), "cannot listen");
    assert!(
        !out.join("run.json").exists(),
        "no run folder for bad input"
    );
}

/// Start a watch of a standalone reference worker with `--metrics` on a free port.
fn watch_with_metrics(dir: &Path, jobs: &str) -> Option<(Child, u16)> {
    let py = python3()?.display().to_string();
    let port = free_port();
    let worker = reference_worker();
    let addr = format!("127.0.0.1:{port}");
    let command = [
        py.as_str(),
        worker.as_str(),
        "--standalone",
        jobs,
        "--job-secs",
        "0.3",
        "--leak-kb-per-job",
        "4096",
    ];
    let child = watch_cmd(
        &dir.join("run"),
        &["--metrics", &addr, "--name", "pod-a"],
        &command,
    )
    .spawn()
    .expect("watch");
    Some((child, port))
}

/// Scrape until `found` is in the body (the endpoint comes up at once, jobs take a while).
fn scrape_until(port: u16, accept: Option<&str>, found: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((head, body)) = http_get(port, "/metrics", accept) {
            if body.contains(found) {
                return (head, body);
            }
        }
        assert!(Instant::now() < deadline, "no {found} at :{port}/metrics");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn promtool_accepts_the_scraped_metrics() {
    let Some(promtool) = prometheus_tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((mut watch, port)) = watch_with_metrics(dir.path(), "12") else {
        return;
    };
    let (head, body) = scrape_until(port, None, "docling_worker_cache_clear_freed_bytes{");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    for name in [
        "docling_worker_memory_rss_bytes{worker=\"pod-a\"}",
        "docling_worker_jobs_total{worker=\"pod-a\",outcome=\"success\"}",
        "docling_worker_cache_clear_freed_bytes",
        "docling_memprof_leak{",
    ] {
        assert!(body.contains(name), "{name} missing:\n{body}");
    }
    assert!(!body.contains("pid="), "no pid label");
    let mut check = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write");
    let result = check.wait_with_output().expect("promtool runs");
    assert!(
        result.status.success() && result.stdout.is_empty() && result.stderr.is_empty(),
        "promtool: {}{}\n{body}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    let (head, body) = scrape_until(
        port,
        Some("application/openmetrics-text; version=1.0.0"),
        "# EOF",
    );
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(
        body.contains("# TYPE docling_worker_jobs counter")
            && body.contains("# UNIT docling_worker_memory_rss_bytes bytes"),
        "{body}"
    );
    // SAFETY: a signal to our own child, not yet reaped.
    unsafe { libc::kill(watch.id() as i32, libc::SIGTERM) };
    let status = wait_with_deadline(&mut watch, 30);
    assert_eq!(
        status.code(),
        Some(0),
        "a watch stopped by SIGTERM ends with its report"
    );
    assert!(dir.path().join("run/report.md").is_file());
    assert_eq!(run_json(&dir.path().join("run"))["status"], "interrupted");
}

/// A real Prometheus server scrapes `watch --metrics` and answers a query for the RSS.
#[test]
fn a_prometheus_server_scrapes_watch() {
    let Some(prometheus) = prometheus_tool("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((mut watch, port)) = watch_with_metrics(dir.path(), "200") else {
        return;
    };
    let web = free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: docling\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"),
    )
    .expect("config");
    let mut server = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let answer = loop {
        let got = http_get(
            web,
            "/api/v1/query?query=docling_worker_memory_rss_bytes",
            None,
        );
        if let Some((_, body)) = got {
            // The body may be chunked: take the JSON object out of it.
            let json = body
                .find('{')
                .map(|a| &body[a..body.rfind('}').map_or(body.len(), |b| b + 1)]);
            if let Some(v) = json.and_then(|j| serde_json::from_str::<Value>(j).ok()) {
                if v["data"]["result"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
                {
                    break v;
                }
            }
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            let _ = watch.kill();
            panic!("Prometheus never had docling_worker_memory_rss_bytes");
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let _ = server.kill();
    let _ = server.wait();
    // SAFETY: a signal to our own child, not yet reaped.
    unsafe { libc::kill(watch.id() as i32, libc::SIGTERM) };
    let _ = wait_with_deadline(&mut watch, 30);
    let series = &answer["data"]["result"][0];
    assert_eq!(series["metric"]["worker"], "pod-a", "{answer}");
    assert_eq!(series["metric"]["job"], "docling");
    let value: f64 = series["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("value");
    assert!(value > 1024.0 * 1024.0, "RSS {value}");
}

/// `replay --metrics` serves the same names from the replay's events.
#[test]
fn replay_serves_metrics_while_it_runs() {
    let Some(promtool) = prometheus_tool("promtool") else {
        return;
    };
    let Some(_) = python3() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let worker_cmd = format!("python3 {} --job-secs 0.3", reference_worker());
    let mut replay = Command::new(binary())
        .args([
            "replay",
            "--quiet",
            "--no-charts",
            "--worker-cmd",
            &worker_cmd,
            "--metrics",
        ])
        .arg(port.to_string())
        .arg("--out")
        .arg(dir.path().join("run"))
        .arg(project_root().join("fixtures/workloads/seed-20-jobs.json"))
        .spawn()
        .expect("replay");
    let (_, body) = scrape_until(port, None, "outcome=\"success\"");
    assert!(body.contains("worker=\"seed-20-jobs\""), "{body}");
    assert!(body.contains("docling_worker_memory_rss_bytes"), "{body}");
    let mut check = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write");
    let result = check.wait_with_output().expect("promtool runs");
    assert!(
        result.status.success(),
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    let status = wait_with_deadline(&mut replay, 120);
    assert!(status.success());
}

/// The memory cgroup this machine gives its processes, found independently of the tool:
/// "v2" when the unified hierarchy has `memory.current` for it, "v1" when a legacy memory
/// hierarchy lists it, None otherwise.
fn expected_cgroup_version() -> Option<&'static str> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let unified = mounts
        .lines()
        .find(|l| l.contains(" - cgroup2 "))
        .and_then(|l| l.split_whitespace().nth(4).map(PathBuf::from));
    let v2_path = membership.lines().find_map(|l| l.strip_prefix("0::"));
    if let (Some(root), Some(path)) = (unified, v2_path) {
        if root
            .join(path.trim().trim_start_matches('/'))
            .join("memory.current")
            .is_file()
        {
            return Some("v2");
        }
    }
    membership
        .lines()
        .any(|l| {
            l.split(':')
                .nth(1)
                .is_some_and(|c| c.split(',').any(|c| c == "memory"))
        })
        .then_some("v1")
}

/// Kubernetes nodes run cgroup v2 or the legacy v1 memory controller (this machine: v1 beside
/// an empty unified hierarchy); a watch reads whichever the process is in, never neither.
#[test]
fn the_memory_cgroup_is_sampled_on_v1_and_v2() {
    let Some(py) = python3() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let py = py.display().to_string();
    let command = [py.as_str(), "-c", "import time; time.sleep(1.0)"];
    let status = watch_cmd(&out, &[], &command).status().expect("watch");
    assert_eq!(status.code(), Some(0));
    let samples = lines(&out.join("samples.jsonl"));
    assert!(!samples.is_empty(), "samples were taken");
    let cgroup = &samples[0]["cgroup"];
    match expected_cgroup_version() {
        Some(version) => {
            assert_eq!(cgroup["version"], version, "{cgroup}");
            assert!(
                cgroup["current_bytes"].as_u64().unwrap_or(0) > 0,
                "{cgroup}"
            );
            assert!(cgroup["working_set_bytes"].as_u64().is_some(), "{cgroup}");
            let read = run_json(&out)["watch"]["cgroup"]
                .as_str()
                .map(str::to_string);
            assert!(
                read.as_deref()
                    .is_some_and(|r| r.ends_with(&format!("({version})"))),
                "{read:?}"
            );
        }
        None => assert!(cgroup.is_null(), "{cgroup}"),
    }
}
