//! `run.json` at the start of a run: the workload as resolved, the settings, the tool's
//! version and git revision, the machine.

use super::replay::ReplayConfig;
use crate::record::{MachineInfo, RunManifest, RunStatus, RECORD_SCHEMA_VERSION};
use crate::workload::materialize::DocumentFiles;
use crate::workload::LoadedWorkload;

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// run.json at the start of a run.
pub(crate) fn new_manifest(
    loaded: &LoadedWorkload,
    config: &ReplayConfig,
    files: &DocumentFiles,
) -> RunManifest {
    let mut workload = serde_json::to_value(&loaded.workload).unwrap_or(serde_json::Value::Null);
    if let Some(docs) = workload.get_mut("documents").and_then(|d| d.as_array_mut()) {
        for doc in docs {
            let id = doc.get("id").and_then(|i| i.as_str()).map(str::to_owned);
            if let (Some(id), Some(obj)) = (id, doc.as_object_mut()) {
                if let Some(path) = files.get(&id) {
                    obj.insert(
                        "resolved_path".into(),
                        serde_json::Value::String(path.display().to_string()),
                    );
                }
            }
        }
    }
    RunManifest {
        schema_version: RECORD_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        workload_path: loaded.path.display().to_string(),
        workload_name: loaded.name.clone(),
        workload,
        worker: config.backend.kind(),
        allocator: config.backend.allocator(),
        isolation: config.isolation,
        sites: config.sites,
        census: config.census,
        memory_limit_bytes: config.memory_limit_bytes,
        git_revision: git_revision(),
        machine: machine_info(),
        started_at: now_rfc3339(),
        finished_at: None,
        baselines: Vec::new(),
        status: RunStatus::Running,
        status_message: None,
        wall_time_secs: None,
        workers_started: 0,
        jobs_planned: Some(loaded.workload.job_count()),
        watch: None,
    }
}

/// The tool's git revision, when it runs from a checkout.
pub(crate) fn git_revision() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// Host name, OS, CPUs and memory of this machine.
pub fn machine_info() -> MachineInfo {
    let total_memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map(|kb| kb * 1024)
        });
    MachineInfo {
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string()),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        total_memory_bytes,
    }
}
