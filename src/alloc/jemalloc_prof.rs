//! jemalloc's own heap profiler (`--sites jemalloc`), compiled in by the cargo feature
//! `jemalloc-profiling` (off by default: it rebuilds jemalloc's C code with `--enable-prof`).
//!
//! jemalloc reads its options once, at its first allocation, from `_RJEM_MALLOC_CONF`
//! (tikv-jemalloc-sys prefixes every symbol and the variable with `_rjem_`/`_RJEM_`; a plain
//! `MALLOC_CONF` is ignored). So the replay's parent puts
//! `prof:true,prof_active:true,lg_prof_sample:N` into the core child's environment
//! ([`child_env`]; N from [`LG_SAMPLE_ENV`], default [`DEFAULT_LG_SAMPLE`] = 64 KiB, the same
//! mean as the sampler of [`super::sampling`]), and the child writes a `prof.dump` after each
//! job (and after each clear) into `sites/` of the run folder ([`dump_path`]), which Debian's
//! `jeprof` reads: `jeprof --text BINARY RUN/sites/jemalloc-12.heap`.
//!
//! [`parse_heap_v2`] reads such a dump back (the benchmark and the accuracy test compare its
//! estimates with known bytes); [`HeapStack::estimate`] scales a stack's sampled bytes the way
//! `jeprof` does, and gives the Horvitz-Thompson variance of that estimate.

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Whether this build has jemalloc's profiler compiled in.
pub const COMPILED_IN: bool = cfg!(feature = "jemalloc-profiling");
/// The variable tikv-jemalloc-sys's jemalloc reads its options from.
pub const CONF_ENV: &str = "_RJEM_MALLOC_CONF";
/// log2 of the mean bytes between samples, for `--sites jemalloc` (read by the parent).
pub const LG_SAMPLE_ENV: &str = "DOCLING_MEMPROF_JEMALLOC_LG_SAMPLE";
/// 2^16 = 64 KiB, the sampler's own default mean; jemalloc's default is 19 (512 KiB).
pub const DEFAULT_LG_SAMPLE: u32 = 16;
/// The largest rate accepted (1 TiB between samples: nothing below it is ever sampled).
pub const MAX_LG_SAMPLE: u32 = 40;
/// The run folder's subfolder for the dumps.
pub const DUMP_DIR: &str = "sites";

/// The error of a `--sites jemalloc` asked of a build without the profiler.
pub fn not_compiled_message() -> String {
    "--sites jemalloc needs jemalloc's profiler compiled in: build with \
     `cargo build --release --features jemalloc-profiling` (off by default)"
        .into()
}

/// `lg_prof_sample` from [`LG_SAMPLE_ENV`], or [`DEFAULT_LG_SAMPLE`] when unset.
pub fn lg_sample_from_env() -> Result<u32> {
    match std::env::var(LG_SAMPLE_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_LG_SAMPLE),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::Usage(format!("{LG_SAMPLE_ENV} is not valid UTF-8")))
        }
        Ok(text) => parse_lg_sample(&text),
    }
}

fn parse_lg_sample(text: &str) -> Result<u32> {
    match text.trim().parse::<u32>() {
        Ok(n) if n <= MAX_LG_SAMPLE => Ok(n),
        _ => Err(Error::Usage(format!(
            "{LG_SAMPLE_ENV}={text:?}: expected log2 of the mean bytes between samples, \
             0 to {MAX_LG_SAMPLE} (16 = 64 KiB, jemalloc's default 19 = 512 KiB)"
        ))),
    }
}

/// The option string that turns the profiler on from the process's first allocation.
pub fn malloc_conf(lg_sample: u32) -> String {
    format!("prof:true,prof_active:true,lg_prof_sample:{lg_sample}")
}

/// The environment the parent adds to a core child for `--sites jemalloc`; fails (a usage
/// error, exit 2) in a build without the profiler or with a bad [`LG_SAMPLE_ENV`].
pub fn child_env() -> Result<(String, String)> {
    if !COMPILED_IN {
        return Err(Error::Usage(not_compiled_message()));
    }
    Ok((CONF_ENV.to_string(), malloc_conf(lg_sample_from_env()?)))
}

