//! The known leak that `tests/sites_accuracy.rs` and `tests/jemalloc_prof/with_profiler.rs`
//! estimate: blocks of known sizes leaked from known functions (each its own site), after
//! churn that is freed again.

/// (leaking function, blocks, bytes a block): the cases both accuracy tests measure.
pub const CASES: [(&str, usize, usize); 3] = [
    ("leak_small", 200_000, 48),
    ("leak_small", 4_000, 4096),
    ("leak_pages", 4, 4 << 20),
];

/// A leak of `count` blocks of `size` bytes, from its own function (its own site).
#[inline(never)]
pub fn leak_small(count: usize, size: usize, keep: &mut Vec<Vec<u8>>) {
    for _ in 0..count {
        keep.push(vec![1u8; size]);
    }
}

#[inline(never)]
pub fn leak_pages(count: usize, size: usize, keep: &mut Vec<Vec<u8>>) {
    for _ in 0..count {
        keep.push(vec![2u8; size]);
    }
}

/// Churn that is freed again: must not show up as live.
#[inline(never)]
pub fn churn(count: usize) {
    for i in 0..count {
        std::hint::black_box(vec![0u8; 64 + (i % 512)]);
    }
}
