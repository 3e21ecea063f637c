//! The one error type: which step failed, why, and how to fix it.

use std::fmt;

/// A step that could not finish.
#[derive(Debug)]
pub struct Failure {
    step: String,
    detail: String,
    fix: Option<String>,
}

impl Failure {
    pub fn new(step: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            step: step.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    /// What the person running the command should do next.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "xtask: {} failed: {}", self.step, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

pub type Result<T = ()> = std::result::Result<T, Failure>;
