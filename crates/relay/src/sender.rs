//! Delivering one-time codes to the contact on file: by SMTP, or, in
//! development mode only (`--dev`), to a local file.

use std::io::Write;
use std::path::PathBuf;

/// Sends a one-time code to a contact.
pub trait CodeSender: Send + Sync + std::fmt::Debug {
    /// Delivers `code` to `contact` for `purpose` (e.g. "enrollment").
    fn send(&self, contact: &str, purpose: &str, code: &str) -> std::io::Result<()>;
}

/// The development outbox's name inside the data directory.
pub const DEV_OUTBOX_FILE: &str = "dev-outbox.log";

/// DEVELOPMENT ONLY (the relay uses it only with `--dev`): appends `contact<TAB>purpose<TAB>code` lines to
/// `DATA/dev-outbox.log` (mode 0600), so a developer (or a test) can read
/// the code. The relay log says a code was written there, never the code itself.
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
        let mut file = crate::files::append_private(&self.path)?;
        // One write of the whole line: `writeln!` writes each piece on its
        // own, and a reader polling the file (a test waiting for a code) saw
        // a line that had the contact but not yet the code.
        file.write_all(format!("{contact}\t{purpose}\t{code}\n").as_bytes())?;
        tracing::warn!(
            outbox = %self.path.display(),
            purpose,
            "DEVELOPMENT CODE SINK: a one-time code was written to the outbox file instead of being sent"
        );
        Ok(())
    }
}

/// Sends codes by e-mail through an SMTP server. The message says only
/// that this is a Ward sign-in code: never a clinic, a thread or a name.
#[derive(Debug)]
pub struct SmtpSender {
    transport: lettre::SmtpTransport,
    from: lettre::message::Mailbox,
}

impl SmtpSender {
    /// A sender for `config`; the password is read from its environment variable now.
    pub fn new(config: &crate::config::SmtpConfig) -> Result<Self, String> {
        let from = config
            .from
            .parse()
            .map_err(|e| format!("smtp.from {:?} is not an e-mail address: {e}", config.from))?;
        let mut builder = if config.starttls {
            lettre::SmtpTransport::starttls_relay(&config.host)
                .map_err(|e| format!("smtp.host {:?}: {e}", config.host))?
        } else {
            lettre::SmtpTransport::builder_dangerous(&config.host)
        }
        .port(config.port)
        .timeout(Some(std::time::Duration::from_secs(20)));
        if let Some(user) = &config.username {
            let variable = config
                .password_env
                .as_deref()
                .ok_or("smtp.username is set but smtp.password_env is not")?;
            let password = std::env::var(variable)
                .map_err(|_| format!("set {variable} to the SMTP password"))?;
            builder = builder.credentials(
                lettre::transport::smtp::authentication::Credentials::new(user.clone(), password),
            );
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

impl CodeSender for SmtpSender {
    fn send(&self, contact: &str, purpose: &str, code: &str) -> std::io::Result<()> {
        use lettre::Transport;
        let to: lettre::message::Mailbox = contact.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "this relay sends codes by e-mail only, and the contact on file is not an e-mail address",
            )
        })?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject("Your Ward code")
            .body(format!(
                "Your Ward {purpose} code is {code}.\n\nIt expires in a few minutes. If you did not ask for it, you can ignore this message.\n"
            ))
            .map_err(std::io::Error::other)?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(std::io::Error::other)
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
