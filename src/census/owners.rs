//! Owner chains: who keeps the worker's objects alive (objgraph's backref chains).
//!
//! A walk in the spirit of the `allocative` crate starts at the worker and visits what it
//! owns: worker -> converter manager -> converter (cache entry) -> pipeline (pipeline cache
//! entry) -> models; the options side map; the page image store; the second, per-worker
//! managers (`uncleared_worker_managers`); the retained results (`retain_results`). Objects
//! reached by the same field path with the same type are merged into one [`OwnerNode`] with a
//! count, so the tree stays small (tens of nodes) however many objects there are, and can be
//! recorded with every snapshot. [`owner_chains`] reads the paths to one type out of it.
//!
//! Bytes: `self_bytes` is what an object holds itself (its size, its strings, its buffers),
//! `bytes` adds its children: the retained size along the chain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::TypeCount;
use crate::units::format_size;

/// One node of the owner tree: the objects of `type_name` reached through field `name` from
/// the parent node's objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerNode {
    /// The field (or collection) they are reached through; `worker` for the root.
    pub name: String,
    pub type_name: String,
    pub count: u64,
    /// Bytes the objects hold themselves.
    pub self_bytes: u64,
    /// `self_bytes` plus every descendant's: what dropping them would free.
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<OwnerNode>,
}

impl OwnerNode {
    /// Objects of `type_name` anywhere in the tree (count, bytes held by them themselves).
    pub fn reachable(&self, type_name: &str) -> (u64, u64) {
        let own = if self.type_name == type_name {
            (self.count, self.self_bytes)
        } else {
            (0, 0)
        };
        self.children.iter().fold(own, |(c, b), child| {
            let (cc, cb) = child.reachable(type_name);
            (c + cc, b + cb)
        })
    }

    /// Every node, depth first.
    pub fn walk(&self, f: &mut impl FnMut(&OwnerNode)) {
        f(self);
        for child in &self.children {
            child.walk(f);
        }
    }
}

/// One link of an owner chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainLink {
    pub name: String,
    pub type_name: String,
    pub count: u64,
    pub bytes: u64,
}

/// A path from the worker to the objects of one type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerChain {
    /// Root first, the objects of the asked type last.
    pub links: Vec<ChainLink>,
    /// Objects of the type at the end of the chain, and the bytes they retain.
    pub count: u64,
    pub bytes: u64,
}

impl OwnerChain {
    /// `worker (Worker) -> retained (RetainedResults) -> results: 12 x ConversionResult, 1.2 MB`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let last = self.links.len().saturating_sub(1);
        for (i, link) in self.links.iter().enumerate() {
            if i > 0 {
                out.push_str(" -> ");
            }
            if i == last {
                out.push_str(&format!(
                    "{}: {} x {}, {}",
                    link.name,
                    link.count,
                    link.type_name,
                    format_size(link.bytes)
                ));
            } else {
                out.push_str(&format!("{} ({})", link.name, link.type_name));
            }
        }
        out
    }

    /// The object that holds the chain's last link (the last link's parent).
    pub fn holder(&self) -> Option<&ChainLink> {
        self.links
            .len()
            .checked_sub(2)
            .and_then(|i| self.links.get(i))
    }
}

/// Paths from the root to every node of `type_name`, largest retained bytes first.
pub fn owner_chains(root: &OwnerNode, type_name: &str) -> Vec<OwnerChain> {
    fn visit(
        node: &OwnerNode,
        type_name: &str,
        path: &mut Vec<ChainLink>,
        out: &mut Vec<OwnerChain>,
    ) {
        path.push(ChainLink {
            name: node.name.clone(),
            type_name: node.type_name.clone(),
            count: node.count,
            bytes: node.bytes,
        });
        if node.type_name == type_name {
            out.push(OwnerChain {
                links: path.clone(),
                count: node.count,
                bytes: node.bytes,
            });
        }
        for child in &node.children {
            visit(child, type_name, path, out);
        }
        path.pop();
    }
    let mut out = Vec::new();
    visit(root, type_name, &mut Vec::new(), &mut out);
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(b.count.cmp(&a.count)));
    out
}

