//! The fills and gaps of a net, nested by depth: each checked against the fill or gap it
//! sits in and its earlier siblings, and each fill cut at its gaps into aligned segments.

use super::parser::{Block, NetParser};
use super::{Segment, Strand};
use crate::{Error, Result};

/// An open fill or gap on the nesting stack.
pub(super) enum Frame {
    Fill {
        level: usize,
        /// Alignments to a chromosome outside the sizes: checked, not reported.
        skipped: bool,
        /// A fill UCSC's syntenic net leaves out
        /// ([`super::syntenic::left_out_of_syntenic_net`]).
        non_syntenic: bool,
        t_chrom: u32,
        t_end: u64,
        q_chrom: String,
        q_chrom_id: u32,
        /// Length of the query chromosome (0 when skipped).
        q_size: u64,
        strand: Strand,
        /// End of the fill on the query, in strand coordinates.
        q_end: u64,
        /// Where the next aligned piece starts (end of the last child gap), query in
        /// strand coordinates.
        cursor_t: u64,
        cursor_q: u64,
    },
    Gap {
        level: usize,
        t_start: u64,
        t_end: u64,
        /// End of the last fill nested in the gap so far (its start before any).
        fills_end: u64,
    },
}

impl Frame {
    fn level(&self) -> usize {
        match self {
            Frame::Fill { level, .. } | Frame::Gap { level, .. } => *level,
        }
    }
}

