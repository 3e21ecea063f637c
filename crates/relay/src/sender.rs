//! Delivering one-time codes to the contact on file. Pluggable; the default
//! is a development sink (a local file), never to be used in production.

use std::io::Write;
use std::path::PathBuf;

/// Sends a one-time code to a contact.
pub trait CodeSender: Send + Sync + std::fmt::Debug {
    /// Delivers `code` to `contact` for `purpose` (e.g. "enrollment").
    fn send(&self, contact: &str, purpose: &str, code: &str) -> std::io::Result<()>;
}

/// DEVELOPMENT ONLY: appends `contact<TAB>purpose<TAB>code` lines to
/// `DATA/dev-outbox.log`, so a developer (or a test) can read the code. The
/// relay log says a code was written there, never the code itself.
#[derive(Debug)]
pub struct DevFileSink {
    path: PathBuf,
}

impl DevFileSink {
    /// A sink writing to `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }
}

impl CodeSender for DevFileSink {
    fn send(&self, contact: &str, purpose: &str, code: &str) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        writeln!(file, "{contact}\t{purpose}\t{code}")?;
        tracing::warn!(
            outbox = %self.path.display(),
            purpose,
            "DEVELOPMENT CODE SINK: a one-time code was written to the outbox file instead of being sent"
        );
        Ok(())
    }
}

/// Masks a contact for display: `d•••@example.com`, `•••• 4321`.
pub fn mask(contact: &str) -> String {
    if let Some((user, domain)) = contact.split_once('@') {
        let first: String = user.chars().take(1).collect();
        format!("{first}•••@{domain}")
    } else {
        let digits: Vec<char> = contact.chars().filter(char::is_ascii_digit).collect();
        let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
        format!("•••• {tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_email_and_phone() {
        assert_eq!(mask("dana@example.com"), "d•••@example.com");
        assert_eq!(mask("+1 (555) 123-4321"), "•••• 4321");
    }
}