/// Counted types with more live instances than the walk reached: objects kept alive by
/// something outside the worker's roots (a static, a leaked box, a cycle).
pub fn unreachable(census: &[TypeCount], root: &OwnerNode) -> Vec<TypeCount> {
    census
        .iter()
        .filter_map(|t| {
            let (count, bytes) = root.reachable(&t.type_name);
            (t.live_count > count).then(|| TypeCount {
                type_name: t.type_name.clone(),
                live_count: t.live_count - count,
                live_bytes: t.live_bytes.map(|b| b.saturating_sub(bytes)),
            })
        })
        .collect()
}

/// Builds an [`OwnerNode`] tree, merging objects reached by the same path.
#[derive(Debug)]
pub struct OwnerWalk {
    nodes: Vec<RawNode>,
    stack: Vec<usize>,
}

#[derive(Debug)]
struct RawNode {
    name: &'static str,
    type_name: &'static str,
    count: u64,
    self_bytes: u64,
    children: BTreeMap<(&'static str, &'static str), usize>,
}

/// Something the owner walk can visit.
pub trait Owned {
    const TYPE_NAME: &'static str;
    /// Bytes the object holds itself (its size and its own buffers).
    fn self_bytes(&self) -> u64;
    /// Visit what it owns with [`OwnerWalk::visit`].
    fn visit_children(&self, _walk: &mut OwnerWalk) {}
}

impl OwnerWalk {
    /// A walk whose root is `root` reached as `name`.
    pub fn new<T: Owned>(name: &'static str, root: &T) -> OwnerWalk {
        let mut walk = OwnerWalk {
            nodes: vec![RawNode {
                name,
                type_name: T::TYPE_NAME,
                count: 1,
                self_bytes: root.self_bytes(),
                children: BTreeMap::new(),
            }],
            stack: vec![0],
        };
        root.visit_children(&mut walk);
        walk
    }

    /// Visit one owned object reached through field `name`.
    pub fn visit<T: Owned>(&mut self, name: &'static str, object: &T) {
        let parent = self.stack.last().copied().unwrap_or(0);
        let key = (name, T::TYPE_NAME);
        let index = match self.nodes[parent].children.get(&key) {
            Some(&index) => index,
            None => {
                let index = self.nodes.len();
                self.nodes.push(RawNode {
                    name,
                    type_name: T::TYPE_NAME,
                    count: 0,
                    self_bytes: 0,
                    children: BTreeMap::new(),
                });
                self.nodes[parent].children.insert(key, index);
                index
            }
        };
        self.nodes[index].count += 1;
        self.nodes[index].self_bytes += object.self_bytes();
        self.stack.push(index);
        object.visit_children(self);
        self.stack.pop();
    }

    /// Visit every object of a collection reached through field `name`.
    pub fn visit_all<'a, T: Owned + 'a>(
        &mut self,
        name: &'static str,
        objects: impl IntoIterator<Item = &'a T>,
    ) {
        for object in objects {
            self.visit(name, object);
        }
    }

    pub fn finish(self) -> OwnerNode {
        fn build(nodes: &[RawNode], index: usize) -> OwnerNode {
            let raw = &nodes[index];
            let mut children: Vec<OwnerNode> =
                raw.children.values().map(|&i| build(nodes, i)).collect();
            children.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
            let bytes = raw.self_bytes + children.iter().map(|c| c.bytes).sum::<u64>();
            OwnerNode {
                name: raw.name.to_string(),
                type_name: raw.type_name.to_string(),
                count: raw.count,
                self_bytes: raw.self_bytes,
                bytes,
                children,
            }
        }
        build(&self.nodes, 0)
    }
}
