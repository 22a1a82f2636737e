//! The report: a check's verdict ([`Mark`]), one line of it
//! ([`Check`]), and the whole report as lines or JSON.

use crate::error::{Error, Result};

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Ok,
    /// Works, but worth a look.
    Warn,
    /// Something to fix.
    Fail,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Ok => "✔",
            Mark::Warn => "!",
            Mark::Fail => "✗",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mark::Ok => "ok",
            Mark::Warn => "warn",
            Mark::Fail => "fail",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub mark: Mark,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            mark: Mark::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            mark: Mark::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            mark: Mark::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// `✔ name: detail`, with ` → fix` when there is one.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}: {}", self.mark.symbol(), self.name, self.detail);
        if let Some(fix) = &self.fix {
            line.push_str(" → ");
            line.push_str(fix);
        }
        line
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "check": self.name,
            "status": self.mark.name(),
            "detail": self.detail,
            "fix": self.fix,
        })
    }
}

/// Writes `checks` as lines (or one JSON object with `json`) and says how
/// many failed.
pub fn write(checks: &[Check], json: bool, out: &mut dyn std::io::Write) -> Result<usize> {
    let failed = checks.iter().filter(|c| c.mark == Mark::Fail).count();
    let text = if json {
        let all: Vec<serde_json::Value> = checks.iter().map(Check::json).collect();
        let report = serde_json::json!({ "ok": failed == 0, "checks": all });
        format!("{report}\n")
    } else {
        checks.iter().map(|c| c.line() + "\n").collect()
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write output", e))?;
    Ok(failed)
}
