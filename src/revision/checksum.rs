//! The checksum of a revision file: SHA-256 hex of the content with line
//! endings normalised to `\n` and trailing whitespace removed from every line.
//!
//! Normalisation also drops a leading UTF-8 byte-order mark and the blank
//! lines at the end of the file, so that an editor or a git setting that
//! changes line endings, strips trailing spaces, adds a BOM or adds/removes the
//! final newline does not make an applied revision look modified. Everything
//! else (indentation, blank lines inside the file, comments) counts.

use std::fmt;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// A revision file's content as it was loaded, with its checksum computed on
/// first use.
///
/// Why lazy: every command loads every file, but only the commands that
/// talk to a database (and `upgrade --sql`) need checksums; hashing 5,000
/// files costs `heads` and `history` time for nothing. Keeping the text also
/// lets the runner record the `source` column without reading the file a
/// second time, and guarantees that the recorded source and the checksum
/// come from the same bytes.
#[derive(Clone, Default)]
pub struct FileText {
    raw: String,
    checksum: OnceLock<String>,
}

impl FileText {
    /// Wraps the file's content (as read, BOM and line endings included).
    pub fn new(raw: String) -> FileText {
        FileText {
            raw,
            checksum: OnceLock::new(),
        }
    }

    /// A known checksum without content (tests, hand-built revisions).
    pub fn with_checksum(checksum: impl Into<String>) -> FileText {
        FileText {
            raw: String::new(),
            checksum: OnceLock::from(checksum.into()),
        }
    }

    /// The content as read.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// SHA-256 hex of the normalised content (see [`checksum`]), computed
    /// once.
    pub fn checksum(&self) -> &str {
        self.checksum.get_or_init(|| checksum(&self.raw))
    }

    /// The normalised content (see [`normalise`]): what `_versions.source`
    /// records.
    pub fn normalised(&self) -> String {
        if is_normalised(&self.raw) {
            return self.raw.clone();
        }
        normalise(&self.raw)
    }
}

impl PartialEq for FileText {
    /// Same content means same checksum; only a [`FileText::with_checksum`]
    /// value (no content) compares by its checksum.
    fn eq(&self, other: &FileText) -> bool {
        if self.raw.is_empty() && other.raw.is_empty() {
            self.checksum.get() == other.checksum.get()
        } else {
            self.raw == other.raw
        }
    }
}

impl fmt::Debug for FileText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileText")
            .field("bytes", &self.raw.len())
            .field("checksum", &self.checksum.get())
            .finish()
    }
}

/// SHA-256 hex (lowercase, 64 characters) of the normalised content.
pub fn checksum(content: &str) -> String {
    if is_normalised(content) {
        // The common case (files written by `retort revision` or a tidy
        // editor): hash the content as is, without building a copy.
        return hex::encode(Sha256::digest(content.as_bytes()));
    }
    hex::encode(Sha256::digest(normalise(content).as_bytes()))
}

/// Whether `normalise(content) == content`: no BOM, no `\r`, no trailing
/// whitespace on any line (as `str::trim_end` sees it), and empty or
/// ending with exactly one `\n` after a non-blank line.
fn is_normalised(content: &str) -> bool {
    if content.is_empty() {
        return true;
    }
    let Some(body) = content.strip_suffix('\n') else {
        return false;
    };
    if content.starts_with('\u{feff}') || content.contains('\r') {
        return false;
    }
    let mut last = "";
    for line in body.split('\n') {
        if line.chars().next_back().is_some_and(char::is_whitespace) {
            return false;
        }
        last = line;
    }
    !last.is_empty()
}

/// The text that is hashed: LF line endings, no trailing whitespace on any
/// line, no trailing blank lines, no BOM; every line (the last too) ends
/// with `\n`, and an empty file is the empty string.
pub fn normalise(content: &str) -> String {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let unified = content.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.split('\n').map(str::trim_end).collect();
    let keep = lines
        .iter()
        .rposition(|line| !line.is_empty())
        .map_or(0, |last| last + 1);
    let mut out = String::with_capacity(unified.len());
    for line in &lines[..keep] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normalised_fast_path_agrees_with_normalise() {
        let cases = [
            "",
            "\n",
            "\n\n",
            "a",
            "a\n",
            "a\n\n",
            "a \n",
            "a\t\n",
            "a\u{3000}\n",
            "a\n\nb\n",
            "a\n \nb\n",
            "a\r\n",
            "a\rb\n",
            "\u{feff}a\n",
            "a\nb",
            "a\n  \n",
            " a\n",
            "é\n",
            "x = 1\n\n[y]\nz = 2\n",
            "a\n\u{a0}\n",
        ];
        for case in cases {
            assert_eq!(is_normalised(case), normalise(case) == case, "{case:?}");
            assert_eq!(
                checksum(case),
                hex::encode(Sha256::digest(normalise(case).as_bytes())),
                "{case:?}"
            );
        }
    }

    #[test]
    fn line_endings_do_not_matter() {
        let lf = checksum("a\nb\n");
        assert_eq!(checksum("a\r\nb\r\n"), lf);
        assert_eq!(checksum("a\rb\r"), lf);
    }

    #[test]
    fn trailing_whitespace_blank_lines_and_bom_do_not_matter() {
        let base = checksum("a\nb\n");
        assert_eq!(checksum("a  \nb\t\n"), base);
        assert_eq!(checksum("a\nb"), base);
        assert_eq!(checksum("a\nb\n\n  \n"), base);
        assert_eq!(checksum("\u{feff}a\nb\n"), base);
    }

    #[test]
    fn real_changes_differ() {
        let base = checksum("a\nb\n");
        assert_ne!(checksum("a\nc\n"), base);
        assert_ne!(checksum(" a\nb\n"), base, "leading whitespace counts");
        assert_ne!(checksum("a\n\nb\n"), base, "inner blank lines count");
    }

    #[test]
    fn file_text_hashes_once_and_normalises() {
        let text = FileText::new("a \r\nb\r\n\n".to_string());
        assert_eq!(text.checksum(), checksum("a\nb\n"));
        assert_eq!(text.normalised(), "a\nb\n");
        assert_eq!(text.raw(), "a \r\nb\r\n\n");
        assert_eq!(FileText::with_checksum("abc").checksum(), "abc");
        assert_eq!(text, FileText::new("a \r\nb\r\n\n".to_string()));
        assert_ne!(text, FileText::new("a\n".to_string()));
    }

    #[test]
    fn known_value() {
        // sha256("a\n")
        assert_eq!(
            checksum("a"),
            "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7"
        );
        assert_eq!(checksum("").len(), 64);
    }
}
