//! Text from outside (Okta's answers, Secrets, the API server) made safe before it reaches status, events,
//! logs or a terminal: control characters (ANSI escapes, C1 controls, bidi overrides) are dropped and the
//! length is capped on a character boundary, so whatever a server sends, what we store stays small and
//! cannot repaint a terminal.

/// Status messages: about 1 KiB.
pub(crate) const MESSAGE_BYTES: usize = 1024;
/// Event notes: the events.k8s.io API refuses notes over 1024 bytes.
pub(crate) const EVENT_NOTE_BYTES: usize = 1024;
/// An app's label or name, an error summary from Okta.
pub(crate) const FIELD_BYTES: usize = 256;

const ELLIPSIS: char = '…';

/// Characters that must never be echoed: C0 and C1 controls (ESC starts terminal sequences), DEL, and the
/// Unicode format characters that reorder or hide text (bidi embeddings and isolates, zero-width joiners).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// `text` without unsafe characters (newlines and tabs become spaces, runs of spaces collapse), at most
/// `max_bytes` bytes long; a cut is marked with an ellipsis and falls on a character boundary.
pub(crate) fn clean(text: &str, max_bytes: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_bytes));
    let mut space = false;
    for c in text.chars() {
        let c = match c {
            '\n' | '\r' | '\t' => ' ',
            c if is_unsafe(c) => continue,
            c => c,
        };
        if c == ' ' {
            if space || out.is_empty() {
                continue;
            }
            space = true;
        } else {
            space = false;
        }
        if out.len() + c.len_utf8() > max_bytes {
            return truncate(out, max_bytes);
        }
        out.push(c);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// Cuts `text` so that it and an ellipsis fit in `max_bytes`.
fn truncate(mut text: String, max_bytes: usize) -> String {
    let room = max_bytes.saturating_sub(ELLIPSIS.len_utf8());
    let mut end = room.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    let trimmed = text.trim_end().len();
    text.truncate(trimmed);
    if max_bytes >= ELLIPSIS.len_utf8() {
        text.push(ELLIPSIS);
    }
    text
}

/// A status or condition message: clean and at most [`MESSAGE_BYTES`].
pub(crate) fn message(text: &str) -> String {
    clean(text, MESSAGE_BYTES)
}

/// An error with its causes, each once: kube's `ServiceError: client error (SendRequest)` says a request
/// failed but not why; its source chain does (a timeout, a reset connection). Not cleaned: pass the result
/// to [`clean`] or [`message`] where it goes out.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        source = cause.source();
    }
    text
}

/// A display field from Okta (label, name, errorSummary): clean and at most [`FIELD_BYTES`].
pub(crate) fn field(text: &str) -> String {
    clean(text, FIELD_BYTES)
}

/// A CSV cell: a cell a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, tab or CR) gets a
/// leading apostrophe; cells with commas, quotes or line breaks are quoted (RFC 4180).
pub(crate) fn csv_cell(text: &str) -> String {
    let neutral =
        if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() };
    if neutral.contains([',', '"', '\n', '\r']) { format!("\"{}\"", neutral.replace('"', "\"\"")) } else { neutral }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_told_with_each_of_its_causes_once() {
        let timeout = std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out");
        #[derive(Debug, thiserror::Error)]
        #[error("client error (SendRequest)")]
        struct Send(#[source] std::io::Error);
        #[derive(Debug, thiserror::Error)]
        #[error("ServiceError: {0}")]
        struct Service(#[source] Send);
        let error = Service(Send(timeout));
        assert_eq!(with_causes(&error), "ServiceError: client error (SendRequest): operation timed out");
    }

    #[test]
    fn cleans_controls_and_caps_on_a_character_boundary() {
        let cases: &[(&str, usize, &str)] = &[
            ("plain", 100, "plain"),
            ("\u{1b}[31mred\u{1b}[0m", 100, "[31mred[0m"),
            ("line\none\r\ntwo\tthree", 100, "line one two three"),
            ("a\u{202E}evil\u{2066}b", 100, "aevilb"),
            ("  lead  and trail  ", 100, "lead and trail"),
            ("\u{7f}\u{9b}31m", 100, "31m"),
            ("abcdef", 4, "a…"),
            ("ééé", 5, "é…"),
            ("ééé", 6, "ééé"),
            ("日本語のテキスト", 10, "日本…"),
            ("", 10, ""),
        ];
        for (input, max, want) in cases {
            let got = clean(input, *max);
            assert_eq!(&got, want, "{input:?} at {max}");
            assert!(got.len() <= *max, "{input:?}: {} bytes", got.len());
        }
    }

    #[test]
    fn a_huge_summary_stays_small() {
        let huge = "\u{1b}]0;pwned\u{7}".repeat(200_000);
        let got = message(&huge);
        assert!(got.len() <= MESSAGE_BYTES);
        assert!(!got.contains('\u{1b}') && !got.contains('\u{7}'));
    }

    #[test]
    fn csv_cells_cannot_become_formulas() {
        let cases = [
            ("Salesforce", "Salesforce"),
            ("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("a,b", "\"a,b\""),
            ("two\nlines", "\"two\nlines\""),
            ("cr\rhere", "\"cr\rhere\""),
        ];
        for (input, want) in cases {
            assert_eq!(csv_cell(input), want, "{input:?}");
        }
    }
}