/// What the running jemalloc says about its profiler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfilerState {
    /// `config.prof`: built with `--enable-prof`.
    pub compiled_in: bool,
    /// `opt.prof`: switched on at start.
    pub enabled: bool,
    /// `prof.active`: sampling now.
    pub active: bool,
    /// `prof.lg_sample`.
    pub lg_sample: u32,
}

/// Read the profiler's state. Only call this in a process whose allocator is jemalloc.
pub fn profiler_state() -> ProfilerState {
    // SAFETY: `config.prof`, `opt.prof` and `prof.active` are `bool` and `prof.lg_sample` is
    // `size_t` in jemalloc 5; the names are NUL-terminated. A name jemalloc lacks (profiling not
    // compiled in) is an error, read as false / 0.
    unsafe {
        use tikv_jemalloc_ctl::raw::read;
        ProfilerState {
            compiled_in: read::<bool>(b"config.prof\0").unwrap_or(false),
            enabled: read::<bool>(b"opt.prof\0").unwrap_or(false),
            active: read::<bool>(b"prof.active\0").unwrap_or(false),
            lg_sample: read::<usize>(b"prof.lg_sample\0").unwrap_or(0) as u32,
        }
    }
}

/// In the child at start: the profiler must be compiled in and running.
pub fn check_running() -> Result<ProfilerState> {
    let state = profiler_state();
    if !state.compiled_in {
        return Err(Error::Usage(not_compiled_message()));
    }
    if !(state.enabled && state.active) {
        return Err(Error::Usage(format!(
            "--sites jemalloc: jemalloc's profiler is not running in the worker (opt.prof \
             {}, prof.active {}): {CONF_ENV} must hold {}",
            state.enabled,
            state.active,
            malloc_conf(DEFAULT_LG_SAMPLE)
        )));
    }
    Ok(state)
}

/// `RUN/sites/jemalloc-<job>.heap` (after the job; 0 is the baseline), or
/// `jemalloc-<job>-clear.heap` (after the clear that followed it).
pub fn dump_path(run_dir: &Path, job: u64, after_clear: bool) -> PathBuf {
    let suffix = if after_clear { "-clear" } else { "" };
    run_dir
        .join(DUMP_DIR)
        .join(format!("jemalloc-{job}{suffix}.heap"))
}

/// `prof.dump` to `path` (its folder must exist).
pub fn dump(path: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let name = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Internal(format!("{}: a NUL in the path", path.display())))?;
    let mut value: *const c_char = name.as_ptr();
    // SAFETY: `prof.dump` takes a `const char *` file name as its new value: `newp` points at
    // one such pointer and `newlen` is its size. `name` outlives the call; jemalloc copies the
    // name before returning and reads nothing through `oldp` (null).
    let code = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"prof.dump".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&mut value as *mut *const c_char).cast(),
            std::mem::size_of::<*const c_char>(),
        )
    };
    if code == 0 {
        Ok(())
    } else {
        Err(Error::io(
            format!("prof.dump to {}", path.display()),
            std::io::Error::from_raw_os_error(code),
        ))
    }
}

/// A line of a heap profile that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("heap profile line {line}: {message}")]
pub struct HeapParseError {
    pub line: usize,
    pub message: String,
}

/// A `heap_v2` profile (what `prof.dump` writes; also `sites.heap`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeapProfile {
    /// The mean bytes between samples (`heap_v2/<rate>`).
    pub sample_interval_bytes: u64,
    /// The `t*` totals of sampled live objects and bytes.
    pub sampled_objs: u64,
    pub sampled_bytes: u64,
    pub stacks: Vec<HeapStack>,
}

/// One stack of a heap profile: absolute return addresses, innermost first, and its sampled
/// live objects and bytes (samples: not scaled up).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeapStack {
    pub frames: Vec<u64>,
    pub objs: u64,
    pub bytes: u64,
}

/// A stack's estimated live bytes and the variance of that estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub bytes: f64,
    pub variance: f64,
}

impl Estimate {
    pub fn stderr(&self) -> f64 {
        self.variance.max(0.0).sqrt()
    }
}

