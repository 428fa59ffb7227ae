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

/// A hint for an unknown chromosome name: the `chr`-prefix mismatch users hit most
/// (`1` vs `chr1`), or a case-only difference.
pub fn chrom_hint<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.into_iter().collect();
    let prefixed = format!("chr{name}");
    if known.contains(&prefixed.as_str()) {
        return format!(
            "; did you mean '{prefixed}'? The names here carry the 'chr' prefix: rename the \
             chromosomes of one file to match the other"
        );
    }
    if let Some(stripped) = name.strip_prefix("chr") {
        if known.contains(&stripped) {
            return format!(
                "; did you mean '{stripped}'? The names here have no 'chr' prefix: rename the \
                 chromosomes of one file to match the other"
            );
        }
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
    fn parse_error_shows_file_and_line() {
        let e = Error::parse(Path::new("a.fa"), 3, "bad");
        assert_eq!(e.to_string(), "a.fa:3: bad");
        let e = Error::parse(Path::new("a.fa"), 0, "bad");
        assert_eq!(e.to_string(), "a.fa: bad");
    }
}
