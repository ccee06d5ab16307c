//! `f64`s in [`f64::total_cmp`]'s order, sorted and merged as integers (faster than by the
//! comparison; the same order).

/// `v`'s bits as an integer whose order is [`f64::total_cmp`]'s.
pub fn total_order_bits(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Sort `values` in [`f64::total_cmp`] order (as integers: faster than by the comparison).
pub fn sort_total(values: &mut Vec<f64>) {
    let mut keys: Vec<u64> = values.iter().map(|v| total_order_bits(*v)).collect();
    keys.sort_unstable();
    values.clear();
    values.extend(keys.into_iter().map(|k| {
        let bits = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
        f64::from_bits(bits)
    }));
}

/// The sorted union of two sorted runs ([`f64::total_cmp`] order).
pub fn merge_sorted(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].total_cmp(&b[j]).is_le() {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}
