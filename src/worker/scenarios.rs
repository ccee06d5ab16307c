//! The leak scenarios' own state, and what each one reproduces.
//!
//! Each scenario is a real code path of the worker core, switched on per worker:
//! - `unbounded_converter_cache` and `options_side_map` live in the converter manager
//!   ([`super::converter`]);
//! - `page_images` lives in the pipeline (images kept per document) and the manager's store;
//! - `retain_results` and `uncleared_worker_managers` live here, at the worker's level.

use super::converter::{ConverterManager, ManagerCounts};
use super::task::ConversionResult;
use super::{LeakScenario, WorkerSettings};

impl LeakScenario {
    /// What the scenario reproduces, and where the real service had it.
    pub fn description(self) -> &'static str {
        match self {
            LeakScenario::UnboundedConverterCache => {
                "converter cache is a plain map (docling-serve < 0.6): every new option set loads all models again"
            }
            LeakScenario::RetainResults => {
                "finished results are kept by the worker (results store before docling-jobkit 1.9): the document's size per job"
            }
            LeakScenario::UnclearedWorkerManagers => {
                "per-worker converter managers are not reached by the cache clear (docling-jobkit < 1.9): all models of each manager stay"
            }
            LeakScenario::PageImages => "every page image is kept for the document's lifetime and beyond: MBs per page",
            LeakScenario::OptionsSideMap => "the hash -> options side map is never pruned: a little per new option set",
        }
    }
}

/// Results kept after their job ended (`retain_results`): never pruned.
#[derive(Debug, Default)]
pub struct RetainedResults {
    pub(crate) results: Vec<ConversionResult>,
}

impl RetainedResults {
    pub fn keep(&mut self, results: &[ConversionResult]) {
        self.results.extend_from_slice(results);
    }

    pub fn len(&self) -> u64 {
        self.results.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    pub fn text_bytes(&self) -> u64 {
        self.results.iter().map(ConversionResult::text_bytes).sum()
    }
}

/// The per-worker converter managers of `uncleared_worker_managers`.
///
/// As in docling-jobkit before 1.9, each worker generation registers its own converter
/// manager and converts through it, while the cache clear reaches only the orchestrator's
/// shared manager. After a clear the worker starts a fresh manager (its old one looks
/// cleared to it), but the registry still holds the old one with all of its models: each
/// clear cycle leaves one more manager's models behind.
#[derive(Debug)]
pub struct WorkerManagerRegistry {
    managers: Vec<ConverterManager>,
}

impl WorkerManagerRegistry {
    pub fn new(settings: &WorkerSettings) -> WorkerManagerRegistry {
        WorkerManagerRegistry {
            managers: vec![ConverterManager::new(settings)],
        }
    }

    /// The manager the worker converts through (the newest generation's).
    pub fn active(&mut self, settings: &WorkerSettings) -> &mut ConverterManager {
        if self.managers.is_empty() {
            self.managers.push(ConverterManager::new(settings));
        }
        let last = self.managers.len() - 1;
        &mut self.managers[last]
    }

    /// What a clear does to the registry: start a new generation, keeping the old managers.
    pub fn start_generation(&mut self, settings: &WorkerSettings) {
        self.managers.push(ConverterManager::new(settings));
    }

    pub fn managers(&self) -> &[ConverterManager] {
        &self.managers
    }

    /// Sum of every registered manager's counts.
    pub fn counts(&self) -> ManagerCounts {
        self.managers
            .iter()
            .map(ConverterManager::counts)
            .fold(ManagerCounts::default(), |a, c| ManagerCounts {
                converters: a.converters + c.converters,
                pipelines: a.pipelines + c.pipelines,
                models: a.models + c.models,
                model_bytes: a.model_bytes + c.model_bytes,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_described() {
        for scenario in LeakScenario::ALL {
            assert!(!scenario.description().is_empty());
            assert_eq!(LeakScenario::from_name(scenario.as_str()), Some(scenario));
        }
    }
}
