//! Cache-clear effectiveness, as in the seed's Results: one row per clear (job, memory before,
//! after, freed) and a summary (mean freed, floor growth per cycle).

use super::series::{ClearPoint, Trajectory};
use super::trend;
use super::verdict::ClearSummary;

/// The seed's clear table: one row per clear, in job order.
pub fn clear_table(trajectory: &Trajectory) -> Vec<ClearPoint> {
    let mut rows = trajectory.clears.clone();
    rows.sort_by_key(|c| c.job);
    rows
}

/// Mean freed per clear and the Theil-Sen slope of the after-clear floor per clear cycle.
pub fn clear_summary(trajectory: &Trajectory) -> ClearSummary {
    let rows = clear_table(trajectory);
    let clears = rows.len() as u64;
    let mean_freed_mb = (!rows.is_empty())
        .then(|| rows.iter().map(|c| c.freed_mb).sum::<f64>() / rows.len() as f64);
    let floor_growth_mb_per_cycle = if rows.len() >= 2 {
        let x: Vec<f64> = (0..rows.len()).map(|i| i as f64).collect();
        let y: Vec<f64> = rows.iter().map(|c| c.after_mb).collect();
        if rows.len() == 2 {
            Some(y[1] - y[0])
        } else {
            trend::theil_sen_slope(&x, &y)
        }
    } else {
        None
    };
    ClearSummary {
        clears,
        mean_freed_mb,
        floor_growth_mb_per_cycle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::SourceKind;

    #[test]
    fn seed_table_summary() {
        let table = [
            (3, 1109.0, 859.0),
            (6, 1306.0, 1066.0),
            (9, 1485.0, 1236.0),
            (12, 1690.0, 1448.0),
            (15, 1844.0, 1589.0),
            (18, 1984.0, 1741.0),
        ];
        let trajectory = Trajectory {
            source: SourceKind::Log,
            origin: "test".into(),
            baseline_rss_mb: None,
            baseline_live_mb: None,
            points: vec![],
            clears: table
                .iter()
                .map(|&(job, before_mb, after_mb)| ClearPoint {
                    job,
                    before_mb,
                    after_mb,
                    freed_mb: before_mb - after_mb,
                    live_after_mb: None,
                    live_before_mb: None,
                    resident_after_mb: None,
                    type_counts_after: Default::default(),
                })
                .collect(),
            memory_limit_mb: None,
            unreadable_lines: 0,
        };
        let s = clear_summary(&trajectory);
        assert_eq!(s.clears, 6);
        // (250 + 240 + 249 + 242 + 255 + 243) / 6 = 246.5
        assert!((s.mean_freed_mb.unwrap_or(0.0) - 246.5).abs() < 1e-9);
        let per_cycle = s.floor_growth_mb_per_cycle.unwrap_or(0.0);
        assert!((150.0..=215.0).contains(&per_cycle), "{per_cycle}");
    }
}
