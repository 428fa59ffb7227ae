//! A file's SHA-256 taken while it is read for another purpose: the content identity
//! (`crossreg.io.identity.content_identity`: size and SHA-256 of the file's bytes) of an
//! input that a run reads whole anyway, without a second read of the file: as it streams
//! past ([`HashingReader`]) or just behind another pass over it in memory ([`Following`]).

use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};

/// The bytes read so far through a [`HashingReader`]: how many, their SHA-256, and
/// whether the reader reached the end of its source.
#[derive(Default)]
struct Running {
    size: u64,
    hasher: Sha256,
    ended: bool,
}

/// The digest a [`HashingReader`] feeds, read by its owner once the reading is done.
#[derive(Clone, Default)]
pub struct ContentDigest(Arc<Mutex<Running>>);

impl ContentDigest {
    fn lock(&self) -> MutexGuard<'_, Running> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The size and lowercase hex SHA-256 of every byte of the source, once its reader
    /// has reached its end; `None` before.
    pub fn finished(&self) -> Option<(u64, String)> {
        let running = self.lock();
        running.ended.then(|| {
            let digest = running.hasher.clone().finalize();
            (running.size, hex(&digest))
        })
    }
}

/// The SHA-256 of a buffer that another pass reads front to back, taken a block at a
/// time just after that pass has read it, while the block is still in the cache (not
/// streamed from memory a second time, nor read from the file again).
#[derive(Default)]
pub struct Following {
    hasher: Sha256,
    done: usize,
}

impl Following {
    /// Hash `data[..upto]` (the part not hashed yet).
    pub fn advance(&mut self, data: &[u8], upto: usize) {
        self.hasher.update(&data[self.done..upto]);
        self.done = upto;
    }

    /// The size and lowercase hex SHA-256 of the whole of `data`, the rest hashed now.
    pub fn finish(mut self, data: &[u8]) -> (u64, String) {
        self.advance(data, data.len());
        (data.len() as u64, hex(&self.hasher.finalize()))
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `inner`'s bytes, each one hashed into a [`ContentDigest`] as it passes.
pub struct HashingReader<R> {
    inner: R,
    digest: ContentDigest,
}

impl<R: Read> HashingReader<R> {
    /// A reader of `inner` and the digest it feeds.
    pub fn new(inner: R) -> (Self, ContentDigest) {
        let digest = ContentDigest::default();
        let reader = HashingReader {
            inner,
            digest: digest.clone(),
        };
        (reader, digest)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut running = self.digest.lock();
        if n == 0 && !buf.is_empty() {
            running.ended = true;
        }
        running.size += n as u64;
        running.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn hashes_every_byte_once_read_to_the_end() {
        let data = b"abc".repeat(50_000);
        let (mut reader, digest) = HashingReader::new(Cursor::new(data.clone()));
        let mut first = [0u8; 7];
        reader.read_exact(&mut first).unwrap();
        assert!(digest.finished().is_none());
        reader.read_to_end(&mut Vec::new()).unwrap();
        let (size, hex) = digest.finished().unwrap();
        assert_eq!(size, data.len() as u64);
        let expected: String = Sha256::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, expected);
        let (_, empty) = {
            let (mut reader, digest) = HashingReader::new(Cursor::new(Vec::new()));
            reader.read_to_end(&mut Vec::new()).unwrap();
            digest.finished().unwrap()
        };
        assert_eq!(
            empty,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn following_a_pass_block_by_block_hashes_the_whole() {
        let data = b"acgt".repeat(300_000);
        let expected: String = Sha256::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut following = Following::default();
        for upto in (0..data.len()).step_by(65_537) {
            following.advance(&data, upto);
        }
        assert_eq!(following.finish(&data), (data.len() as u64, expected));
        assert_eq!(
            Following::default().finish(b"").1,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
