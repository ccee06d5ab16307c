//! Smaller workloads made from a workload, for `minimize`: a subset of its jobs repeated to a
//! length, a subset of its documents, a subset of its distinct option sets. Each result is a
//! valid workload (documents nobody uses are dropped; file paths made absolute so that the
//! file can live in any folder).

use super::schema::{JobSpec, Workload};
use super::validate::LoadedWorkload;
use crate::worker::ConversionOptions;

/// The workload with its document paths absolute (resolved against its own folder).
pub fn with_absolute_paths(loaded: &LoadedWorkload) -> Workload {
    let mut w = loaded.workload.clone();
    for doc in &mut w.documents {
        if let Some(path) = &doc.path {
            let resolved = loaded.resolve(path);
            doc.path = Some(std::path::absolute(&resolved).unwrap_or(resolved));
        }
    }
    w
}

/// How many times a list of `jobs` jobs runs so that a replay has at least `target` jobs.
pub fn repeats_for(jobs: usize, target: u64) -> u32 {
    let jobs = jobs.max(1) as u64;
    u32::try_from(target.div_ceil(jobs).max(1)).unwrap_or(u32::MAX)
}

/// The workload running only `jobs` (a list), repeated to at least `target` jobs, with the
/// documents they use.
pub fn with_jobs(base: &Workload, jobs: Vec<JobSpec>, target: u64) -> Workload {
    let mut w = base.clone();
    w.repeat = repeats_for(jobs.len(), target);
    w.jobs = jobs;
    prune_documents(&mut w);
    w
}

/// The distinct document ids the jobs use, in first-use order.
pub fn used_documents(w: &Workload) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for job in &w.jobs {
        for id in &job.documents {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    ids
}

/// The workload with only the documents `keep`: each job converts its documents among them,
/// and a job left with none is dropped. `None` when no job is left.
pub fn with_documents(w: &Workload, keep: &[String]) -> Option<Workload> {
    let mut out = w.clone();
    for job in &mut out.jobs {
        job.documents.retain(|d| keep.contains(d));
    }
    out.jobs.retain(|j| !j.documents.is_empty());
    if out.jobs.is_empty() {
        return None;
    }
    prune_documents(&mut out);
    Some(out)
}

/// The distinct option sets of the jobs, in first-use order.
pub fn option_sets(w: &Workload) -> Vec<ConversionOptions> {
    let mut sets: Vec<ConversionOptions> = Vec::new();
    for job in &w.jobs {
        if !sets.contains(&job.options) {
            sets.push(job.options.clone());
        }
    }
    sets
}

/// The workload using only the option sets `keep` (indices into [`option_sets`]): a job with
/// another set runs with the first kept one. `None` when `keep` is empty.
pub fn with_option_sets(w: &Workload, keep: &[usize]) -> Option<Workload> {
    let sets = option_sets(w);
    let kept: Vec<&ConversionOptions> = keep.iter().filter_map(|&i| sets.get(i)).collect();
    let first = (*kept.first()?).clone();
    let mut out = w.clone();
    for job in &mut out.jobs {
        if !kept.contains(&&job.options) {
            job.options = first.clone();
        }
    }
    Some(out)
}

/// Drop the documents no job uses.
pub fn prune_documents(w: &mut Workload) {
    let used = used_documents(w);
    w.documents.retain(|d| used.contains(&d.id));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::validate::parse;

    fn workload() -> Workload {
        let text = r#"{"schema_version": 1,
            "documents": [{"id": "a", "path": "a.md"}, {"id": "b", "path": "b.md"}, {"id": "c", "path": "c.md"}],
            "jobs": [
                {"name": "j1", "options": {"to_formats": ["md"]}, "documents": ["a"]},
                {"name": "j2", "options": {"to_formats": ["json"]}, "documents": ["a", "b"]},
                {"name": "j3", "options": {"to_formats": ["md"]}, "documents": ["c"]}
            ], "repeat": 2}"#;
        parse(std::path::Path::new("w.json"), text).expect("parses")
    }

    #[test]
    fn a_job_subset_is_repeated_to_the_length_and_keeps_its_documents() {
        let w = workload();
        let jobs = w.jobs.clone();
        let small = with_jobs(&w, vec![jobs[2].clone()], 10);
        assert_eq!(small.jobs.len(), 1);
        assert_eq!(small.repeat, 10);
        assert_eq!(small.job_count(), 10);
        let ids: Vec<&str> = small.documents.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["c"]);
        assert_eq!(repeats_for(3, 10), 4);
    }

    #[test]
    fn dropping_documents_drops_the_jobs_left_without_any() {
        let w = workload();
        let only_b = with_documents(&w, &["b".into()]).expect("j2 keeps b");
        assert_eq!(only_b.jobs.len(), 1);
        assert_eq!(only_b.jobs[0].documents, ["b"]);
        assert_eq!(only_b.documents.len(), 1);
        assert!(with_documents(&w, &[]).is_none());
        assert_eq!(used_documents(&w), ["a", "b", "c"]);
    }

    #[test]
    fn option_sets_merge_into_the_first_kept() {
        let w = workload();
        assert_eq!(option_sets(&w).len(), 2);
        let one = with_option_sets(&w, &[1]).expect("a set");
        assert_eq!(option_sets(&one).len(), 1);
        assert!(one.jobs.iter().all(|j| j.options == w.jobs[1].options));
        assert!(with_option_sets(&w, &[]).is_none());
    }
}