impl HeapStack {
    /// `jeprof`'s scaling: with the stack's mean sampled block size `s = bytes / objs`, each
    /// sampled block stood for `1 / p` blocks, `p = 1 - exp(-s / mean)`; the Horvitz-Thompson
    /// variance estimate is `objs * s^2 * (1 - p) / p^2`. Exact when every block of the stack
    /// has one size (the mean size is jeprof's own approximation otherwise).
    pub fn estimate(&self, sample_interval_bytes: u64) -> Estimate {
        if self.objs == 0 || self.bytes == 0 {
            return Estimate {
                bytes: 0.0,
                variance: 0.0,
            };
        }
        let size = self.bytes as f64 / self.objs as f64;
        let p = if sample_interval_bytes <= 1 {
            1.0
        } else {
            -(-size / sample_interval_bytes as f64).exp_m1()
        };
        Estimate {
            bytes: self.bytes as f64 / p,
            variance: self.objs as f64 * size * size * (1.0 - p) / (p * p),
        }
    }
}

fn parse_counts(text: &str) -> Option<(u64, u64)> {
    // `t*: 13: 6688 [0: 0]`, after the `t*:` prefix: `13: 6688 [0: 0]`.
    let (objs, rest) = text.split_once(':')?;
    let bytes = rest.split_once('[').map_or(rest, |(b, _)| b);
    Some((objs.trim().parse().ok()?, bytes.trim().parse().ok()?))
}

