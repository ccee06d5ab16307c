//! How numbers and labels print in tables, reports and charts (display only, no statistics).

use crate::analysis::{CauseKind, LeakCall, Pattern};

/// Placeholder for a value that is not there.
pub const MISSING: &str = "-";

/// A MiB value: whole numbers print without decimals (the seed's `1109 MB`), others with one
/// decimal (two below 1 MB).
pub fn mb(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_string();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else if value.abs() < 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

/// Decimals for a column of MiB values: none when every value is whole (logs print whole MB),
/// else one, so that a column reads alike.
pub fn mb_decimals(values: impl IntoIterator<Item = f64>) -> usize {
    if values
        .into_iter()
        .filter(|v| v.is_finite())
        .all(|v| v.fract() == 0.0)
    {
        0
    } else {
        1
    }
}

/// A MiB value with a fixed number of decimals, `-` when absent or not finite.
pub fn mb_fixed(value: Option<f64>, decimals: usize) -> String {
    match value.filter(|v| v.is_finite()) {
        Some(v) => format!("{v:.decimals$}"),
        None => MISSING.to_string(),
    }
}

/// A MiB value with its unit, `-` when absent.
pub fn mb_unit(value: Option<f64>) -> String {
    value.map_or_else(|| MISSING.to_string(), |v| format!("{} MB", mb(v)))
}

/// A signed change with enough precision for small slopes: `+2.35`, `-0.041`, `0`.
pub fn signed(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs();
    let digits = if magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 0.1 {
        2
    } else if magnitude >= 0.001 {
        3
    } else {
        return format!("{value:+.1e}");
    };
    format!("{value:+.digits$}")
}

/// An unsigned number with the same precision rules as [`signed`].
pub fn plain(value: f64) -> String {
    let s = signed(value);
    s.strip_prefix('+').map(str::to_string).unwrap_or(s)
}

/// A value in a series' unit: `+2.35 MB` or `+12 count` (whole counts without decimals).
pub fn with_unit(value: f64, unit: &str) -> String {
    if unit.is_empty() {
        signed(value)
    } else {
        format!("{} {unit}", signed_in(value, unit))
    }
}

/// `signed`, but a whole number of a `count` prints as one (`+2`, not `+2.00`).
pub fn signed_in(value: f64, unit: &str) -> String {
    if unit == "count" && value.is_finite() && value.fract() == 0.0 && value != 0.0 {
        format!("{value:+.0}")
    } else {
        signed(value)
    }
}

/// `plain`, but a whole number of a `count` prints as one (`2`, not `2.00`).
pub fn plain_in(value: f64, unit: &str) -> String {
    let s = signed_in(value, unit);
    s.strip_prefix('+').map(str::to_string).unwrap_or(s)
}

/// A p-value: `<0.001`, `0.042`, `0.61`.
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        MISSING.to_string()
    } else if p < 0.001 {
        "<0.001".to_string()
    } else if p < 0.1 {
        format!("{p:.3}")
    } else {
        format!("{p:.2}")
    }
}

pub fn call(call: LeakCall) -> &'static str {
    match call {
        LeakCall::Leak => "LEAK",
        LeakCall::NoLeak => "no leak",
        LeakCall::Inconclusive => "inconclusive",
        LeakCall::SlowGrowth => "slow growth",
    }
}

pub fn pattern(pattern: Pattern) -> &'static str {
    match pattern {
        Pattern::Plateau => "plateau",
        Pattern::WarmUp => "warm-up then flat",
        Pattern::BoundedStep => "bounded step",
        Pattern::SawtoothFlatFloor => "sawtooth, flat floor",
        Pattern::SawtoothRisingFloor => "sawtooth, rising floor",
        Pattern::Linear => "linear growth",
        Pattern::Stepwise => "stepwise growth",
        Pattern::LateOnset => "late-onset growth",
        Pattern::TooShort => "too short to tell",
    }
}

pub fn cause(kind: CauseKind) -> &'static str {
    match kind {
        CauseKind::LiveGrowth => "live growth",
        CauseKind::Fragmentation => "fragmentation",
        CauseKind::OutsideAllocator => "memory outside the allocator",
        CauseKind::AllocatorRetention => "allocator retention, not a leak",
        CauseKind::None => "nothing grows",
        CauseKind::Unknown => "unknown, allocator layers missing",
    }
}

/// A series name for people: `rss_mb` -> `RSS`, `type:Page` -> `type Page`.
pub fn series_name(series: &str) -> String {
    match series {
        "rss_mb" => "RSS".to_string(),
        "live_mb" => "live".to_string(),
        "resident_mb" => "resident".to_string(),
        "resident_after_purge_mb" => "resident after purge".to_string(),
        "active_mb" => "active".to_string(),
        "peak_rss_mb" => "peak RSS".to_string(),
        "model_mb" => "models".to_string(),
        other => match other.split_once(':') {
            Some((kind, name)) => format!("{kind} {name}"),
            None => other.to_string(),
        },
    }
}

/// Shorten `text` to at most `max_chars` characters, ending with `…` when cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let keep = max_chars.saturating_sub(1);
    let mut out: String = text.chars().take(keep).collect();
    out.push('…');
    out
}

/// A byte count from the manifest, in MiB.
pub fn bytes_mb(bytes: u64) -> String {
    format!(
        "{} MB",
        mb((crate::units::mib(bytes) * 10.0).round() / 10.0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mb_prints_whole_numbers_like_the_seed() {
        assert_eq!(mb(1109.0), "1109");
        assert_eq!(mb(45.25), "45.2");
        assert_eq!(mb(0.5), "0.50");
        assert_eq!(mb(f64::NAN), "-");
        assert_eq!(mb_unit(None), "-");
        assert_eq!(mb_unit(Some(250.0)), "250 MB");
    }

    #[test]
    fn signed_keeps_small_slopes_visible() {
        assert_eq!(signed(2.345), "+2.35");
        assert_eq!(signed(-0.0412), "-0.041");
        assert_eq!(signed(150.4), "+150");
        assert_eq!(signed(0.0), "0");
        assert_eq!(plain(2.5), "2.50");
        assert_eq!(p_value(0.0001), "<0.001");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(series_name("type:Page"), "type Page");
        assert_eq!(with_unit(2.0, "count"), "+2 count");
        assert_eq!(with_unit(2.5, "count"), "+2.50 count");
        assert_eq!(with_unit(2.0, "MB"), "+2.00 MB");
        assert_eq!(plain_in(-1.0, "count"), "-1");
    }
}
