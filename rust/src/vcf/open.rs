//! What a VCF file's bytes hold: VCF text, plain or in gzip members read in turn (NUL
//! padding between them skipped), or something refused (BCF, an index, another
//! compressor's output); a broken gzip stream reported in Python's words.

use std::io::{BufRead, ErrorKind, Read};
use std::path::Path;

use flate2::bufread::GzDecoder;

use crate::file_kind::{check_kind, GZIP_MAGIC};
use crate::{Error, Result};

/// What a file whose text starts with these bytes is instead of VCF text (BCF, binary
/// VCF, of versions 2 and 1; an index of a VCF), and what to do.
const NOT_VCF: [(&[u8], &str); 4] = [
    (b"BCF\x02", BCF),
    (b"BCF\x04", BCF),
    (
        b"TBI\x01",
        "the file is a tabix index (.tbi), not a VCF; give the VCF it indexes (the .vcf.gz \
         beside it)",
    ),
    (
        b"CSI\x01",
        "the file is a CSI index (.csi), not a VCF; give the VCF it indexes (the .vcf.gz \
         beside it)",
    ),
];

const BCF: &str = "the file is BCF (binary VCF), which crossreg does not read; convert it to \
                   VCF (bcftools view -Oz -o file.vcf.gz file.bcf)";

/// Refuse text starting with `head` that is not VCF text: another compressor's output,
/// UTF-16 ([`check_kind`]), BCF or an index, each saying what to do.
pub(super) fn check_vcf_kind(path: &Path, head: &[u8]) -> Result<()> {
    check_kind(path, head)?;
    match NOT_VCF.iter().find(|(magic, _)| head.starts_with(magic)) {
        Some((_, message)) => Err(Error::parse(path, 0, *message)),
        None => Ok(()),
    }
}

/// The decompressed bytes of every gzip member of a stream in turn; NUL bytes between
/// members (padding some writers add) are skipped, as Python's `gzip` skips them.
pub(super) struct GzipMembers<R: BufRead> {
    decoder: Option<GzDecoder<R>>,
}

impl<R: BufRead> GzipMembers<R> {
    pub(super) fn new(inner: R) -> Self {
        GzipMembers {
            decoder: Some(GzDecoder::new(inner)),
        }
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Some(mut inner) = self.decoder.take().map(GzDecoder::into_inner) else {
                return Ok(0);
            };
            loop {
                let available = inner.fill_buf()?;
                if available.is_empty() {
                    return Ok(0);
                }
                let zeros = available.iter().take_while(|&&b| b == 0).count();
                let more = zeros < available.len();
                inner.consume(zeros);
                if more {
                    break;
                }
            }
            if inner.fill_buf()?[0] != GZIP_MAGIC[0] {
                return Err(not_gzip(&mut inner));
            }
            self.decoder = Some(GzDecoder::new(inner));
        }
    }
}

/// The error for bytes after a gzip member that start no other member, in the words of
/// Python's `gzip` (`Not a gzipped file (b'ga')`, its first two bytes shown), where the
/// decompressor would call them a stream that ended early.
fn not_gzip(inner: &mut impl Read) -> std::io::Error {
    let mut magic = Vec::with_capacity(2);
    let shown = match inner.take(2).read_to_end(&mut magic) {
        Ok(_) => py_bytes_repr(&magic),
        Err(e) => return e,
    };
    std::io::Error::new(
        ErrorKind::InvalidData,
        format!("Not a gzipped file ({shown})"),
    )
}

/// `bytes` as Python's `repr` writes a bytes object (`b'ga'`, `b'\x00\t'`).
fn py_bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut shown = format!("b{quote}");
    for &b in bytes {
        match b {
            b'\\' => shown.push_str("\\\\"),
            b'\t' => shown.push_str("\\t"),
            b'\n' => shown.push_str("\\n"),
            b'\r' => shown.push_str("\\r"),
            _ if char::from(b) == quote => shown.extend(['\\', quote]),
            0x20..=0x7e => shown.push(char::from(b)),
            _ => shown.push_str(&format!("\\x{b:02x}")),
        }
    }
    shown.push(quote);
    shown
}

/// A gzip stream that ended early or does not decompress, after line `line_no`: the
/// message of `crossreg.io.text.numbered_lines`.
pub(super) fn gzip_error(path: &Path, line_no: u64, e: &std::io::Error) -> Error {
    let after = match line_no {
        0 => "before its first line".to_string(),
        n => format!("after line {n}"),
    };
    let detail = if e.kind() == ErrorKind::UnexpectedEof {
        "Compressed file ended before the end-of-stream marker was reached".to_string()
    } else {
        e.to_string()
    };
    Error::parse(
        path,
        0,
        format!(
            "the gzip stream is truncated or corrupt {after} ({detail}); re-download or \
             re-compress it"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcf::{VcfOptions, VcfReader};
    use std::io::Cursor;

    #[test]
    fn gzip_members_and_the_nul_bytes_between_them_read_whole() {
        use std::io::Write;
        let member = |text: &[u8]| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(text).unwrap();
            encoder.finish().unwrap()
        };
        let mut data = member(b"ab");
        data.extend([0, 0, 0]);
        data.extend(member(b""));
        data.extend(member(b"cd"));
        data.extend([0; 5]);
        let mut text = String::new();
        GzipMembers::new(Cursor::new(data.clone()))
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "abcd");
        let mut padded = data.clone();
        data.extend(b"garbage");
        let mut reader = GzipMembers::new(Cursor::new(data));
        let error = reader.read_to_string(&mut String::new()).unwrap_err();
        assert_eq!(error.to_string(), "Not a gzipped file (b'ga')");
        padded.extend(b"\x1f");
        let mut reader = GzipMembers::new(Cursor::new(padded));
        let error = reader.read_to_string(&mut String::new()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "a member cut short");
        assert_eq!(py_bytes_repr(b"\x01'\\"), "b\"\\x01'\\\\\"");
        assert_eq!(py_bytes_repr(b"\t'\""), "b'\\t\\'\"'");
    }

    #[test]
    fn bcf_and_indexes_are_refused_saying_what_to_do() {
        use std::io::Write;
        let bcf = b"BCF\x02\x02\x88\x13\x00\x00##fileformat=VCFv4.2\n".to_vec();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&bcf).unwrap();
        for data in [bcf.clone(), encoder.finish().unwrap()] {
            let opened =
                VcfReader::open_file(Path::new("x.bcf"), Cursor::new(data), VcfOptions::default());
            let message = opened.err().expect("BCF is refused").to_string();
            assert!(
                message.starts_with("x.bcf: the file is BCF (binary VCF)"),
                "{message}"
            );
            assert!(message.contains("bcftools view -Oz"), "{message}");
        }
        let index = Cursor::new(b"TBI\x01\x18\x00\x00\x00".to_vec());
        let opened = VcfReader::open_file(Path::new("x.tbi"), index, VcfOptions::default());
        let message = opened.err().expect("an index is refused").to_string();
        assert!(
            message.starts_with("x.tbi: the file is a tabix index (.tbi), not a VCF"),
            "{message}"
        );
        let text = Cursor::new(b"BCF\tis a chromosome name\n".to_vec());
        assert!(VcfReader::open_file(Path::new("x.vcf"), text, VcfOptions::default()).is_ok());
    }
}