/// Read a `heap_v2` profile: the header, then per stack an `@ 0x.. 0x..` line and its `t*:`
/// counts (per-thread `tN:` lines are skipped), up to `MAPPED_LIBRARIES:`.
pub fn parse_heap_v2(text: &str) -> std::result::Result<HeapProfile, HeapParseError> {
    let bad = |line: usize, message: String| HeapParseError { line, message };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, header) = lines
        .next()
        .ok_or_else(|| bad(1, "empty: no heap_v2 header".into()))?;
    let rate = header
        .strip_prefix("heap_v2/")
        .and_then(|r| r.trim().parse::<u64>().ok())
        .ok_or_else(|| bad(1, format!("expected `heap_v2/<rate>`, found {header:?}")))?;
    let mut profile = HeapProfile {
        sample_interval_bytes: rate,
        ..HeapProfile::default()
    };
    let mut current: Option<HeapStack> = None;
    let mut totals_seen = false;
    for (n, line) in lines {
        if line.starts_with("MAPPED_LIBRARIES:") {
            break;
        }
        let trimmed = line.trim();
        if let Some(addrs) = trimmed.strip_prefix('@') {
            if let Some(done) = current.take() {
                return Err(bad(
                    n,
                    format!("a stack without counts before it ({:?})", done.frames),
                ));
            }
            let frames = addrs
                .split_whitespace()
                .map(|a| {
                    a.strip_prefix("0x")
                        .and_then(|h| u64::from_str_radix(h, 16).ok())
                        .ok_or_else(|| bad(n, format!("not a hex address: {a:?}")))
                })
                .collect::<std::result::Result<Vec<u64>, _>>()?;
            current = Some(HeapStack {
                frames,
                ..HeapStack::default()
            });
        } else if let Some(counts) = trimmed.strip_prefix("t*:") {
            let (objs, bytes) =
                parse_counts(counts).ok_or_else(|| bad(n, format!("bad counts {trimmed:?}")))?;
            match current.take() {
                Some(mut stack) => {
                    stack.objs = objs;
                    stack.bytes = bytes;
                    profile.stacks.push(stack);
                }
                None if !totals_seen => {
                    profile.sampled_objs = objs;
                    profile.sampled_bytes = bytes;
                    totals_seen = true;
                }
                None => return Err(bad(n, "counts without a stack".into())),
            }
        } else if trimmed.is_empty() || (trimmed.starts_with('t') && trimmed.contains(':')) {
            // A blank line or a thread's own counts (`t3: 12: 6496 [0: 0]`).
        } else {
            return Err(bad(n, format!("unexpected line {trimmed:?}")));
        }
    }
    if current.is_some() {
        return Err(bad(0, "the last stack has no counts".into()));
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a jemalloc 5.3 `prof.dump`.
    const DUMP: &str = "heap_v2/65536\n  t*: 5: 90000 [0: 0]\n  t0: 5: 90000 [0: 0]\n\
        @ 0x55d0000010a0 0x55d000002200 0x7f0000000010\n  t*: 3: 144 [0: 0]\n  t0: 3: 144 [0: 0]\n\
        @ 0x55d0000010a0 0x55d000003300\n  t*: 2: 89856 [0: 0]\n  t0: 2: 89856 [0: 0]\n\
        \nMAPPED_LIBRARIES:\n55d000000000-55d000010000 r-xp 00000000 08:01 1 /bin/x\n";

    #[test]
    fn a_dump_is_read_stack_by_stack() {
        let p = parse_heap_v2(DUMP).expect("parses");
        assert_eq!(p.sample_interval_bytes, 65536);
        assert_eq!((p.sampled_objs, p.sampled_bytes), (5, 90000));
        assert_eq!(p.stacks.len(), 2);
        assert_eq!(
            p.stacks[0].frames,
            vec![0x55d0000010a0, 0x55d000002200, 0x7f0000000010]
        );
        assert_eq!((p.stacks[0].objs, p.stacks[0].bytes), (3, 144));
        assert_eq!((p.stacks[1].objs, p.stacks[1].bytes), (2, 89856));
    }

    #[test]
    fn malformed_dumps_name_the_line() {
        assert_eq!(parse_heap_v2("").unwrap_err().line, 1);
        assert_eq!(parse_heap_v2("heap_v1/3\n").unwrap_err().line, 1);
        let err = parse_heap_v2("heap_v2/8\n  t*: 1: 8 [0: 0]\n@ 0xzz\n").unwrap_err();
        assert_eq!(err.line, 3);
        let err = parse_heap_v2("heap_v2/8\n  t*: 1: 8 [0: 0]\n  t*: 1: 8 [0: 0]\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(parse_heap_v2("heap_v2/8\n  t*: 1: 8\n@ 0x10\n").is_err());
        assert!(parse_heap_v2("heap_v2/8\nnonsense\n").is_err());
    }

    #[test]
    fn the_estimate_scales_like_jeprof_and_has_ht_variance() {
        let mean = 65536u64;
        // Blocks far above the mean are always sampled: no scaling, no variance.
        let big = HeapStack {
            frames: vec![],
            objs: 4,
            bytes: 4 << 22,
        };
        let e = big.estimate(mean);
        assert!((e.bytes - (4u64 << 22) as f64).abs() < 1.0, "{e:?}");
        assert!(e.stderr() < 1.0);
        // 48-byte blocks: p = 1 - exp(-48 / 65536) ~ 7.3e-4.
        let small = HeapStack {
            frames: vec![],
            objs: 150,
            bytes: 150 * 48,
        };
        let p = 1.0 - (-48.0f64 / 65536.0).exp();
        let e = small.estimate(mean);
        assert!((e.bytes - 7200.0 / p).abs() < 1e-6 * e.bytes);
        let var = 150.0 * 48.0 * 48.0 * (1.0 - p) / (p * p);
        assert!((e.variance - var).abs() < 1e-6 * var);
        // Relative stderr ~ 1 / sqrt(sampled blocks) for small blocks.
        assert!((e.stderr() / e.bytes - 1.0 / 150f64.sqrt()).abs() < 1e-3);
        assert_eq!(HeapStack::default().estimate(mean).bytes, 0.0);
    }

    #[test]
    fn the_rate_comes_from_the_environment_value() {
        assert_eq!(parse_lg_sample("16").ok(), Some(16));
        assert_eq!(parse_lg_sample(" 19 ").ok(), Some(19));
        assert!(parse_lg_sample("41").is_err());
        assert!(parse_lg_sample("-1").is_err());
        assert!(parse_lg_sample("64k").is_err());
        assert_eq!(
            malloc_conf(19),
            "prof:true,prof_active:true,lg_prof_sample:19"
        );
    }

    #[test]
    fn dumps_are_named_by_job() {
        let d = Path::new("/r");
        assert_eq!(
            dump_path(d, 0, false),
            Path::new("/r/sites/jemalloc-0.heap")
        );
        assert_eq!(
            dump_path(d, 7, true),
            Path::new("/r/sites/jemalloc-7-clear.heap")
        );
    }
}
