//! What the agent prints comes from others: patients write the messages,
//! names, quick-reply labels and file names, and the relay writes ids and
//! error messages. None of it may drive the operator's terminal, so every
//! such field goes through [`escape`] before it is printed.

use std::fmt::Write;

/// How a printed field may be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// One line: a name, a label, an id, an error. Line breaks and tabs are
    /// escaped like every other control character.
    Line,
    /// Free text that may span lines (a message's text): newlines and tabs
    /// are kept, every other control character is escaped.
    Text,
}

/// Characters that reorder or hide text on screen without being control
/// characters: bidirectional embeddings, overrides, isolates and marks,
/// zero-width characters and the Unicode line and paragraph separators.
fn is_format_trick(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// `text` made safe to print on a terminal: every control character (C0,
/// DEL and C1, so ESC and with it every escape sequence) and every
/// character of [`is_format_trick`] is written as a visible `\u{…}`
/// escape, e.g. `ESC[2J` prints as `\u{1b}[2J` and a right-to-left
/// override as `\u{202e}`. With [`Field::Text`], `\n` and `\t` are kept.
/// Everything else is printed as it is.
pub fn escape(text: &str, field: Field) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let kept = field == Field::Text && matches!(c, '\n' | '\t');
        if !kept && (c.is_control() || is_format_trick(c)) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// [`escape`] for a one-line field.
pub fn line(text: &str) -> String {
    escape(text, Field::Line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bidi_tricks_are_escaped_visibly() {
        assert_eq!(line("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(line("invoice\u{202E}fdp.exe"), "invoice\\u{202e}fdp.exe");
        assert_eq!(
            line("\u{2066}x\u{2069}\u{200f}\u{9b}31m\u{7f}\u{7}"),
            "\\u{2066}x\\u{2069}\\u{200f}\\u{9b}31m\\u{7f}\\u{7}"
        );
        // A carriage return could overwrite the line; a line break start a
        // forged one: both escaped in a one-line field.
        assert_eq!(line("Sam\r\nDr Smith"), "Sam\\u{d}\\u{a}Dr Smith");
        assert_eq!(line("tab\there"), "tab\\u{9}here");
        // Multi-line text keeps its line breaks and tabs, nothing else.
        assert_eq!(
            escape("one\n\ttwo\r\u{1b}]0;title\u{7}", Field::Text),
            "one\n\ttwo\\u{d}\\u{1b}]0;title\\u{7}"
        );
        // Ordinary text, accents, emoji and right-to-left scripts are untouched.
        for plain in ["Dana O'Neil", "Zoë — café", "👍 thanks", "שלום", "x\\u{1b}"] {
            assert_eq!(line(plain), plain);
        }
        // Escaping twice changes nothing more.
        let once = line("\u{1b}[31m\u{202e}");
        assert_eq!(line(&once), once);
    }
}
