//! FASTA bytes checked line by line for the layout an index needs, and indexed.

use std::collections::HashMap;
use std::path::Path;

use super::fai::FaiRecord;
use super::read::read_fasta;
use crate::digest::Following;
use crate::inflate::Content;
use crate::{Error, Result};

/// The first 4 bytes of a UCSC .2bit file, as written on either byte order.
const TWO_BIT_MAGIC: [[u8; 4]; 2] = [[0x43, 0x27, 0x41, 0x1a], [0x1a, 0x41, 0x27, 0x43]];

/// The index of FASTA bytes, checking the line layout an index needs (equal line lengths
/// inside each record, except its last line). Records without bases are left out.
///
/// `data` is only read, so that another thread may hash it meanwhile; [`compact`] then
/// moves the bases to its front.
///
/// `scanned` is told how far it has read every megabyte or so.
fn scan_fasta(path: &Path, data: &[u8], mut scanned: impl FnMut(usize)) -> Result<Vec<FaiRecord>> {
    let mut index: Vec<FaiRecord> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // State of the record being read: line length seen so far and whether a short
    // (final) line has already appeared.
    let mut short_line_at: Option<usize> = None;
    // whether that line had as many bases as the lines before it, but another line ending
    let mut ending_differs = false;
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(Error::parse(
            path,
            1,
            "the file starts with a UTF-8 byte-order mark, which a FASTA cannot hold (samtools \
             refuses it too); remove it (e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`)",
        ));
    }
    if TWO_BIT_MAGIC.iter().any(|magic| data.starts_with(magic)) {
        return Err(Error::parse(
            path,
            0,
            "is a UCSC .2bit file, not a FASTA; convert it with twoBitToFa (twoBitToFa \
             FILE.2bit FILE.fa) and give the FASTA",
        ));
    }
    let mut pos = 0usize;
    let mut reported = 0usize;
    let mut line_no = 0usize;
    while pos < data.len() {
        line_no += 1;
        let end = memchr_newline(&data[pos..]).map_or(data.len(), |k| pos + k);
        let next = (end + 1).min(data.len());
        let mut line = &data[pos..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        // a last line without its terminator counts one, as samtools counts it
        let line_bytes = (next - pos) as u64 + u64::from(end == data.len());
        if line.first() == Some(&b'>') {
            if line.contains(&b'\r') {
                return Err(Error::parse(
                    path,
                    line_no,
                    "a header line holds a carriage return: the file ends its lines with CR \
                     alone (old Mac); convert them to LF (e.g. `mac2unix`)",
                ));
            }
            let Ok(header) = std::str::from_utf8(&line[1..]) else {
                let shown = String::from_utf8_lossy(&line[1..]);
                return Err(Error::parse(
                    path,
                    line_no,
                    format!(
                        "the header '>{shown}' is not UTF-8 text (each byte that is not is \
                         shown as '\u{fffd}'), so no BED, VCF or BigWig could name its \
                         sequence; rename it, or convert the file to UTF-8 (iconv -f latin1 \
                         -t utf-8)"
                    ),
                ));
            };
            let name = header.split_whitespace().next().unwrap_or("").to_string();
            if name.is_empty() {
                return Err(Error::parse(path, line_no, "a '>' header line has no name"));
            }
            if let Some(&first) = seen.get(&name) {
                return Err(Error::parse(
                    path,
                    line_no,
                    format!(
                        "sequence name '{name}' appears twice (first as record {}); names must \
                         be unique",
                        first + 1
                    ),
                ));
            }
            seen.insert(name.clone(), index.len());
            index.push(FaiRecord {
                name,
                length: 0,
                offset: next as u64,
                line_bases: 0,
                line_bytes: 0,
            });
            short_line_at = None;
            ending_differs = false;
        } else if line.is_empty() {
            // Blank lines are allowed only where no more sequence follows in the record.
            if !index.is_empty() && short_line_at.is_none() {
                short_line_at = Some(line_no);
            }
        } else {
            let Some(rec) = index.last_mut() else {
                return Err(Error::parse(
                    path,
                    line_no,
                    "sequence data before the first '>' header; is this a FASTA file?",
                ));
            };
            if let Some(at) = short_line_at {
                let message = if ending_differs {
                    format!(
                        "record '{}' mixes line endings (line {at} ends differently from the \
                         lines before it, CRLF against LF, but more sequence follows); convert \
                         the file's line endings to one kind (e.g. `dos2unix`)",
                        rec.name
                    )
                } else {
                    format!(
                        "record '{}' has lines of different lengths (line {at} is shorter than \
                         the lines before it, but more sequence follows); rewrap the FASTA \
                         with equal line lengths (e.g. `seqkit seq -w 60`)",
                        rec.name
                    )
                };
                return Err(Error::parse(path, line_no, message));
            }
            // checked whole (no early exit, which vectorises); searched only when wrong
            let all_bases = line.iter().fold(true, |ok, &b| ok & is_sequence_byte(b));
            if let Some(col) = (!all_bases)
                .then(|| line.iter().position(|&b| !is_sequence_byte(b)))
                .flatten()
            {
                return Err(Error::parse(
                    path,
                    line_no,
                    format!(
                        "record '{}' has {} at column {}, which is not a base; sequence lines \
                         hold letters only (IUPAC codes, N for unknown bases)",
                        rec.name,
                        describe_byte(line[col]),
                        col + 1
                    ),
                ));
            }
            let n = line.len() as u64;
            if rec.line_bases == 0 {
                rec.line_bases = n;
                rec.line_bytes = line_bytes;
            } else if n > rec.line_bases {
                return Err(Error::parse(
                    path,
                    line_no,
                    format!(
                        "record '{}' has a line of {n} bases after lines of {}; rewrap the \
                         FASTA with equal line lengths (e.g. `seqkit seq -w 60`)",
                        rec.name, rec.line_bases
                    ),
                ));
            } else if n < rec.line_bases || line_bytes != rec.line_bytes {
                short_line_at = Some(line_no);
                ending_differs = n == rec.line_bases;
            }
            rec.length += n;
        }
        pos = next;
        if pos - reported >= 1 << 20 {
            scanned(pos);
            reported = pos;
        }
    }
    // a record without bases is left out, as samtools leaves it out of its index
    index.retain(|record| record.length > 0);
    Ok(index)
}

