"""Owner chains of the growing types, at the end of a worker's life (objgraph's backref chains).

For each of the types whose live count grew most between the driver's first and last census,
a few of the newest objects (the last quarter of the type's objects in ``gc`` order after a
full collection: the latest survivors, where a leak's growth is) are sampled and followed up their referrers to a module: the shortest chain that
keeps each alive (objgraph's ``find_backref_chain``). objgraph calls ``gc.get_referrers`` once
per visited object, which on a docling worker's 650,000 objects takes minutes; here the search
goes level by level, one ``gc.get_referrers(*frontier)`` per level, under a deadline.

The chains are merged into the protocol's owner tree (``OwnerNode``: ``name``, ``type_name``,
``count``, ``self_bytes``, ``bytes``, ``children``): a node's count is the type's live count
times the share of the sampled objects whose chain goes through it (an estimate, from
``SAMPLES`` objects), its bytes the objects' shallow ``sys.getsizeof``. Written to the run
folder's ``profile.jsonl`` as the record of the worker's last job, where the analysis finds
the chains of the types its verdict calls a leak.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import types
from typing import Any

from memprof_docling import pycensus

SAMPLES = 8
MAX_DEPTH = 24
TOP_TYPES = 8


def _edge_name(parent: Any, child: Any) -> str:
    """How ``parent`` holds ``child``: a key, an attribute, ``[]`` for a sequence item."""
    if isinstance(parent, dict):
        for key, value in parent.items():
            if value is child:
                return str(key)[:60]
        return "{}"
    if isinstance(parent, (list, tuple, set, frozenset)):
        return "[]"
    attributes = getattr(parent, "__dict__", None)
    if isinstance(attributes, dict):
        for key, value in attributes.items():
            if value is child:
                return str(key)[:60]
    return type(child).__name__


def _paths(targets: list[Any], deadline: float, ignore: set[int]) -> list[list[Any] | None]:
    """For each target, module -> ... -> target, or None when not found in time (containers
    whose ids are in ``ignore`` are the caller's own bookkeeping)."""
    parent_of: dict[int, Any] = {}
    keep: dict[int, Any] = {id(t): t for t in targets}
    modules: dict[int, Any] = {}
    frontier = list(targets)
    ignore = ignore | {id(parent_of), id(keep), id(modules), id(targets)}
    for _ in range(MAX_DEPTH):
        if not frontier or time.monotonic() > deadline:
            break
        ignore.add(id(frontier))
        wanted = {id(o) for o in frontier}
        referrers = gc.get_referrers(*frontier)
        ignore.add(id(referrers))
        following: list[Any] = []
        # a module first: the chain ends there (functions also hold their module's dict)
        referrers.sort(key=lambda r: not isinstance(r, types.ModuleType))
        for r in referrers:
            if id(r) in ignore or id(r) in keep or isinstance(r, types.FrameType):
                continue
            for child in gc.get_referents(r):
                if id(child) in wanted and id(child) not in parent_of:
                    parent_of[id(child)] = r
            keep[id(r)] = r
            if isinstance(r, types.ModuleType):
                modules[id(r)] = r
            else:
                following.append(r)
        del referrers
        frontier = following
    out: list[list[Any] | None] = []
    for t in targets:
        path, node = [t], t
        while id(node) in parent_of and id(node) not in modules and len(path) <= MAX_DEPTH:
            node = parent_of[id(node)]
            path.append(node)
        out.append(list(reversed(path)) if id(node) in modules else None)
    return out


def _links(path: list[Any]) -> list[tuple[str, str]]:
    """(name, type name) per link; a module's ``__dict__`` folds into the module."""
    links = [(path[0].__name__, "module")]
    i = 1
    while i < len(path):
        parent, child = path[i - 1], path[i]
        if isinstance(parent, types.ModuleType) and child is getattr(parent, "__dict__", None):
            if i + 1 < len(path):
                links.append((_edge_name(child, path[i + 1]), type(path[i + 1]).__name__))
            i += 2
            continue
        if child is getattr(parent, "__dict__", None) and i + 1 < len(path):
            # an object's attribute dict folds into the object: `texts`, not `dict -> texts`
            links.append((_edge_name(child, path[i + 1]), type(path[i + 1]).__name__))
            i += 2
            continue
        links.append((_edge_name(parent, child), type(child).__name__))
        i += 1
    return links


def _node(name: str, type_name: str) -> dict[str, Any]:
    return {"name": name, "type_name": type_name, "count": 0, "self_bytes": 0, "bytes": 0,
            "children": []}


def _add(root: dict[str, Any], links: list[tuple[str, str]], count: int, size: int) -> None:
    node = root
    for name, type_name in links:
        child = next((c for c in node["children"]
                      if c["name"] == name and c["type_name"] == type_name), None)
        if child is None:
            child = _node(name, type_name)
            node["children"].append(child)
        child["bytes"] += size
        node = child
    node["count"] += count
    node["self_bytes"] += size


def owner_tree(growing: list[tuple[str, int]], seconds: float, seed: int = 0) -> dict[str, Any]:
    """The owner tree of the ``growing`` types (name, live count), built within ``seconds``."""
    deadline = time.monotonic() + seconds
    names = {name for name, _ in growing[:TOP_TYPES]}
    found: dict[str, list[Any]] = {name: [] for name in names}
    gc.collect()
    own = {id(found)} | {id(v) for v in found.values()}
    for o in gc.get_objects():
        name = type(o).__name__
        if name in found and id(o) not in own:
            found[name].append(o)
    del o
    rng = random.Random(seed)
    samples: dict[str, list[Any]] = {}
    for name in list(found):
        objects = found.pop(name)
        # the newest survivors (gc lists each generation oldest first; after a full collection
        # all are in the oldest): where the growth of a leak is
        newest = objects[-max(4 * SAMPLES, len(objects) // 4):]
        samples[name] = rng.sample(newest, min(SAMPLES, len(newest)))
        del newest
        del objects
    del found
    ignore = {id(samples)} | {id(v) for v in samples.values()}
    root = _node("worker", "process")
    root["count"] = 1
    for name, live in growing[:TOP_TYPES]:
        sample = samples.get(name) or []
        if not sample or time.monotonic() > deadline:
            continue
        # each type gets an equal share of what is left of the time
        left = max(0.0, deadline - time.monotonic())
        share_deadline = time.monotonic() + left / max(1, len(samples))
        for path in _paths(sample, share_deadline, ignore):
            if path is not None:
                share = max(1, round(live / len(sample)))
                _add(root, _links(path), share, share * sys.getsizeof(path[-1]))
        samples.pop(name, None)
    root["bytes"] = sum(c["bytes"] for c in root["children"])
    return root


def growing_types(first: list[dict[str, Any]], last: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Types by live-count growth from ``first`` to ``last`` census (grown ones only)."""
    return [(name, live) for name, _, live in pycensus.growth(first, last)]
