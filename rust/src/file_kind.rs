//! A file's kind told by its first bytes, read through the handle that then reads it whole:
//! gzip (also bgzip) is recognised, files compressed by other tools and UTF-16 text are
//! refused saying how to convert them, and a leading UTF-8 byte-order mark is dropped.

use std::io::{Cursor, Read};
use std::path::Path;

use crate::{Error, Result};

/// The first bytes of every gzip (and bgzip) file.
pub(crate) const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// The byte-order mark some editors put at the start of a UTF-8 file, dropped on reading.
pub(crate) const UTF8_BOM: &[u8] = &[0xef, 0xbb, 0xbf];

/// The first bytes of files compressed by a tool other than gzip, which are not read
/// (as `crossreg.io.text.OTHER_COMPRESSIONS`).
const OTHER_COMPRESSIONS: [(&[u8], &str); 3] = [
    (b"BZh", "bzip2"),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz"),
    (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
];

/// The byte-order marks that start UTF-16 text (little- and big-endian).
const UTF16_BOMS: [&[u8]; 2] = [&[0xff, 0xfe], &[0xfe, 0xff]];

/// How many of a file's first bytes are looked at to tell its kind.
const HEAD_SIZE: usize = 6;

/// A reader of a whole stream whose first bytes were read to tell its kind: those bytes
/// (less a leading UTF-8 byte-order mark), then the rest.
type Sniffed<R> = std::io::Chain<Cursor<Vec<u8>>, R>;

/// The first [`HEAD_SIZE`] bytes of `reader` (fewer when it ends first) and a reader of
/// all of it, those bytes included but for a leading UTF-8 byte-order mark.
pub(crate) fn sniff<R: Read>(mut reader: R) -> std::io::Result<(Vec<u8>, Sniffed<R>)> {
    let mut head = vec![0u8; HEAD_SIZE];
    let n = read_fully(&mut reader, &mut head)?;
    head.truncate(n);
    let mut start = Cursor::new(head.clone());
    if head.starts_with(UTF8_BOM) {
        start.set_position(UTF8_BOM.len() as u64);
    }
    Ok((head, start.chain(reader)))
}

/// Refuse text starting with `head` that is compressed by another tool than gzip or is
/// UTF-16, saying how to convert it (the messages of `crossreg.io.text`).
pub(crate) fn check_kind(path: &Path, head: &[u8]) -> Result<()> {
    for (magic, tool) in OTHER_COMPRESSIONS {
        if head.starts_with(magic) {
            return Err(Error::parse(
                path,
                0,
                format!(
                    "the file is {tool}-compressed, which crossreg does not read; decompress \
                     it ({tool} -d) or recompress it with gzip or bgzip"
                ),
            ));
        }
    }
    if UTF16_BOMS.iter().any(|bom| head.starts_with(bom)) {
        return Err(Error::parse(
            path,
            0,
            "the file is UTF-16 text, not UTF-8; convert it to UTF-8 (iconv -f utf-16 -t utf-8)",
        ));
    }
    Ok(())
}

/// Read into `buf` until it is full or the reader ends; how many bytes were read.
pub(crate) fn read_fully(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