impl NetParser<'_> {
    /// Close every open frame at `level` or deeper, reporting the last piece of each fill.
    pub(super) fn close_to(&mut self, level: usize, emit: &mut impl FnMut(Segment)) {
        while self.stack.last().is_some_and(|f| f.level() >= level) {
            if let Some(Frame::Fill {
                skipped: false,
                non_syntenic,
                t_chrom,
                t_end,
                q_chrom_id,
                strand,
                q_end,
                cursor_t,
                cursor_q,
                ..
            }) = self.stack.pop()
            {
                self.piece(
                    Segment {
                        t_chrom,
                        t_start: cursor_t,
                        t_len: t_end - cursor_t,
                        q_chrom: q_chrom_id,
                        q_start: cursor_q,
                        q_len: q_end - cursor_q,
                        strand,
                    },
                    non_syntenic,
                    emit,
                );
            }
        }
    }

    /// Report an aligned piece of a fill (`non_syntenic`: of a fill the syntenic net leaves
    /// out), unless it aligns nothing.
    fn piece(&mut self, segment: Segment, non_syntenic: bool, emit: &mut impl FnMut(Segment)) {
        if segment.aligned() > 0 {
            self.summary.segments += 1;
            self.summary.aligned_bases += segment.aligned();
            if non_syntenic {
                self.summary.non_syntenic_bases += segment.aligned();
            }
            emit(segment);
        }
    }

    pub(super) fn fill_line(
        &mut self,
        level: usize,
        t_chrom: u32,
        b: &Block<'_>,
        non_syntenic: bool,
        line_no: usize,
        emit: &mut impl FnMut(Segment),
    ) -> Result<()> {
        if level % 2 == 0 {
            return Err(self.error(
                line_no,
                format!(
                    "a 'fill' line indented by {level} spaces; fills sit at odd depths (1, 3, \
                     ...) inside a 'net' or a 'gap'"
                ),
            ));
        }
        self.close_to(level, emit);
        let t_end = b.t_start + b.t_size;
        self.place_fill(level, t_chrom, b.t_start, t_end, line_no)?;
        let (skipped, q_chrom_id, q_size) = match self.query.id(b.q_chrom) {
            Some(id) => {
                let q_size = self.query.sizes()[id as usize];
                self.check_query_end("fill", b, q_size, line_no)?;
                if non_syntenic {
                    self.summary.non_syntenic_fills += 1;
                }
                (false, id, q_size)
            }
            None if self.skip_unknown => {
                self.skipped.insert(b.q_chrom.to_string());
                self.summary.skipped_fills += 1;
                (true, 0, 0)
            }
            None => return Err(self.unknown_chrom(b.q_chrom, self.query, line_no)),
        };
        // a skipped fill's query side is never reported: kept as the empty [0, 0)
        let (q_start, q_len) = if skipped {
            (0, 0)
        } else {
            (to_strand(b.strand, q_size, b.q_start, b.q_size), b.q_size)
        };
        self.stack.push(Frame::Fill {
            level,
            skipped,
            non_syntenic,
            t_chrom,
            t_end,
            q_chrom: b.q_chrom.to_string(),
            q_chrom_id,
            q_size,
            strand: b.strand,
            q_end: q_start + q_len,
            cursor_t: b.t_start,
            cursor_q: q_start,
        });
        Ok(())
    }

    /// Check that the fill `[t_start, t_end)` at `level` lies in its parent (the net's
    /// chromosome or the enclosing gap) after the parent's previous fill, and record it
    /// there: sibling fills follow in target order without overlap, as `chainNet` writes
    /// them, so no alignment is counted twice.
    pub(super) fn place_fill(
        &mut self,
        level: usize,
        t_chrom: u32,
        t_start: u64,
        t_end: u64,
        line_no: usize,
    ) -> Result<()> {
        let name = &self.target.names()[t_chrom as usize];
        let (bounds, fills_end) = if level == 1 {
            (None, &mut self.top_fills_end)
        } else {
            match self.stack.last_mut() {
                Some(Frame::Gap {
                    level: l,
                    t_start: g_start,
                    t_end: g_end,
                    fills_end,
                }) if *l + 1 == level => (Some((*g_start, *g_end)), fills_end),
                _ => {
                    return Err(Error::parse(
                        self.path,
                        line_no,
                        format!(
                            "a 'fill' at depth {level} has no enclosing 'gap' at depth {}",
                            level - 1
                        ),
                    ))
                }
            }
        };
        if let Some((g_start, g_end)) = bounds {
            if t_start < g_start || t_end > g_end {
                return Err(Error::parse(
                    self.path,
                    line_no,
                    format!(
                        "the fill {name}:{t_start}-{t_end} is not inside its gap \
                         {name}:{g_start}-{g_end}; a nested fill lies inside its gap"
                    ),
                ));
            }
        }
        if t_start < *fills_end {
            return Err(Error::parse(
                self.path,
                line_no,
                format!(
                    "the fill {name}:{t_start}-{t_end} starts before the previous fill at depth \
                     {level} ends ({fills_end}); the fills of a net or a gap follow in target \
                     order without overlapping (is part of the net repeated?)"
                ),
            ));
        }
        *fills_end = t_end;
        Ok(())
    }

    /// Stop when the target interval of a fill or gap runs past its chromosome's end.
    pub(super) fn check_target_end(
        &self,
        what: &str,
        b: &Block<'_>,
        t_chrom: u32,
        t_size: u64,
        line_no: usize,
    ) -> Result<()> {
        if end_within(b.t_start, b.t_size, t_size) {
            return Ok(());
        }
        let name = &self.target.names()[t_chrom as usize];
        Err(self.error(
            line_no,
            format!(
                "the {what} {name}:{} runs past the end of {name} ({t_size} bp in genome '{}'); \
                 the net and the sizes come from different assemblies",
                span(b.t_start, b.t_size),
                self.target.genome()
            ),
        ))
    }

    /// Stop when the query interval of a fill or gap runs past its chromosome's end.
    fn check_query_end(
        &self,
        what: &str,
        b: &Block<'_>,
        q_size: u64,
        line_no: usize,
    ) -> Result<()> {
        if end_within(b.q_start, b.q_size, q_size) {
            return Ok(());
        }
        Err(self.error(
            line_no,
            format!(
                "the {what}'s query {}:{} runs past the end of {} ({q_size} bp in genome '{}'); \
                 the net and the sizes come from different assemblies",
                b.q_chrom,
                span(b.q_start, b.q_size),
                b.q_chrom,
                self.query.genome()
            ),
        ))
    }

    pub(super) fn gap_line(
        &mut self,
        level: usize,
        b: &Block<'_>,
        line_no: usize,
        emit: &mut impl FnMut(Segment),
    ) -> Result<()> {
        if level == 0 || level % 2 == 1 {
            return Err(self.error(
                line_no,
                format!(
                    "a 'gap' line indented by {level} spaces; gaps sit at even depths (2, 4, \
                     ...) inside a 'fill'"
                ),
            ));
        }
        self.close_to(level, emit);
        let Some(Frame::Fill {
            level: fill_level,
            skipped,
            non_syntenic,
            t_chrom,
            t_end,
            q_chrom,
            q_chrom_id,
            q_size,
            strand,
            q_end,
            cursor_t,
            cursor_q,
        }) = self.stack.last()
        else {
            return Err(self.error(
                line_no,
                format!(
                    "a 'gap' at depth {level} has no enclosing 'fill' at depth {}",
                    level - 1
                ),
            ));
        };
        if fill_level + 1 != level {
            return Err(self.error(
                line_no,
                format!(
                    "a 'gap' at depth {level} has no enclosing 'fill' at depth {}",
                    level - 1
                ),
            ));
        }
        if b.q_chrom != q_chrom || b.strand != *strand {
            return Err(self.error(
                line_no,
                format!(
                    "the gap is on query {} {} but its fill is on {} {}; a gap lies inside \
                     its fill",
                    b.q_chrom,
                    strand_text(b.strand),
                    q_chrom,
                    strand_text(*strand)
                ),
            ));
        }
        let g_t_end = b.t_start + b.t_size;
        // The gap's query interval in strand coordinates (not checked for skipped fills,
        // whose chromosome length is unknown).
        let (g_q_start, g_q_end) = if *skipped {
            (*cursor_q, *cursor_q)
        } else {
            self.check_query_end("gap", b, *q_size, line_no)?;
            let start = to_strand(*strand, *q_size, b.q_start, b.q_size);
            (start, start + b.q_size)
        };
        if b.t_start < *cursor_t || g_t_end > *t_end || g_q_start < *cursor_q || g_q_end > *q_end {
            // What is left of the fill, in the file's (forward) query coordinates.
            let (left_start, left_end) = match strand {
                Strand::Plus => (*cursor_q, *q_end),
                Strand::Minus => (*q_size - *q_end, *q_size - *cursor_q),
            };
            return Err(self.error(
                line_no,
                format!(
                    "the gap (target {}-{g_t_end}, query {}-{}) is not inside what is left of \
                     its fill after the previous gap (target {cursor_t}-{t_end}, query \
                     {left_start}-{left_end}); gaps lie inside their fill in target order, and \
                     on the minus strand their (forward-strand) query starts decrease",
                    b.t_start,
                    b.q_start,
                    b.q_start + b.q_size,
                ),
            ));
        }
        let non_syntenic = *non_syntenic;
        let piece = (!*skipped).then_some(Segment {
            t_chrom: *t_chrom,
            t_start: *cursor_t,
            t_len: b.t_start - *cursor_t,
            q_chrom: *q_chrom_id,
            q_start: *cursor_q,
            q_len: g_q_start - *cursor_q,
            strand: *strand,
        });
        if let Some(Frame::Fill {
            cursor_t, cursor_q, ..
        }) = self.stack.last_mut()
        {
            *cursor_t = g_t_end;
            *cursor_q = g_q_end;
        }
        if let Some(segment) = piece {
            self.piece(segment, non_syntenic, emit);
        }
        self.stack.push(Frame::Gap {
            level,
            t_start: b.t_start,
            t_end: g_t_end,
            fills_end: b.t_start,
        });
        Ok(())
    }
}