/// A byte a sequence line may hold: a letter (any IUPAC code, either case; what is not
/// A, C, G or T counts as N), or the gap and stop symbols `-` and `*`.
fn is_sequence_byte(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 26) | (b == b'-') | (b == b'*')
}

/// A byte as a message shows it: `'x'` when printable, else its name or hex code.
fn describe_byte(b: u8) -> String {
    match b {
        b'\t' => "a tab".to_string(),
        b' ' => "a space".to_string(),
        0x21..=0x7e => format!("'{}'", b as char),
        _ => format!("the byte 0x{b:02X}"),
    }
}

fn memchr_newline(haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == b'\n')
}

/// Compute the `.fai` index of a FASTA file (plain, gzip or BGZF, read as
/// [`super::Genome::load`] reads it; the offsets are those of the decompressed text).
pub fn build_index(path: &Path) -> Result<Vec<FaiRecord>> {
    let (data, _, _) = read_fasta(path, false)?;
    scan_fasta(path, &data, |_| {})
}

/// The index of the FASTA bytes `data` ([`scan_fasta`]) and, with `hash`, their size and
/// SHA-256, each megabyte hashed as soon as it is scanned, while it is in the cache.
pub(super) fn scan_and_hash(
    path: &Path,
    data: &[u8],
    hash: bool,
) -> Result<(Vec<FaiRecord>, Option<Content>)> {
    if !hash {
        return Ok((scan_fasta(path, data, |_| {})?, None));
    }
    let mut following = Following::default();
    let index = scan_fasta(path, data, |upto| following.advance(data, upto))?;
    Ok((index, Some(following.finish(data))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::tests::write;
    use crate::genome::{fai_path, Genome};
    use std::fs;

    #[test]
    fn a_two_bit_file_is_named_as_such_on_either_byte_order() {
        let dir = tempfile::tempdir().unwrap();
        for magic in TWO_BIT_MAGIC {
            let path = dir.path().join("g.fa");
            std::fs::write(&path, [&magic[..], &[0u8; 12]].concat()).unwrap();
            let err = Genome::load(&path, false).err().unwrap().to_string();
            let expected = format!("{}: is a UCSC .2bit file, not a FASTA", path.display());
            assert!(err.starts_with(&expected), "{err}");
        }
    }

    #[test]
    fn line_endings_a_fasta_cannot_have_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                ">chr1\rACGT\r>chr2\rGG\r",
                ":1: a header line holds a carriage return",
            ),
            (
                "\u{feff}>chr1\nACGT\n",
                ":1: the file starts with a UTF-8 byte-order mark",
            ),
            (
                ">c\nACGT\r\nACGT\nAC\n",
                "mixes line endings (line 3 ends differently",
            ),
            (
                ">c\nACGT\nAC\nACGT\n",
                "line 3 is shorter than the lines before it",
            ),
        ];
        for (text, expected) in cases {
            let fa = write(dir.path(), "g.fa", text);
            let err = build_index(&fa).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn an_unterminated_last_line_is_indexed_as_samtools_does() {
        // samtools faidx writes `c2 2 13 2 3` and `a 4 4 4 5`: the missing newline counted
        let dir = tempfile::tempdir().unwrap();
        let fa = write(dir.path(), "g.fa", ">c1\nACGT\n>c2\nAC");
        let idx = build_index(&fa).unwrap();
        assert_eq!(
            (idx[1].offset, idx[1].line_bases, idx[1].line_bytes),
            (13, 2, 3)
        );
        let crlf = write(dir.path(), "crlf.fa", ">a\r\nACGT");
        assert_eq!(build_index(&crlf).unwrap()[0].line_bytes, 5);
        // samtools' index beside it is accepted, and so is one older crossreg wrote
        for old in [
            "c1\t4\t4\t4\t5\nc2\t2\t13\t2\t3\n",
            "c1\t4\t4\t4\t5\nc2\t2\t13\t2\t2\n",
        ] {
            fs::write(fai_path(&fa), old).unwrap();
            assert_eq!(
                Genome::load(&fa, false).unwrap().fetch("c2", 0, 2).unwrap(),
                b"AC"
            );
        }
        // a multi-line record whose line width differs is still refused
        let multi = write(dir.path(), "m.fa", ">m\nACG\nT");
        fs::write(fai_path(&multi), "m\t4\t3\t3\t5\n").unwrap();
        assert!(Genome::load(&multi, false).is_err());
    }

    #[test]
    fn crlf_lines_are_indexed_with_their_width() {
        let dir = tempfile::tempdir().unwrap();
        let fa = write(dir.path(), "g.fa", ">a\r\nACG\r\nT\r\n");
        let idx = build_index(&fa).unwrap();
        assert_eq!(idx[0].line_bytes, 5);
        assert_eq!(
            Genome::load(&fa, false).unwrap().fetch("a", 0, 4).unwrap(),
            b"ACGT"
        );
    }
    #[test]
    fn malformed_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (">a\nACG\nA\nACG\n", "a.fa:4:"),
            (">a\nAC\nACGT\n", "a.fa:3:"),
            ("ACGT\n", "a.fa:1:"),
            (">a\nA\n>a\nC\n", "a.fa:3:"),
            (">\nA\n", "a.fa:1:"),
            (
                ">a\nACGTA\tGTAC\n",
                "a.fa:2: record 'a' has a tab at column 6, which is not a base",
            ),
            (">a\nACGT\nAC12\n", "a.fa:3: record 'a' has '1' at column 3"),
            (">a\nACGT \n", "a.fa:2: record 'a' has a space at column 5"),
        ];
        for (text, expect) in cases {
            let fa = write(dir.path(), "a.fa", text);
            let msg = build_index(&fa).unwrap_err().to_string();
            assert!(msg.contains(expect), "{text:?} gave {msg}");
        }
        let latin = dir.path().join("l.fa");
        fs::write(&latin, b">a\nAC\xe9T\n").unwrap();
        let msg = build_index(&latin).unwrap_err().to_string();
        assert!(
            msg.contains("l.fa:2: record 'a' has the byte 0xE9 at column 3"),
            "{msg}"
        );
        let iupac = write(dir.path(), "i.fa", ">a\nACGTNRYKMSWBDHV\nacgtnrykm-*\n");
        assert_eq!(build_index(&iupac).unwrap()[0].length, 26);
        let gz = dir.path().join("z.fa");
        fs::write(&gz, [0x1f, 0x8b, 0, 0]).unwrap();
        let msg = Genome::load(&gz, false).err().unwrap().to_string();
        assert!(
            msg.contains("z.fa: the gzip stream is truncated or corrupt"),
            "{msg}"
        );
        let xz = dir.path().join("x.fa");
        fs::write(&xz, b"\xfd7zXZ\x00rest").unwrap();
        let msg = Genome::load(&xz, false).err().unwrap().to_string();
        assert!(msg.contains("x.fa: the file is xz-compressed"), "{msg}");
    }
}
