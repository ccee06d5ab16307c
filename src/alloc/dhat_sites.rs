//! `--sites exact`: allocation sites from dhat, one heap profiler per job.
//!
//! In exact mode the job profilers of [`super::dhat`] are built by [`builder`] with a file
//! name instead of dhat's testing mode, so that dropping one writes its profile. At the job's
//! snapshot [`finish_job`] stops the job's profiler, reads the profile it wrote and turns its
//! program points into a [`SiteTable`]: per site, the bytes allocated during the job and still
//! live at its end (dhat's `eb`/`ebk`, since the profiler saw only the job's blocks). The last
//! profile is kept as `dhat-heap.json` in the run folder, for valgrind's `dh_view.html`.
//! A short profiler in testing mode covers the time until the next job starts.
//!
//! [`DhatProfile`] reads a `dhat-heap.json` (dhat-rs and valgrind's DHAT write the same
//! format) and [`check_viewer_fields`] checks it as `dh_view.js` does before drawing it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::sites::{self, JobBytes, SiteSurvivors, StackBytes};
use crate::record::{SiteStat, SiteTable};
use crate::{Error, Result};

/// The profile kept for the viewer, in the run folder.
pub const DHAT_HEAP_JSON: &str = "dhat-heap.json";
/// Where the running job profiler writes (renamed to [`DHAT_HEAP_JSON`] once read).
const JOB_PROFILE: &str = "dhat-job.json";
/// Frames dhat keeps per stack (its default is 10; std's frames take many of them).
const DHAT_FRAMES: usize = 40;

/// One program point of a dhat profile (a stack and its counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DhatPp {
    /// Total bytes and blocks allocated.
    pub tb: u64,
    pub tbk: u64,
    /// Total lifetimes (µs).
    #[serde(default)]
    pub tl: Option<u64>,
    /// At this point's own maximum.
    #[serde(default)]
    pub mb: Option<u64>,
    #[serde(default)]
    pub mbk: Option<u64>,
    /// At the global maximum (t-gmax).
    #[serde(default)]
    pub gb: Option<u64>,
    #[serde(default)]
    pub gbk: Option<u64>,
    /// At the end (t-end): still live when the profiler stopped.
    #[serde(default)]
    pub eb: Option<u64>,
    #[serde(default)]
    pub ebk: Option<u64>,
    /// Frame indices into `ftbl`, innermost first.
    pub fs: Vec<usize>,
}

/// A `dhat-heap.json` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub struct DhatProfile {
    pub dhatFileVersion: u32,
    pub mode: String,
    #[serde(default)]
    pub cmd: String,
    #[serde(default)]
    pub pid: u32,
    /// Time of the global maximum and of the end (µs).
    #[serde(default)]
    pub tg: Option<u64>,
    #[serde(default)]
    pub te: Option<u64>,
    pub pps: Vec<DhatPp>,
    pub ftbl: Vec<String>,
}

impl DhatProfile {
    pub fn parse(text: &str, path: &Path) -> Result<DhatProfile> {
        let profile: DhatProfile = serde_json::from_str(text)
            .map_err(|e| Error::bad_input(path, format!("line {}", e.line()), e.to_string()))?;
        for (i, pp) in profile.pps.iter().enumerate() {
            if let Some(bad) = pp.fs.iter().find(|&&f| f >= profile.ftbl.len()) {
                return Err(Error::bad_input(
                    path,
                    format!("$.pps[{i}].fs"),
                    format!(
                        "frame index {bad} outside ftbl ({} frames)",
                        profile.ftbl.len()
                    ),
                ));
            }
        }
        Ok(profile)
    }