/// Whether `[start, start + len)` ends within `size` (an end beyond `u64` does not).
fn end_within(start: u64, len: u64, size: u64) -> bool {
    start.checked_add(len).is_some_and(|end| end <= size)
}

/// `[start, start + len)` as `start-end`, or `start+len` where the end is beyond `u64`.
fn span(start: u64, len: u64) -> String {
    match start.checked_add(len) {
        Some(end) => format!("{start}-{end}"),
        None => format!("{start}+{len}"),
    }
}

/// Strand coordinate of the start of forward interval `[start, start + len)` on a
/// chromosome of `size` bp: itself on the plus strand, `size − (start + len)` on the minus.
fn to_strand(strand: Strand, size: u64, start: u64, len: u64) -> u64 {
    match strand {
        Strand::Plus => start,
        Strand::Minus => size - (start + len),
    }
}

fn strand_text(strand: Strand) -> &'static str {
    match strand {
        Strand::Plus => "+",
        Strand::Minus => "-",
    }
}

#[cfg(test)]
mod tests {
    use crate::net::tests::{seg, segments};
    use crate::net::Strand;

    #[test]
    fn fills_are_cut_at_their_gaps_at_every_depth() {
        // The nested minus-strand fill covers chrB forward 100-600, strand 59400-59900 of
        // 60000 bp; its gap at forward 450-500 is strand 59500-59550: target 3200-3300
        // pairs with forward 500-600 and target 3400-3700 with forward 100-450.
        let text = "net chr1 100000\n fill 1000 9000 chrA + 500 9100 id 1 score 5 ali 8000\n  \
                    gap 3000 1000 chrA + 2500 1100 tN 0\n   fill 3200 500 chrB - 100 500 id 2\n    \
                    gap 3300 100 chrB - 450 50\n  gap 8000 500 chrA + 7600 500\n";
        let (segs, summary) = segments(text, false).unwrap();
        assert_eq!(
            segs,
            vec![
                seg(1000, 2000, 0, 500, 2000, Strand::Plus),
                seg(3200, 100, 1, 59_400, 100, Strand::Minus),
                seg(3400, 300, 1, 59_550, 350, Strand::Minus),
                seg(4000, 4000, 0, 3600, 4000, Strand::Plus),
                seg(8500, 1500, 0, 8100, 1500, Strand::Plus),
            ]
        );
        assert_eq!(summary.fills, 2);
        assert_eq!(summary.gaps, 3);
        assert_eq!(summary.segments, 5);
        assert_eq!(summary.aligned_bases, 2000 + 100 + 300 + 4000 + 1500);
    }
    #[test]
    fn sibling_fills_may_touch_and_nested_fills_may_fill_their_gap() {
        let text = "net chr1 100000\n fill 0 100 chrA + 0 100\n  gap 10 50 chrA + 10 50\n   \
                    fill 10 25 chrB + 0 25\n   fill 35 25 chrB + 30 25\n fill 100 10 chrA + 200 10\n";
        let (segs, summary) = segments(text, false).unwrap();
        assert_eq!(summary.segments, 5);
        assert_eq!(summary.aligned_bases, 10 + 40 + 25 + 25 + 10);
        assert_eq!(segs[4], seg(100, 10, 0, 200, 10, Strand::Plus));
    }
}
