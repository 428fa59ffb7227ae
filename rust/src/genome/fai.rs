//! The samtools `.fai` index of a FASTA: its records, read and written.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// One line of a samtools-style `.fai` index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaiRecord {
    pub name: String,
    /// Bases in the record.
    pub length: u64,
    /// Byte offset of the first base in the file.
    pub offset: u64,
    /// Bases per full line.
    pub line_bases: u64,
    /// Bytes per full line, line terminator included.
    pub line_bytes: u64,
}

impl FaiRecord {
    /// Whether `other` indexes the same bases at the same places: a record of one line
    /// never steps from line to line, so its `line_bytes` does not matter (older crossreg
    /// wrote it without the terminator a last unterminated line lacks; samtools with it).
    pub(super) fn same_layout(&self, other: &FaiRecord) -> bool {
        let one_line = self.length <= self.line_bases;
        (self.name == other.name)
            & (self.length == other.length)
            & (self.offset == other.offset)
            & (self.line_bases == other.line_bases)
            & (one_line || self.line_bytes == other.line_bytes)
    }
}

/// Path of the index that belongs to `fasta`: the FASTA path with `.fai` appended.
pub fn fai_path(fasta: &Path) -> PathBuf {
    let mut p = fasta.as_os_str().to_owned();
    p.push(".fai");
    PathBuf::from(p)
}

/// Parse a `.fai` index file.
pub fn read_fai(path: &Path) -> Result<Vec<FaiRecord>> {
    let text = fs::read_to_string(path).map_err(|e| {
        Error::parse(
            path,
            0,
            format!("cannot be read ({e}); delete the index to have it rebuilt"),
        )
    })?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 5 {
            return Err(Error::parse(
                path,
                i + 1,
                format!(
                    "expected 5 tab-separated fields (name, length, offset, line bases, line \
                     bytes), found {}; delete the index to have it rebuilt",
                    fields.len()
                ),
            ));
        }
        let number = |k: usize| -> Result<u64> {
            fields[k].parse().map_err(|_| {
                Error::parse(
                    path,
                    i + 1,
                    format!(
                        "field {} is '{}', not a whole number; delete the index to have it \
                         rebuilt",
                        k + 1,
                        fields[k]
                    ),
                )
            })
        };
        records.push(FaiRecord {
            name: fields[0].to_string(),
            length: number(1)?,
            offset: number(2)?,
            line_bases: number(3)?,
            line_bytes: number(4)?,
        });
    }
    Ok(records)
}

/// Write `records` as a `.fai` index at `path`, atomically (temporary file, then rename).
pub fn write_fai(path: &Path, records: &[FaiRecord]) -> Result<()> {
    let mut text = String::new();
    for r in records {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            r.name, r.length, r.offset, r.line_bases, r.line_bytes
        ));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::tests::write;
    use crate::genome::Genome;

    #[test]
    fn loads_and_writes_a_samtools_compatible_index() {
        let dir = tempfile::tempdir().unwrap();
        let fa = write(
            dir.path(),
            "g.fa",
            ">chr1 first\nACGT\nACgt\nAC\n>chr2\nNNNN\n>empty\n",
        );
        let g = Genome::load(&fa, false).unwrap();
        assert_eq!(g.names(), ["chr1", "chr2"]); // a record without bases is left out
        assert_eq!(g.lengths(), vec![10, 4]);
        let fai = fs::read_to_string(fai_path(&fa)).unwrap();
        assert_eq!(fai, "chr1\t10\t12\t4\t5\nchr2\t4\t31\t4\t5\n");
        // A second load reads and checks that index.
        assert!(Genome::load(&fa, false).is_ok());
    }
}