    pub fn read(path: &Path) -> Result<DhatProfile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        DhatProfile::parse(&text, path)
    }

    /// A program point's frames, innermost first.
    pub fn frames(&self, pp: &DhatPp) -> Vec<&str> {
        pp.fs
            .iter()
            .filter_map(|&i| self.ftbl.get(i).map(String::as_str))
            .collect()
    }

    /// Per site: bytes and blocks live at the profile's end, top `top_n` by bytes; and every
    /// stack's live bytes (for collapsed output).
    pub fn live_sites(&self, top_n: usize) -> (Vec<SiteStat>, Vec<StackBytes>) {
        let mut by_site: HashMap<String, (u64, u64)> = HashMap::new();
        let mut stacks = Vec::new();
        for pp in &self.pps {
            let (bytes, blocks) = (pp.eb.unwrap_or(0), pp.ebk.unwrap_or(0));
            if bytes == 0 && blocks == 0 {
                continue;
            }
            let clean = sites::clean_stack(&self.frames(pp));
            let entry = by_site.entry(sites::site_identity(&clean)).or_default();
            entry.0 += bytes;
            entry.1 += blocks;
            stacks.push(StackBytes {
                frames: clean,
                live_bytes: bytes,
            });
        }
        let all = by_site
            .into_iter()
            .map(|(site, (bytes, blocks))| SiteStat {
                site,
                live_bytes: bytes,
                live_blocks: blocks,
                live_bytes_stderr: None,
                job_live_bytes: Some(bytes),
            })
            .collect();
        (sites::top_sites(all, top_n), stacks)
    }
}

/// Check a profile's JSON as valgrind's `dh_view.js` does before it draws the tree
/// (`buildTree` and `checkPP`): the global fields, the file version (2), `tg`/`tuth` when
/// block lifetimes are on, each program point's fields, and frame indices inside `ftbl`.
pub fn check_viewer_fields(json: &serde_json::Value) -> std::result::Result<(), String> {
    let has = |obj: &serde_json::Value, fields: &[&str]| -> std::result::Result<(), String> {
        for f in fields {
            if obj.get(*f).is_none() {
                return Err(format!("data file is missing a field: {f}"));
            }
        }
        Ok(())
    };
    has(
        json,
        &[
            "dhatFileVersion",
            "mode",
            "verb",
            "bklt",
            "bkacc",
            "tu",
            "Mtu",
            "cmd",
            "pid",
            "te",
            "pps",
            "ftbl",
        ],
    )?;
    if json["dhatFileVersion"].as_u64() != Some(2) {
        return Err(format!(
            "data file has version number {}, expected version number 2",
            json["dhatFileVersion"]
        ));
    }
    let bklt = json["bklt"].as_bool().unwrap_or(false);
    let bkacc = json["bkacc"].as_bool().unwrap_or(false);
    if bklt {
        has(json, &["tg", "tuth"])?;
    }
    let ftbl_len = json["ftbl"].as_array().ok_or("ftbl is not an array")?.len();
    for pp in json["pps"].as_array().ok_or("pps is not an array")? {
        has(pp, &["tb", "tbk", "fs"])?;
        if bklt {
            has(pp, &["mb", "mbk", "gb", "gbk", "eb", "ebk"])?;
        }
        if bkacc {
            has(pp, &["rb", "wb"])?;
        }
        for f in pp["fs"].as_array().ok_or("fs is not an array")? {
            match f.as_u64() {
                Some(i) if (i as usize) < ftbl_len => {}
                _ => return Err(format!("frame index {f} outside ftbl")),
            }
        }
    }
    Ok(())
}

/// Exact mode's state.
#[derive(Debug)]
struct Exact {
    dir: PathBuf,
    /// The next profiler only bridges the gap until the next job (testing mode, no file).
    next_is_gap: bool,
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static EXACT: Mutex<Option<Exact>> = Mutex::new(None);

fn with_exact<R>(f: impl FnOnce(&mut Option<Exact>) -> R) -> R {
    let mut guard = EXACT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut guard)
}

/// Turn exact mode on: profiles go to `dir` (the run folder). Needs the dhat allocator.
pub fn enable(dir: &Path) -> Result<()> {
    if !(super::is_installed() && super::selected() == super::AllocatorKind::Dhat) {
        return Err(Error::Usage(
            "--sites exact needs the dhat allocator (--allocator dhat)".into(),
        ));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    with_exact(|slot| {
        *slot = Some(Exact {
            dir: dir.to_path_buf(),
            next_is_gap: false,
        })
    });
    ENABLED.store(true, Ordering::Release);
    Ok(())
}

pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// The builder of the next job profiler: testing mode (no file, no stderr summary) unless
/// exact mode is on, then a profile file in the run folder.
pub fn builder() -> ::dhat::ProfilerBuilder {
    let file = with_exact(|slot| match slot {
        Some(exact) if !exact.next_is_gap => Some(exact.dir.join(JOB_PROFILE)),
        Some(exact) => {
            exact.next_is_gap = false;
            None
        }
        None => None,
    });
    match file {
        Some(path) => ::dhat::Profiler::builder()
            .file_name(path)
            .trim_backtraces(Some(DHAT_FRAMES)),
        None => ::dhat::Profiler::builder().testing(),
    }
}

/// What exact mode reports at a job's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactReport {
    pub table: SiteTable,
    /// Bytes allocated in `job` still live at its end, per site (only k = 0 is known: the
    /// next job's profiler does not see older blocks).
    pub survivors: Vec<SiteSurvivors>,
    pub stacks: Vec<StackBytes>,
    /// The profile kept for the viewer.
    pub profile_path: PathBuf,
}

