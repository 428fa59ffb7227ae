//! One sweep over a chromosome's BigWig blocks pools the intervals into the bins of every
//! window on it.
//!
//! The bin edges of all the windows on a chromosome, merged, cut it into pieces that each
//! lie within one bin of every window over them ([`Grid`], built once per chromosome and
//! shared by the tracks). A track's sweep adds each record's `value × overlap` to the piece
//! it falls in (or raises the piece to its value, for max pooling), keeping the current
//! piece in a register, so a record costs one addition however many windows overlap it;
//! then each window's bin is the sum (maximum) of its pieces. Bases outside every interval,
//! and past the chromosome's length in the file, stay 0. Each block is read and
//! decompressed once however much the windows overlap. Replicates are merged into the
//! piecewise-constant per-base average (the mean of the files having the chromosome, in
//! float32 as a per-base loop computes it) before pooling; so are one file's records
//! under max pooling when they overlap, whose per-base sums the maximum is taken of.

mod grid;
mod one_file;
mod replicates;
mod sink;

use crate::bigwig::SumStat;
use crate::bigwig_file::{BigWigFile, Block};
use crate::Result;
pub use grid::Grid;
use one_file::pool_file;
use replicates::merge_replicates;
use sink::Sink;

/// The blocks of `file` on chromosome `chrom_id` that some window of `grid` meets.
fn window_blocks(file: &BigWigFile, chrom_id: u32, grid: &Grid<'_>) -> Result<Vec<Block>> {
    let (first, last) = match (grid.starts.first(), grid.starts.last()) {
        (Some(&f), Some(&l)) => (f, l + grid.span),
        _ => return Ok(Vec::new()),
    };
    let mut blocks = file.blocks(chrom_id, first, last)?;
    blocks.retain(|b| grid.meets(b.start, b.end));
    Ok(blocks)
}

/// Pooled bins of the windows of `grid` on `chrom` from a track's replicate `files`, into
/// `out` (`windows × bins`). Returns false, leaving `out` untouched, when no file has the
/// chromosome.
pub fn pool_chrom(
    files: &[BigWigFile],
    stat: SumStat,
    chrom: &str,
    grid: &Grid<'_>,
    out: &mut [f32],
) -> Result<bool> {
    let present: Vec<(&BigWigFile, u32, u64)> = files
        .iter()
        .filter_map(|f| f.chrom(chrom).map(|c| (f, c.id, c.length)))
        .collect();
    if present.is_empty() {
        return Ok(false);
    }
    let mut pieces = vec![0f32; grid.edges.len()];
    let pool = grid.pool as f32;
    match stat {
        SumStat::Max => {
            pool_pieces::<true>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<true>(&pieces, out, |x| x);
        }
        SumStat::Sum => {
            pool_pieces::<false>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<false>(&pieces, out, |x| x);
        }
        SumStat::Mean => {
            pool_pieces::<false>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<false>(&pieces, out, |x| x / pool);
        }
        SumStat::SumSqrt => {
            pool_pieces::<false>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<false>(&pieces, out, |x| (1.0 + x).sqrt() - 1.0);
        }
        SumStat::MeanSqrt => {
            pool_pieces::<false>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<false>(&pieces, out, |x| (1.0 + x / pool).sqrt() - 1.0);
        }
    }
    Ok(true)
}

/// Pool the records of the files having the chromosome into the grid's `pieces`: one
/// file's straight, several merged into their per-base mean first, as are one file's
/// overlapping records under max pooling (the maximum of their per-base sums).
fn pool_pieces<const MAX: bool>(
    present: &[(&BigWigFile, u32, u64)],
    chrom: &str,
    grid: &Grid<'_>,
    pieces: &mut [f32],
) -> Result<()> {
    if let [(file, id, length)] = present[..] {
        if pool_file::<MAX>(file, id, length, grid, pieces)? {
            return Ok(());
        }
        pieces.fill(0.0);
    }
    let mut sink = Sink::<MAX>::new(&grid.edges, pieces);
    merge_replicates(present, chrom, grid, &mut sink)?;
    sink.flush();
    Ok(())
}
