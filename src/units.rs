//! Units: the seed's size and duration formatting, and parsing of human sizes (`3GiB`).

/// Bytes in a mebibyte; the seed's `rss=1115MB` is `rss // (1024 * 1024)`.
pub const MIB: f64 = 1024.0 * 1024.0;

/// Format a byte count the way docling-serve's logs do: `N B`, `%.1f KB`, `%.1f MB`, `%.2f GB`.
pub fn format_size(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if b < MIB {
        format!("{:.1} KB", b / 1024.0)
    } else if b < MIB * 1024.0 {
        format!("{:.1} MB", b / MIB)
    } else {
        format!("{:.2} GB", b / (MIB * 1024.0))
    }
}

/// Parse a size printed by [`format_size`] (`442.9 KB`, `12 B`, `1.50 GB`) back to bytes.
pub fn parse_logged_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = text.split_once(' ')?;
    let value: f64 = number.trim().parse().ok()?;
    let factor = match unit.trim() {
        "B" => 1.0,
        "KB" => 1024.0,
        "MB" => MIB,
        "GB" => MIB * 1024.0,
        _ => return None,
    };
    (value.is_finite() && value >= 0.0).then(|| (value * factor).round() as u64)
}

/// Format a duration the way docling-serve's logs do: `N ms`, `%.2fs`, `Xm Y.Ys`, `Xh Ym`.
pub fn format_duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{} ms", (secs * 1000.0).round() as u64)
    } else if secs < 60.0 {
        format!("{secs:.2}s")
    } else if secs < 3600.0 {
        let minutes = (secs / 60.0).floor();
        format!("{}m {:.1}s", minutes as u64, secs - minutes * 60.0)
    } else {
        let hours = (secs / 3600.0).floor();
        let minutes = ((secs - hours * 3600.0) / 60.0).floor();
        format!("{}h {}m", hours as u64, minutes as u64)
    }
}

/// Parse a duration printed by [`format_duration`] back to seconds.
pub fn parse_logged_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix(" ms") {
        return ms.trim().parse::<f64>().ok().map(|v| v / 1000.0);
    }
    if let Some((h, rest)) = text.split_once("h ") {
        let hours: f64 = h.trim().parse().ok()?;
        let minutes: f64 = rest.trim().strip_suffix('m')?.parse().ok()?;
        return Some(hours * 3600.0 + minutes * 60.0);
    }
    if let Some((m, rest)) = text.split_once("m ") {
        let minutes: f64 = m.trim().parse().ok()?;
        let secs: f64 = rest.trim().strip_suffix('s')?.parse().ok()?;
        return Some(minutes * 60.0 + secs);
    }
    text.strip_suffix('s')?.trim().parse().ok()
}

/// Parse a human size for flags and budgets: `3GiB`, `512MiB`, `3G`, `1.5 GB`, `1048576`.
/// Decimal (`KB`, `MB`, `GB`) and binary (`KiB`, `MiB`, `GiB`, `K`, `M`, `G`) units are accepted;
/// the bare letters are binary, as Kubernetes' `Mi`/`Gi` and most tools' `M`/`G`.
pub fn parse_human_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a size (expected a number and a unit, like 3GiB or 512MB)")
    })?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "ki" | "kib" => 1024.0,
        "m" | "mi" | "mib" => MIB,
        "g" | "gi" | "gib" => MIB * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        other => {
            return Err(format!(
                "`{text}`: unknown size unit `{other}` (use B, KiB, MiB, GiB, KB, MB or GB)"
            ))
        }
    };
    let bytes = (value * factor).round();
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(format!("`{text}`: more than the largest size (16 EiB)"));
    }
    Ok(bytes as u64)
}

/// Bytes to mebibytes, for tables and charts.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB
}

/// MiB -> bytes (a logged `rss=1115MB` is MiB), rounded; negative or non-finite values give 0.
pub fn mib_to_bytes(mb: f64) -> u64 {
    if mb.is_finite() && mb > 0.0 {
        (mb * 1024.0 * 1024.0).round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 15): sizes past u64 silently became 16 EiB.
    #[test]
    fn a_size_past_u64_is_refused() {
        assert!(parse_human_size("99999999999999999999GiB").is_err());
        assert!(parse_human_size("1e400").is_err());
        assert_eq!(parse_human_size("2GiB"), Ok(2 * 1024 * 1024 * 1024));
    }

    #[test]
    fn sizes_print_like_the_seed() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(453_530), "442.9 KB");
        assert_eq!(format_size(5 * 1024 * 1024 + 512 * 1024), "5.5 MB");
        assert_eq!(format_size(3 * 1024 * 1024 * 1024), "3.00 GB");
    }

    #[test]
    fn sizes_parse_back() {
        for bytes in [0u64, 17, 453_530, 90_000_000, 5_000_000_000] {
            let printed = format_size(bytes);
            let parsed = parse_logged_size(&printed).expect("parses");
            let tolerance = (bytes as f64 * 0.001).max(1.0) as u64 * 60;
            assert!(
                parsed.abs_diff(bytes) <= tolerance,
                "{bytes} -> {printed} -> {parsed}"
            );
        }
        assert_eq!(parse_logged_size("12 parsecs"), None);
    }

    #[test]
    fn durations_print_like_the_seed_and_parse_back() {
        assert_eq!(format_duration(0.25), "250 ms");
        assert_eq!(format_duration(54.57), "54.57s");
        assert_eq!(format_duration(125.5), "2m 5.5s");
        assert_eq!(format_duration(7322.0), "2h 2m");
        for secs in [0.25, 54.57, 125.5, 7320.0] {
            let back = parse_logged_duration(&format_duration(secs)).expect("parses");
            assert!((back - secs).abs() < 0.06, "{secs} -> {back}");
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(parse_human_size("3GiB"), Ok(3 * 1024 * 1024 * 1024));
        assert_eq!(parse_human_size("512MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_human_size("1.5 GB"), Ok(1_500_000_000));
        assert_eq!(parse_human_size("4096"), Ok(4096));
        assert!(parse_human_size("lots").is_err());
        assert!(parse_human_size("3 parsecs").is_err());
    }
}
