//! Delta debugging (ddmin, Zeller & Hildebrandt 2002) over an abstract test: given items
//! `0..n` whose full set passes (here: "still leaks"), find a 1-minimal subset that passes —
//! removing any single item of it makes the test fail. The test is a closure, so the search
//! is unit-tested with a mock and `minimize` plugs replays in. Subsets already tested are not
//! tested again.

use std::collections::HashMap;

/// What a search did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DdminStats {
    /// Calls of the test (distinct subsets).
    pub tests: usize,
    /// Subsets asked for again and answered from the cache.
    pub cached: usize,
}

/// Split `items` into `parts` chunks of near-equal size (the first ones one larger).
fn split(items: &[usize], parts: usize) -> Vec<Vec<usize>> {
    let parts = parts.clamp(1, items.len().max(1));
    let (size, extra) = (items.len() / parts, items.len() % parts);
    let mut out = Vec::with_capacity(parts);
    let mut at = 0;
    for i in 0..parts {
        let len = size + usize::from(i < extra);
        out.push(items[at..at + len].to_vec());
        at += len;
    }
    out
}

/// The ddmin search over `0..n`. `test` answers whether a subset (sorted, never empty) still
/// passes; the full set is assumed to pass (the caller tested it). The first error stops the
/// search and is returned.
pub fn ddmin<E>(
    n: usize,
    test: &mut dyn FnMut(&[usize]) -> Result<bool, E>,
) -> Result<(Vec<usize>, DdminStats), E> {
    let mut stats = DdminStats::default();
    let mut cache: HashMap<Vec<usize>, bool> = HashMap::new();
    let mut check = |subset: &[usize], stats: &mut DdminStats| -> Result<bool, E> {
        if let Some(&known) = cache.get(subset) {
            stats.cached += 1;
            return Ok(known);
        }
        stats.tests += 1;
        let passed = test(subset)?;
        cache.insert(subset.to_vec(), passed);
        Ok(passed)
    };
    let mut current: Vec<usize> = (0..n).collect();
    let mut granularity = 2;
    while current.len() >= 2 {
        let chunks = split(&current, granularity);
        let mut reduced = false;
        // Reduce to a subset.
        for chunk in &chunks {
            if check(chunk, &mut stats)? {
                current = chunk.clone();
                granularity = 2;
                reduced = true;
                break;
            }
        }
        // Reduce to a complement (with two chunks the complements are the subsets).
        if !reduced && chunks.len() > 2 {
            for skip in 0..chunks.len() {
                let complement: Vec<usize> = chunks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .flat_map(|(_, c)| c.iter().copied())
                    .collect();
                if check(&complement, &mut stats)? {
                    current = complement;
                    granularity = (granularity - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if granularity >= current.len() {
                break;
            }
            granularity = (granularity * 2).min(current.len());
        }
    }
    Ok((current, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mock oracle: passes when the subset holds every item of `needed`.
    fn needs(needed: &[usize]) -> impl FnMut(&[usize]) -> Result<bool, ()> + '_ {
        move |s: &[usize]| Ok(needed.iter().all(|n| s.contains(n)))
    }

    #[test]
    fn one_culprit_among_many_is_found() {
        let mut calls = Vec::new();
        let mut oracle = |s: &[usize]| -> Result<bool, ()> {
            calls.push(s.to_vec());
            Ok(s.contains(&13))
        };
        let (found, stats) = ddmin(32, &mut oracle).expect("no error");
        assert_eq!(found, [13]);
        // Halving: about 2 log2(32) tests, far fewer than 32.
        assert!(stats.tests <= 10, "{stats:?}");
        assert_eq!(stats.tests, calls.len());
        assert!(calls.iter().all(|c| !c.is_empty()));
    }

    #[test]
    fn two_culprits_apart_are_both_kept() {
        let needed = [2, 9];
        let (found, _) = ddmin(12, &mut needs(&needed)).expect("no error");
        assert_eq!(found, [2, 9]);
    }

    #[test]
    fn the_result_is_one_minimal() {
        // Passes when at least 3 of the items 0..6 are present: every 3-subset is minimal.
        let mut oracle =
            |s: &[usize]| -> Result<bool, ()> { Ok(s.iter().filter(|&&i| i < 6).count() >= 3) };
        let (found, _) = ddmin(10, &mut oracle).expect("no error");
        assert_eq!(found.len(), 3);
        for drop in 0..found.len() {
            let mut smaller = found.clone();
            smaller.remove(drop);
            assert!(!oracle(&smaller).expect("no error"));
        }
    }

    #[test]
    fn everything_needed_stays_everything() {
        let all: Vec<usize> = (0..5).collect();
        let (found, stats) = ddmin(5, &mut needs(&all)).expect("no error");
        assert_eq!(found, all);
        assert!(stats.tests > 0);
    }

    #[test]
    fn a_single_item_needs_no_test() {
        let mut oracle = |_: &[usize]| -> Result<bool, ()> { panic!("not called") };
        let (found, stats) = ddmin(1, &mut oracle).expect("no error");
        assert_eq!((found, stats.tests), (vec![0], 0));
    }

    #[test]
    fn an_error_stops_the_search() {
        let mut n = 0;
        let mut oracle = |_: &[usize]| -> Result<bool, String> {
            n += 1;
            if n == 2 {
                Err("replay failed".into())
            } else {
                Ok(false)
            }
        };
        assert_eq!(ddmin(8, &mut oracle), Err("replay failed".to_string()));
    }

    #[test]
    fn chunks_cover_the_items_in_order() {
        assert_eq!(split(&[1, 2, 3, 4, 5], 2), [vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(split(&[1, 2], 5), [vec![1], vec![2]]);
    }
}