/// Stop the job's profiler, read its profile, keep it as `dhat-heap.json` and start a gap
/// profiler. `None` unless exact mode is on (or when the profile cannot be read; the reason
/// goes to the log).
pub fn finish_job(job: u64, top_n: usize) -> Option<ExactReport> {
    if !is_enabled() {
        return None;
    }
    let dir = with_exact(|slot| slot.as_ref().map(|e| e.dir.clone()))?;
    let written = dir.join(JOB_PROFILE);
    let _ = std::fs::remove_file(&written);
    super::dhat::stop_profiler();
    with_exact(|slot| {
        if let Some(exact) = slot {
            exact.next_is_gap = true;
        }
    });
    super::dhat::start_job_profiler();
    let profile = match DhatProfile::read(&written) {
        Ok(profile) => profile,
        Err(err) => {
            log::warn!("exact sites: {err}");
            return None;
        }
    };
    let kept = dir.join(DHAT_HEAP_JSON);
    if let Err(err) = std::fs::rename(&written, &kept) {
        log::warn!("exact sites: keeping {}: {err}", kept.display());
    }
    let (top, stacks) = profile.live_sites(top_n);
    let survivors = top
        .iter()
        .map(|s| SiteSurvivors {
            site: s.site.clone(),
            by_job: vec![JobBytes {
                job,
                live_bytes: s.live_bytes,
            }],
        })
        .collect();
    Some(ExactReport {
        table: SiteTable {
            mode: "exact".into(),
            sample_interval_bytes: None,
            sites: top,
        },
        survivors,
        stacks,
        profile_path: kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"dhatFileVersion":2,"mode":"rust-heap","verb":"Allocated","bklt":true,"bkacc":false,
      "tu":"µs","Mtu":"s","tuth":10,"cmd":"x","pid":1,"tg":5,"te":9,
      "pps":[{"tb":100,"tbk":2,"tl":3,"mb":100,"mbk":2,"gb":100,"gbk":2,"eb":60,"ebk":1,"fs":[1,2]},
             {"tb":50,"tbk":5,"tl":3,"mb":10,"mbk":1,"gb":0,"gbk":0,"eb":0,"ebk":0,"fs":[3]}],
      "ftbl":["[root]","0x1: alloc::vec::Vec<T>::push (/rustc/abc/library/alloc/src/vec/mod.rs:1:2)",
              "0x2: docling_memprof::worker::scenarios::RetainedResults::keep::h0123456789abcdef (src/worker/scenarios.rs:41:9)",
              "0x3: main (src/main.rs:1:1)"]}"#;

    #[test]
    fn profiles_parse_into_live_sites() {
        let json: serde_json::Value = serde_json::from_str(SAMPLE).expect("json");
        check_viewer_fields(&json).expect("viewer fields");
        let profile = DhatProfile::parse(SAMPLE, Path::new("x.json")).expect("parses");
        let (top, stacks) = profile.live_sites(10);
        assert_eq!(top.len(), 1, "only live points make sites");
        assert_eq!(
            top[0].site,
            "docling_memprof::worker::scenarios::RetainedResults::keep (src/worker/scenarios.rs:41)"
        );
        assert_eq!((top[0].live_bytes, top[0].live_blocks), (60, 1));
        assert_eq!(stacks.len(), 1);
    }

    #[test]
    fn bad_profiles_are_refused() {
        let mut json: serde_json::Value = serde_json::from_str(SAMPLE).expect("json");
        json["pps"][0]["fs"][0] = serde_json::json!(99);
        assert!(check_viewer_fields(&json).is_err());
        assert!(DhatProfile::parse(&json.to_string(), Path::new("x.json")).is_err());
        json["pps"][0].as_object_mut().expect("object").remove("eb");
        assert!(check_viewer_fields(&json)
            .unwrap_err()
            .contains("missing a field: eb"));
        assert!(DhatProfile::parse("{", Path::new("x.json")).is_err());
    }
}
