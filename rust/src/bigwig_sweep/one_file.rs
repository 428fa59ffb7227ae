//! One file's records pooled straight into the pieces, when the file is a track's only
//! replicate on the chromosome.

use super::sink::{pooled, Sink};
use super::{window_blocks, Grid};
use crate::bigwig_file::{BigWigFile, BlockReader, Records};
use crate::Result;

/// Whether a file's records, in the order read, overlap: one starts before the furthest
/// end read yet (records out of order count too).
#[derive(Default)]
struct Overlaps {
    reach: u64,
    found: bool,
}

impl Overlaps {
    /// Note the record `[start, end)`; empty ones cover nothing.
    #[inline(always)]
    fn see(&mut self, start: u64, end: u64) {
        if start < end {
            self.found |= start < self.reach;
            self.reach = self.reach.max(end);
        }
    }
}

/// One file's records, cut at the chromosome's length, into the sink; for max pooling,
/// noting whether they overlap (their maximum is then that of their per-base sums, which
/// the sink cannot take).
struct Clamped<'s, 'a, const MAX: bool> {
    sink: &'s mut Sink<'a, MAX>,
    length: u64,
    overlaps: Overlaps,
}

impl<const MAX: bool> Records for Clamped<'_, '_, MAX> {
    #[inline]
    fn record(&mut self, start: u64, end: u64, value: f32) {
        let end = end.min(self.length);
        if MAX {
            self.overlaps.see(start, end);
        }
        self.sink.add(start, end, pooled(value));
    }

    #[inline]
    fn records(&mut self, records: impl Iterator<Item = (u64, u64, f32)>) {
        let length = self.length;
        let records = records.map(|(start, end, value)| (start, end.min(length), pooled(value)));
        if MAX {
            let overlaps = &mut self.overlaps;
            self.sink
                .add_all(records.inspect(|&(start, end, _)| overlaps.see(start, end)));
        } else {
            self.sink.add_all(records);
        }
    }

    fn per_base(&mut self, start: u64, values: &[u8]) {
        let keep = self
            .length
            .saturating_sub(start)
            .min((values.len() / 4) as u64);
        if keep > 0 {
            if MAX {
                self.overlaps.see(start, start + keep);
            }
            self.sink.add_per_base(start, &values[..keep as usize * 4]);
        }
    }
}

/// Pool one file's records on chromosome `chrom_id` (of `length` bp) straight into the
/// grid's `pieces`. Returns false, part way, when max pooling meets overlapping records.
pub(super) fn pool_file<const MAX: bool>(
    file: &BigWigFile,
    chrom_id: u32,
    length: u64,
    grid: &Grid<'_>,
    pieces: &mut [f32],
) -> Result<bool> {
    let mut sink = Sink::<MAX>::new(&grid.edges, pieces);
    let mut reader = BlockReader::new(file);
    let mut clamped = Clamped {
        sink: &mut sink,
        length,
        overlaps: Overlaps::default(),
    };
    for block in window_blocks(file, chrom_id, grid)? {
        reader.for_each_record(&block, chrom_id, &mut clamped)?;
        if clamped.overlaps.found {
            return Ok(false);
        }
    }
    sink.flush();
    Ok(true)
}
