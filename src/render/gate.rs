//! The gate's outputs: a Markdown summary for a CI step summary, a JUnit XML report (one test
//! case per check), and the terminal table. Consumers of [`GateResult`] only.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::analysis::gate::{GateCheck, GateResult};

fn status_word(c: &GateCheck) -> &'static str {
    if c.skipped {
        "skipped"
    } else if c.passed {
        "pass"
    } else {
        "FAIL"
    }
}

fn number(c: &GateCheck, v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.3} {}", c.unit))
}

/// A Markdown summary fit for a CI step summary.
pub fn markdown_summary(result: &GateResult) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "## docling-memprof gate: {}\n\nRun `{}`{}.\n\n",
        if result.passed {
            "passed ✅".to_string()
        } else {
            format!("{} budget(s) broken ❌", result.broken)
        },
        result.run,
        result
            .baseline
            .as_ref()
            .map_or(String::new(), |b| format!(", baseline `{b}`"))
    ));
    out.push_str("| check | result | actual | budget | detail |\n|---|---|---|---|---|\n");
    for c in &result.checks {
        let status = match status_word(c) {
            "FAIL" => "**FAIL**",
            other => other,
        };
        out.push_str(&format!(
            "| {} | {status} | {} | {} | {} |\n",
            c.name,
            number(c, c.actual),
            number(c, c.limit),
            c.message.replace('|', "\\|")
        ));
    }
    let skipped = result.checks.iter().filter(|c| c.skipped).count();
    if skipped > 0 {
        out.push_str(&format!(
            "\n**Warning:** {skipped} budget(s) skipped: the run did not measure them.\n"
        ));
    }
    out.push_str(&format!(
        "\nVerdict: {}\n",
        result.verdict_summary.replace('|', "\\|")
    ));
    out
}

/// The gate as a JUnit XML report: one test case per check.
pub fn junit_xml(result: &GateResult) -> crate::Result<String> {
    let mut report = Report::new("docling-memprof gate");
    let mut suite = TestSuite::new("memory budgets");
    for c in &result.checks {
        let status = if c.skipped {
            let mut s = TestCaseStatus::skipped();
            s.set_message(c.message.clone());
            s
        } else if c.passed {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(c.message.clone()).set_type("budget broken");
            s
        };
        let mut case = TestCase::new(c.name.clone(), status);
        case.set_classname("docling-memprof.gate");
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| crate::Error::Internal(format!("writing JUnit XML: {e}")))
}

/// The gate's checks as a terminal table, and its one-line answer.
pub fn terminal_table(result: &GateResult) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t.set_header(vec!["check", "result", "actual", "budget", "detail"]);
    for c in &result.checks {
        t.add_row(vec![
            c.name.clone(),
            status_word(c).into(),
            number(c, c.actual),
            number(c, c.limit),
            c.message.clone(),
        ]);
    }
    let answer = if result.passed {
        "gate passed: every budget held".to_string()
    } else {
        format!("gate FAILED: {} budget(s) broken", result.broken)
    };
    format!("{t}\n{answer}")
}
