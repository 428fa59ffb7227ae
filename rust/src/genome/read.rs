//! A FASTA file read whole into memory, decompressed when it is gzipped.

use std::fs;
use std::io::Read;
use std::path::Path;

use crate::file_kind::{check_kind, read_fully, GZIP_MAGIC};
use crate::inflate::{self, Content};
use crate::{Error, Result};

/// The bytes of the FASTA at `path`, decompressed when it is gzipped (one or many members,
/// or BGZF: told by its first bytes, not its name), with the size and SHA-256 of the file
/// as stored when `hash` asks and it is compressed (a plain file is hashed as it is
/// scanned), and whether it was compressed. Other compressions (bzip2, xz, zstd) and
/// UTF-16 text are refused saying how to convert them.
pub(super) fn read_fasta(path: &Path, hash: bool) -> Result<(Vec<u8>, Option<Content>, bool)> {
    // opened and read once, front to back, so that a pipe reads as a file does
    let mut file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; inflate::BLOCK_HEAD];
    let n = read_fully(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
    let head = &head[..n];
    check_kind(path, head)?;
    if !head.starts_with(GZIP_MAGIC) {
        let mut data = Vec::new();
        let size = file.metadata().map_or(0, |m| m.len() as usize);
        data.try_reserve_exact(size).map_err(|_| {
            Error::OutOfMemory(format!(
                "{}: its {size} bytes do not fit in this machine's memory",
                path.display()
            ))
        })?;
        data.extend_from_slice(head);
        file.read_to_end(&mut data)
            .map_err(|e| Error::io(path, e))?;
        return Ok((data, None, false));
    }
    let (data, content) = inflate::read_gzip(path, head, file, hash)?;
    check_kind(path, &data[..data.len().min(inflate::BLOCK_HEAD)])?;
    Ok((data, content, true))
}

#[cfg(test)]
mod tests {
    use crate::genome::tests::{peak, write};
    use crate::genome::{build_index, fai_path, Genome};
    use crate::inflate;
    use std::fs;

    #[test]
    fn a_compressed_fasta_loads_as_the_plain_one_holding_its_bases_once() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for (c, lines) in [(0, 100_000), (1, 70_001), (2, 1)] {
            text.push_str(&format!(">c{c} x\r\n"));
            for i in 0..lines {
                text.push_str(["ACGTTGCAac", "NNNNNNNNNN", "ggccttaaTT"][i % 3]);
                text.push_str("ACGTTGCAACGTTGCAACGTTGCA\r\n");
            }
        }
        let plain = write(dir.path(), "g.fa", &text);
        let expected = Genome::load(&plain, false).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        for (name, stored) in [
            ("g.fa.gz", gz.finish().unwrap()),
            ("g.bgz", inflate::bgzf(text.as_bytes(), 65_280)),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, &stored).unwrap();
            peak::reset();
            let g = Genome::load(&path, false).unwrap();
            let peak = peak::bytes();
            assert_eq!(g.names(), expected.names());
            assert_eq!(g.lengths(), vec![3_400_000, 2_380_034, 34]);
            for id in 0..3 {
                assert!(g.sequence(id) == expected.sequence(id), "{name}");
            }
            // the decompressed text, a quarter of it at most unused, and a block's buffer
            // or, for gzip, the compressed file
            let compressed = if name.ends_with(".gz") {
                stored.len()
            } else {
                0
            };
            assert!(
                peak < text.len() * 5 / 4 + compressed + (1 << 20),
                "loading {name} ({} bytes decompressed) peaked at {peak} bytes",
                text.len()
            );
            assert!(!fai_path(&path).exists());
            assert_eq!(build_index(&path).unwrap(), build_index(&plain).unwrap());
        }
    }

    #[test]
    fn a_bgzf_block_claiming_more_than_64_kib_is_refused_before_room_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let mut stored = inflate::bgzf(b">c\nACGT\n", 65_280);
        let first = usize::from(u16::from_le_bytes([stored[16], stored[17]])) + 1;
        stored[first - 4..first].copy_from_slice(&u32::MAX.to_le_bytes()); // its ISIZE
        let path = dir.path().join("g.fa.gz");
        fs::write(&path, &stored).unwrap();
        peak::reset();
        let message = Genome::load(&path, false).err().unwrap().to_string();
        assert!(peak::bytes() < 1 << 20, "{} bytes held", peak::bytes());
        assert!(
            message.contains("a size or CRC that does not match in the block at byte 0"),
            "{message}"
        );
    }
}
