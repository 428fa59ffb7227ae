//! Several replicates merged into their per-base mean before pooling (as are one file's
//! overlapping records under max pooling): each replicate read as disjoint pieces in
//! order, and the replicates swept together.

use super::sink::{pooled, Sink};
use super::{window_blocks, Grid};
use crate::bigwig_file::{BigWigFile, Block, BlockReader, Records};
use crate::Result;

/// The positive records of one block, cut at the chromosome's length.
struct Collected<'r> {
    records: &'r mut Vec<(u64, u64, f32)>,
    length: u64,
}

impl Records for Collected<'_> {
    fn record(&mut self, start: u64, end: u64, value: f32) {
        let end = end.min(self.length);
        if value > 0.0 && end > start {
            self.records.push((start, end, pooled(value)));
        }
    }
}

/// One replicate's values on a chromosome as disjoint positive pieces in ascending order,
/// decoded block by block: records that overlap add up on their common bases (as the
/// one-file sweep sums them), and a block's records may come in any order.
struct Cursor<'a> {
    reader: BlockReader<'a>,
    path: &'a std::path::Path,
    chrom: &'a str,
    chrom_id: u32,
    /// The chromosome's length: records reaching past it are cut there.
    length: u64,
    blocks: std::vec::IntoIter<Block>,
    /// The records of the last block decoded, by start; those before `next` have begun.
    queue: Vec<(u64, u64, f32)>,
    next: usize,
    /// End and value of each begun record that reaches past `pos`.
    active: Vec<(u64, f32)>,
    /// Where the pieces handed out so far end.
    pos: u64,
    /// The current piece, once made.
    piece: Option<(u64, u64, f32)>,
}

impl Cursor<'_> {
    /// The current piece `(start, end, value)`, or None after the last.
    fn peek(&mut self) -> Result<Option<(u64, u64, f32)>> {
        if self.piece.is_none() {
            self.piece = self.next_piece()?;
        }
        Ok(self.piece)
    }

    /// Move past the current piece.
    fn advance(&mut self) {
        self.piece = None;
    }

    /// Decode blocks until a record is waiting in `queue`; false when no block is left.
    fn refill(&mut self) -> Result<bool> {
        while self.next == self.queue.len() {
            let Some(block) = self.blocks.next() else {
                return Ok(false);
            };
            self.queue.clear();
            self.next = 0;
            let mut collected = Collected {
                records: &mut self.queue,
                length: self.length,
            };
            self.reader
                .for_each_record(&block, self.chrom_id, &mut collected)?;
            self.queue.sort_unstable_by_key(|r| r.0);
            if let Some(&(start, _, _)) = self.queue.first().filter(|r| r.0 < self.pos) {
                return Err(crate::Error::Invalid(format!(
                    "{}: on {}, a data block starts at {start} after records up to {} were \
                     read: its records are out of order across blocks, which the per-base \
                     merge (of replicates, or of overlapping records for max pooling) cannot \
                     follow; rewrite it in order (bigWigToBedGraph, sort -k1,1 -k2,2n, \
                     bedGraphToBigWig)",
                    self.path.display(),
                    self.chrom,
                    self.pos
                )));
            }
        }
        Ok(true)
    }

    /// The piece after `pos`: from `pos` (or the next record's start, where nothing
    /// covers `pos`) to the first base where a record begins or ends.
    fn next_piece(&mut self) -> Result<Option<(u64, u64, f32)>> {
        let pos = self.pos;
        self.active.retain(|&(end, _)| end > pos);
        let mut more = self.refill()?;
        if self.active.is_empty() {
            if !more {
                return Ok(None);
            }
            self.pos = self.queue[self.next].0;
        }
        while more && self.queue[self.next].0 <= self.pos {
            let (_, end, value) = self.queue[self.next];
            self.active.push((end, value));
            self.next += 1;
            more = self.refill()?;
        }
        let (start, mut end, mut value) = (self.pos, u64::MAX, 0f32);
        for &(e, v) in &self.active {
            end = end.min(e);
            value += v;
        }
        if more {
            end = end.min(self.queue[self.next].0);
        }
        self.pos = end;
        Ok(Some((start, end, value)))
    }
}

/// Pool the per-base mean of several replicates: the sweep cuts the chromosome where any
/// replicate's interval starts or ends and pools each piece with its mean value.
pub(super) fn merge_replicates<const MAX: bool>(
    present: &[(&BigWigFile, u32, u64)],
    chrom: &str,
    grid: &Grid<'_>,
    sink: &mut Sink<'_, MAX>,
) -> Result<()> {
    let mut cursors = present
        .iter()
        .map(|&(file, id, length)| {
            Ok(Cursor {
                reader: BlockReader::new(file),
                path: file.path(),
                chrom,
                chrom_id: id,
                length,
                blocks: window_blocks(file, id, grid)?.into_iter(),
                queue: Vec::new(),
                next: 0,
                active: Vec::new(),
                pos: 0,
                piece: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let inv = 1.0 / present.len() as f32;
    let mut pos = 0u64;
    loop {
        let (mut next_start, mut end, mut value, mut live, mut covered) =
            (u64::MAX, u64::MAX, 0f32, false, false);
        for c in cursors.iter_mut() {
            while let Some((_, e, _)) = c.peek()? {
                if e > pos {
                    break;
                }
                c.advance();
            }
            if let Some((s, e, v)) = c.peek()? {
                live = true;
                if s <= pos {
                    covered = true;
                    value += v;
                    end = end.min(e);
                } else {
                    next_start = next_start.min(s);
                    end = end.min(s);
                }
            }
        }
        if !live {
            return Ok(());
        }
        if !covered {
            pos = next_start;
            continue;
        }
        sink.add(pos, end, pooled(value * inv));
        pos = end;
    }
}
