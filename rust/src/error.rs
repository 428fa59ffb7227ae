//! The one error type of the native core. Every message names the file, record or
//! argument at fault and, where there is one, the fix.

use std::path::{Path, PathBuf};

/// Errors raised by the native core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is malformed at `line` (1-based; 0 = whole file).
    #[error("{}{}: {message}", path.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A chromosome name that the genome does not hold.
    #[error("chromosome '{name}' is not in {source_name}{hint}")]
    UnknownChrom {
        name: String,
        source_name: String,
        hint: String,
    },
    /// An argument outside its domain (shape, range, length mismatch).
    #[error("{0}")]
    Invalid(String),
    /// An output this machine cannot allocate (what was asked for, and its size).
    #[error("{0}")]
    OutOfMemory(String),
}

/// Result alias of the native core.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error tagged with the path it happened on.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A parse error at `line` (1-based) of `path`.
    pub fn parse(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Error::Parse {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

/// The name `is_known` accepts that differs from `name` only by the `chr` prefix
/// (`chr1` for `1`, `1` for `chr1`), the mismatch users hit most; `None` when there is none.
pub fn prefix_twin(name: &str, mut is_known: impl FnMut(&str) -> bool) -> Option<String> {
    let prefixed = format!("chr{name}");
    if is_known(&prefixed) {
        return Some(prefixed);
    }
    name.strip_prefix("chr")
        .filter(|stripped| is_known(stripped))
        .map(str::to_string)
}

/// A hint for an unknown chromosome name: the `chr`-prefix mismatch users hit most
/// (`1` vs `chr1`), or a case-only difference, or else the first names `known` holds.
/// It starts with `"; "` or `" ("`, to follow "chromosome 'x' is not in ...".
pub fn chrom_hint<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.into_iter().collect();
    if let Some(twin) = prefix_twin(name, |n| known.contains(&n)) {
        let names = if twin.len() > name.len() {
            "carry the 'chr' prefix"
        } else {
            "have no 'chr' prefix"
        };
        return format!(
            "; did you mean '{twin}'? The names here {names}: rename the chromosomes of one \
             file to match the other"
        );
    }
    if let Some(other) = known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        return format!("; did you mean '{other}'? (names are case-sensitive)");
    }
    let shown: Vec<&str> = known.iter().take(5).copied().collect();
    let more = if known.len() > 5 { ", ..." } else { "" };
    format!(" (it holds {}{})", shown.join(", "), more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_names_the_chr_prefix_both_ways() {
        assert!(chrom_hint("1", ["chr1", "chr2"]).contains("'chr1'"));
        assert!(chrom_hint("chr1", ["1", "2"]).contains("'1'"));
        assert!(chrom_hint("CHRX", ["chrX"]).contains("case-sensitive"));
        assert!(chrom_hint("chr9", ["chr1"]).contains("it holds chr1"));
    }

    #[test]
    fn hint_wording_is_kept() {
        assert_eq!(
            chrom_hint("1", ["chr1"]),
            "; did you mean 'chr1'? The names here carry the 'chr' prefix: rename the \
             chromosomes of one file to match the other"
        );
        assert_eq!(
            chrom_hint("chr1", ["1"]),
            "; did you mean '1'? The names here have no 'chr' prefix: rename the chromosomes \
             of one file to match the other"
        );
        let many = ["a", "b", "c", "d", "e", "f"];
        assert_eq!(chrom_hint("z", many), " (it holds a, b, c, d, e, ...)");
    }

    #[test]
    fn prefix_twin_finds_the_other_spelling_only() {
        let known = |n: &str| ["chr1", "2"].contains(&n);
        assert_eq!(prefix_twin("1", known).as_deref(), Some("chr1"));
        assert_eq!(prefix_twin("chr2", known).as_deref(), Some("2"));
        assert_eq!(prefix_twin("chr1", known), None);
        assert_eq!(prefix_twin("3", known), None);
        assert_eq!(prefix_twin("CHR1", known), None);
    }

    #[test]
    fn parse_error_shows_file_and_line() {
        let e = Error::parse(Path::new("a.fa"), 3, "bad");
        assert_eq!(e.to_string(), "a.fa:3: bad");
        let e = Error::parse(Path::new("a.fa"), 0, "bad");
        assert_eq!(e.to_string(), "a.fa: bad");
    }
}
