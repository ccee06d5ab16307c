//! The worker core's owner tree: what the walk of [`crate::census::owners`] visits from the
//! worker's roots (the worker declares its own ownership; the census only knows the walk).

use super::converter::{Converter, ConverterManager, SideMapEntry};
use super::models::Model;
use super::pipeline::{PageImage, Pipeline};
use super::task::ConversionResult;
use super::Worker;
use crate::census::owners::{Owned, OwnerNode, OwnerWalk};

/// The owner tree of a worker.
pub fn owner_tree(worker: &Worker) -> OwnerNode {
    OwnerWalk::new("worker", worker).finish()
}

fn size_of<T>() -> u64 {
    std::mem::size_of::<T>() as u64
}

impl Owned for Worker {
    const TYPE_NAME: &'static str = "Worker";
    fn self_bytes(&self) -> u64 {
        size_of::<Worker>()
    }
    fn visit_children(&self, walk: &mut OwnerWalk) {
        walk.visit("manager", &self.manager);
        if let Some(registry) = &self.worker_managers {
            walk.visit_all("worker_managers", registry.managers());
        }
        walk.visit("retained", &self.retained);
    }
}

impl Owned for ConverterManager {
    const TYPE_NAME: &'static str = "ConverterManager";
    fn self_bytes(&self) -> u64 {
        size_of::<ConverterManager>()
    }
    fn visit_children(&self, walk: &mut OwnerWalk) {
        walk.visit_all("converter_cache", self.converters());
        walk.visit_all("options_side_map", self.side_map.values());
        walk.visit_all("page_image_store", &self.page_image_store);
    }
}

impl Owned for Converter {
    const TYPE_NAME: &'static str = "Converter";
    fn self_bytes(&self) -> u64 {
        size_of::<Converter>() + self.key.capacity() as u64
    }
    fn visit_children(&self, walk: &mut OwnerWalk) {
        walk.visit_all("pipeline_cache", self.pipelines.values());
    }
}

impl Owned for Pipeline {
    const TYPE_NAME: &'static str = "Pipeline";
    fn self_bytes(&self) -> u64 {
        size_of::<Pipeline>()
    }
    fn visit_children(&self, walk: &mut OwnerWalk) {
        walk.visit_all("models", self.models());
    }
}

impl Owned for Model {
    const TYPE_NAME: &'static str = "Model";
    fn self_bytes(&self) -> u64 {
        size_of::<Model>() + self.size_bytes()
    }
}

impl Owned for PageImage {
    const TYPE_NAME: &'static str = "PageImage";
    fn self_bytes(&self) -> u64 {
        size_of::<PageImage>() + self.rgb.capacity() as u64
    }
}

impl Owned for SideMapEntry {
    const TYPE_NAME: &'static str = "SideMapEntry";
    fn self_bytes(&self) -> u64 {
        size_of::<SideMapEntry>() + self.canonical_json.capacity() as u64
    }
}

impl Owned for super::scenarios::RetainedResults {
    const TYPE_NAME: &'static str = "RetainedResults";
    fn self_bytes(&self) -> u64 {
        size_of::<Self>()
    }
    fn visit_children(&self, walk: &mut OwnerWalk) {
        walk.visit_all("results", &self.results);
    }
}

impl Owned for ConversionResult {
    const TYPE_NAME: &'static str = "ConversionResult";
    fn self_bytes(&self) -> u64 {
        let outputs: usize = self.outputs.values().map(String::capacity).sum();
        let chunks: usize = self.chunks.iter().map(String::capacity).sum();
        size_of::<ConversionResult>() + (self.name.capacity() + outputs + chunks) as u64
    }
}
