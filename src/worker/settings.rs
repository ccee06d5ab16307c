//! [`WorkerSettings`] from the environment, with docling-serve's variable names.

use std::path::PathBuf;

use super::{LeakScenario, WorkerError, WorkerSettings};

pub const ENV_JOBS_BETWEEN_CACHE_CLEAR: &str = "DOCLING_SERVE_JOBS_BETWEEN_CACHE_CLEAR";
pub const ENV_OPTIONS_CACHE_SIZE: &str = "DOCLING_SERVE_OPTIONS_CACHE_SIZE";
pub const ENV_MAX_JOBS: &str = "DOCLING_SERVE_RQ_MAX_JOBS";
pub const ENV_ARTIFACTS_PATH: &str = "DOCLING_SERVE_ARTIFACTS_PATH";
pub const ENV_SCRATCH_PATH: &str = "DOCLING_SERVE_SCRATCH_PATH";
pub const ENV_MODEL_SCALE: &str = "DOCLING_MEMPROF_MODEL_SCALE";
pub const ENV_LEAK_SCENARIOS: &str = "DOCLING_MEMPROF_LEAK_SCENARIOS";

impl WorkerSettings {
    /// The defaults overridden by the process environment. Unset or empty variables keep their
    /// default; a variable that cannot be used is an error naming it.
    pub fn from_env() -> Result<WorkerSettings, WorkerError> {
        WorkerSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`Self::from_env`], reading variables through `lookup` (for tests and for the runner,
    /// which passes a workload's environment).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<WorkerSettings, WorkerError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut settings = WorkerSettings::default();
        if let Some(v) = get(ENV_JOBS_BETWEEN_CACHE_CLEAR) {
            settings.jobs_between_cache_clear = parse_number(ENV_JOBS_BETWEEN_CACHE_CLEAR, &v)?;
        }
        if let Some(v) = get(ENV_OPTIONS_CACHE_SIZE) {
            settings.options_cache_size = parse_number(ENV_OPTIONS_CACHE_SIZE, &v)?;
        }
        if let Some(v) = get(ENV_MAX_JOBS) {
            settings.max_jobs = parse_number(ENV_MAX_JOBS, &v)?;
        }
        if let Some(v) = get(ENV_ARTIFACTS_PATH) {
            settings.artifacts_path = Some(PathBuf::from(v));
        }
        if let Some(v) = get(ENV_SCRATCH_PATH) {
            settings.scratch_dir = PathBuf::from(v);
        }
        if let Some(v) = get(ENV_MODEL_SCALE) {
            settings.model_scale = v
                .parse()
                .map_err(|_| setting_error(ENV_MODEL_SCALE, &v, "not a number"))?;
        }
        if let Some(v) = get(ENV_LEAK_SCENARIOS) {
            settings.scenarios = parse_scenarios(&v)?;
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Check values that parse but cannot be used.
    pub fn validate(&self) -> Result<(), WorkerError> {
        if self.options_cache_size == 0 {
            return Err(setting_error(
                ENV_OPTIONS_CACHE_SIZE,
                "0",
                "the converter cache needs room for at least one converter",
            ));
        }
        if !(self.model_scale.is_finite() && self.model_scale > 0.0 && self.model_scale <= 16.0) {
            return Err(setting_error(
                ENV_MODEL_SCALE,
                &self.model_scale.to_string(),
                "must be a fraction of the real model sizes in (0, 16]",
            ));
        }
        Ok(())
    }
}

/// Parse a comma-separated list of leak scenario names (duplicates collapse).
pub fn parse_scenarios(text: &str) -> Result<Vec<LeakScenario>, WorkerError> {
    let mut scenarios = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let scenario = LeakScenario::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = LeakScenario::ALL.iter().map(|s| s.as_str()).collect();
            setting_error(
                ENV_LEAK_SCENARIOS,
                text,
                &format!("unknown scenario `{name}` (known: {})", known.join(", ")),
            )
        })?;
        if !scenarios.contains(&scenario) {
            scenarios.push(scenario);
        }
    }
    Ok(scenarios)
}

fn parse_number<T: std::str::FromStr>(variable: &str, value: &str) -> Result<T, WorkerError> {
    value
        .parse()
        .map_err(|_| setting_error(variable, value, "not a non-negative whole number"))
}

fn setting_error(variable: &str, value: &str, message: &str) -> WorkerError {
    WorkerError::Setting {
        variable: variable.into(),
        value: value.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let s = WorkerSettings::from_lookup(lookup(&[])).expect("defaults");
        assert_eq!(s, WorkerSettings::default());
        assert_eq!(s.jobs_between_cache_clear, 3);
        assert_eq!(s.options_cache_size, 2);
    }

    #[test]
    fn variables_are_read() {
        let s = WorkerSettings::from_lookup(lookup(&[
            (ENV_JOBS_BETWEEN_CACHE_CLEAR, "0"),
            (ENV_OPTIONS_CACHE_SIZE, "5"),
            (ENV_MAX_JOBS, "20"),
            (ENV_ARTIFACTS_PATH, "/models"),
            (ENV_MODEL_SCALE, "0.05"),
            (
                ENV_LEAK_SCENARIOS,
                "page_images, retain_results,page_images",
            ),
        ]))
        .expect("parses");
        assert_eq!(s.jobs_between_cache_clear, 0);
        assert_eq!(s.options_cache_size, 5);
        assert_eq!(s.max_jobs, 20);
        assert_eq!(s.artifacts_path, Some(PathBuf::from("/models")));
        assert_eq!(s.model_scale, 0.05);
        assert_eq!(
            s.scenarios,
            vec![LeakScenario::PageImages, LeakScenario::RetainResults]
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            (ENV_JOBS_BETWEEN_CACHE_CLEAR, "three"),
            (ENV_OPTIONS_CACHE_SIZE, "0"),
            (ENV_MAX_JOBS, "-1"),
            (ENV_MODEL_SCALE, "abc"),
            (ENV_MODEL_SCALE, "-0.5"),
            (ENV_LEAK_SCENARIOS, "page_images,leaky"),
        ] {
            let err = WorkerSettings::from_lookup(lookup(&[(var, value)])).unwrap_err();
            assert!(err.to_string().contains(var), "{var}: {err}");
        }
        let err = parse_scenarios("nope").unwrap_err().to_string();
        assert!(
            err.contains("nope") && err.contains("retain_results"),
            "{err}"
        );
    }
}
