//! A net read line by line: each line's depth, keyword and fields, and the `net` lines
//! that start the blocks of target chromosomes.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use super::nesting::Frame;
use super::syntenic::left_out_of_syntenic_net;
use super::{read_error, ChromSizes, NetSummary, Segment, Source, Strand};
use crate::{Error, Result};

/// The six leading fields of a fill or gap line.
pub(super) struct Block<'a> {
    pub(super) t_start: u64,
    pub(super) t_size: u64,
    pub(super) q_chrom: &'a str,
    pub(super) strand: Strand,
    pub(super) q_start: u64,
    pub(super) q_size: u64,
}

/// As [`super::read_net`] on the lines of `reader`, read from `source`.
pub(super) fn parse_stream<R: BufRead>(
    mut reader: R,
    source: Source<'_>,
    target: &ChromSizes,
    query: &ChromSizes,
    skip_unknown: bool,
    mut on_segment: impl FnMut(Segment),
) -> Result<NetSummary> {
    let path = source.path;
    let mut parser = NetParser {
        path,
        target,
        query,
        skip_unknown,
        summary: NetSummary::default(),
        stack: Vec::new(),
        chrom: None,
        top_fills_end: 0,
        blocks: HashMap::new(),
        skipped: std::collections::BTreeSet::new(),
    };
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| read_error(source, line_no + 1, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let line = std::str::from_utf8(&buf).map_err(|_| {
            Error::parse(path, line_no, "the line is not text (is this a .net file?)")
        })?;
        parser.line(
            line.trim_end_matches(['\n', '\r']),
            line_no,
            &mut on_segment,
        )?;
    }
    parser.close_to(0, &mut on_segment);
    if parser.chrom.is_none() {
        return Err(Error::parse(
            path,
            0,
            "the file holds no 'net <chrom> <size>' line; is it a UCSC .net file (from \
             chainNet/netSyntenic)?",
        ));
    }
    let mut summary = parser.summary;
    summary.skipped_chroms = parser.skipped.into_iter().collect();
    summary.blocks = parser.blocks.into_iter().collect();
    summary.blocks.sort_unstable_by_key(|&(_, line)| line);
    Ok(summary)
}

/// The target chromosome of the current `net` block: `None` when skipped.
type CurrentChrom = Option<Option<(u32, u64)>>;

/// A net being read: the genomes it is read against, the fills and gaps open at the
/// current line, and the counts so far.
pub(super) struct NetParser<'a> {
    pub(super) path: &'a Path,
    pub(super) target: &'a ChromSizes,
    pub(super) query: &'a ChromSizes,
    pub(super) skip_unknown: bool,
    pub(super) summary: NetSummary,
    pub(super) stack: Vec<Frame>,
    /// `None` before the first `net` line; `Some(None)` inside a skipped block.
    pub(super) chrom: CurrentChrom,
    /// End of the last top-level fill of the current `net` block.
    pub(super) top_fills_end: u64,
    /// The line of each target chromosome's `net` line.
    pub(super) blocks: HashMap<String, usize>,
    pub(super) skipped: std::collections::BTreeSet<String>,
}

impl NetParser<'_> {
    pub(super) fn error(&self, line: usize, message: impl Into<String>) -> Error {
        Error::parse(self.path, line, message)
    }

    fn line(&mut self, line: &str, line_no: usize, emit: &mut impl FnMut(Segment)) -> Result<()> {
        let level = line.bytes().take_while(|&b| b == b' ').count();
        let rest = &line[level..];
        if rest.is_empty() || rest.starts_with('#') {
            return Ok(());
        }
        let mut fields = rest.split_ascii_whitespace();
        let keyword = fields.next().unwrap_or("");
        match keyword {
            "net" => self.net_line(level, rest, fields, line_no, emit),
            "fill" | "gap" => {
                let Some(chrom) = self.chrom else {
                    return Err(self.error(
                        line_no,
                        format!("a '{keyword}' line before any 'net' line; the file must start with 'net <chrom> <size>'"),
                    ));
                };
                if keyword == "fill" {
                    self.summary.fills += 1;
                } else {
                    self.summary.gaps += 1;
                }
                let Some((t_chrom, t_size)) = chrom else {
                    if keyword == "fill" {
                        self.summary.skipped_fills += 1;
                    }
                    return Ok(());
                };
                let block = self.block(keyword, &mut fields, line_no)?;
                self.check_target_end(keyword, &block, t_chrom, t_size, line_no)?;
                if keyword == "fill" {
                    let non_syntenic = left_out_of_syntenic_net(block.t_size, rest);
                    self.fill_line(level, t_chrom, &block, non_syntenic, line_no, emit)
                } else {
                    self.gap_line(level, &block, line_no, emit)
                }
            }
            other => Err(self.error(
                line_no,
                format!(
                    "unknown line type '{other}'; a .net file holds 'net', 'fill' and 'gap' \
                     lines"
                ),
            )),
        }
    }

    fn net_line<'l>(
        &mut self,
        level: usize,
        text: &str,
        mut fields: impl Iterator<Item = &'l str>,
        line_no: usize,
        emit: &mut impl FnMut(Segment),
    ) -> Result<()> {
        if level != 0 {
            return Err(self.error(line_no, "a 'net' line must not be indented"));
        }
        self.close_to(0, emit);
        let (Some(name), Some(size_text)) = (fields.next(), fields.next()) else {
            return Err(self.error(
                line_no,
                format!("expected 'net <chrom> <size>', found '{text}'"),
            ));
        };
        let size = self.number(size_text, "chromosome size", line_no)?;
        if let Some(first) = self.blocks.insert(name.to_string(), line_no) {
            return Err(self.error(
                line_no,
                format!(
                    "a second 'net' block for {name} (the first is at line {first}); a net file \
                     lists each target chromosome once: was a net appended to itself? Give \
                     each net once (several files may be given)"
                ),
            ));
        }
        self.top_fills_end = 0;
        self.summary.chroms += 1;
        match self.target.id(name) {
            Some(id) => {
                let known = self.target.sizes()[id as usize];
                if known != size {
                    return Err(self.error(
                        line_no,
                        format!(
                            "the net gives {name} {size} bp but the sizes of genome '{}' give \
                             {known} bp; {}",
                            self.target.genome(),
                            self.mismatch_cause(name, size)
                        ),
                    ));
                }
                self.chrom = Some(Some((id, size)));
            }
            None if self.skip_unknown => {
                self.skipped.insert(name.to_string());
                self.chrom = Some(None);
            }
            None if self.query_has(name, size) => {
                return Err(self.error(
                    line_no,
                    format!(
                        "{name} is not a chromosome of genome '{}' but is one of '{}' with the \
                         same size; {}",
                        self.target.genome(),
                        self.query.genome(),
                        self.swap_hint()
                    ),
                ))
            }
            None => return Err(self.unknown_chrom(name, self.target, line_no)),
        }
        Ok(())
    }

    fn number(&self, text: &str, what: &str, line_no: usize) -> Result<u64> {
        text.parse().map_err(|_| {
            self.error(
                line_no,
                format!("{what} is '{text}', not a non-negative whole number"),
            )
        })
    }

    fn block<'l>(
        &self,
        keyword: &str,
        mut fields: impl Iterator<Item = &'l str>,
        line_no: usize,
    ) -> Result<Block<'l>> {
        let mut take = || fields.next();
        let parts = [take(), take(), take(), take(), take(), take()];
        let [Some(t_start), Some(t_size), Some(q_chrom), Some(strand), Some(q_start), Some(q_size)] =
            parts
        else {
            let found = parts.iter().flatten().count();
            return Err(self.error(
                line_no,
                format!(
                    "a '{keyword}' line needs 6 fields after '{keyword}' (tStart tSize qChrom \
                     qStrand qStart qSize), found {found}"
                ),
            ));
        };
        let strand = match strand {
            "+" => Strand::Plus,
            "-" => Strand::Minus,
            other => {
                return Err(self.error(
                    line_no,
                    format!("query strand is '{other}'; it must be '+' or '-'"),
                ))
            }
        };
        Ok(Block {
            t_start: self.number(t_start, "tStart", line_no)?,
            t_size: self.number(t_size, "tSize", line_no)?,
            q_chrom,
            strand,
            q_start: self.number(q_start, "qStart", line_no)?,
            q_size: self.number(q_size, "qSize", line_no)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::net::tests::{seg, segments};
    use crate::net::Strand;

    #[test]
    fn errors_name_file_line_and_cause() {
        let cases = [
            (
                " fill 0 10 chrA + 0 10\n",
                ":1: a 'fill' line before any 'net'",
            ),
            (
                "net chr1 100000\n fill 0 x chrA + 0 10\n",
                ":2: tSize is 'x'",
            ),
            ("net chr1 100000\n fill 0 10 chrA + 0\n", "found 5"),
            (
                "net chr1 100000\n fill 0 10 chrA * 0 10\n",
                "must be '+' or '-'",
            ),
            ("net chr1 99\n", "different assemblies"),
            (
                "net chr1 100000\n fill 99990 20 chrA + 0 20\n",
                "runs past the end of chr1",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA - 79990 20\n",
                "runs past the end of chrA",
            ),
            (
                "net chr1 100000\n  gap 0 20 chrA + 0 20\n",
                "no enclosing 'fill'",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\n   fill 0 20 chrA + 0 20\n",
                "no enclosing 'gap'",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\n  gap 10 20 chrA + 5 5\n",
                "not inside what is left",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA - 0 20\n  gap 5 2 chrA - 2 2\n  gap 9 2 chrA - 4 2\n",
                ":4: the gap (target 9-11, query 4-6) is not inside what is left of its fill \
                 after the previous gap (target 7-20, query 0-2)",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA - 0 20\n  gap 5 2 chrA - 79999 2\n",
                "the gap's query chrA:79999-80001 runs past the end",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\n  gap 5 2 chrB + 5 2\n",
                "its fill is on chrA",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\nnet chr2 50000\nnet chr1 100000\n",
                ":4: a second 'net' block for chr1 (the first is at line 1)",
            ),
            (
                "net chr1 100000\n fill 100 20 chrA + 0 20\n fill 110 20 chrA + 40 20\n",
                ":3: the fill chr1:110-130 starts before the previous fill at depth 1 ends (120)",
            ),
            (
                "net chr1 100000\n fill 100 20 chrA + 0 20\n fill 50 20 chrA + 40 20\n",
                "starts before the previous fill at depth 1 ends (120)",
            ),
            (
                "net chr1 100000\n fill 0 100 chrA + 0 100\n  gap 10 50 chrA + 10 50\n   \
                 fill 20 10 chrB + 0 10\n   fill 25 10 chrB + 20 10\n",
                ":5: the fill chr1:25-35 starts before the previous fill at depth 3 ends (30)",
            ),
            (
                "net chr1 100000\n fill 0 100 chrA + 0 100\n  gap 10 50 chrA + 10 50\n   \
                 fill 55 10 chrB + 0 10\n",
                ":4: the fill chr1:55-65 is not inside its gap chr1:10-60",
            ),
            (
                "net chr1 100000\n fill 18446744073709551615 2 chrA + 0 2\n",
                ":2: the fill chr1:18446744073709551615+2 runs past the end of chr1",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA - 18446744073709551615 2\n",
                ":2: the fill's query chrA:18446744073709551615+2 runs past the end",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\n  gap 5 18446744073709551615 chrA + 5 2\n",
                ":3: the gap chr1:5+18446744073709551615 runs past the end of chr1",
            ),
            ("", "x.net: the file holds no 'net <chrom> <size>' line"),
            ("# a comment\n", "x.net: the file holds no 'net"),
            ("net chr1 100000\n bogus 1 2\n", "unknown line type 'bogus'"),
            ("net chr1 100000\n  fill 0 20 chrA + 0 20\n", "odd depths"),
            ("net 1 100000\n", "did you mean 'chr1'"),
            (
                "net chr1 100000\n fill 0 20 A + 0 20\n",
                "did you mean 'chrA'",
            ),
        ];
        for (text, expected) in cases {
            let err = segments(text, false).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            if expected.starts_with(':') {
                assert!(err.starts_with("x.net:"), "{err}");
            }
        }
        let err = segments("net chr1 100000\n fill 0 20 chrZ + 0 20\n", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.net:2") && err.contains("--skip-unknown-chroms"),
            "{err}"
        );
    }

    #[test]
    fn unknown_chromosomes_can_be_skipped() {
        let text =
            "net chr9 5\n fill 0 5 chrA + 0 5\nnet chr1 100000\n fill 0 100 chrZ + 0 100\n  \
                    gap 10 50 chrZ + 10 50\n   fill 20 10 chrA + 0 10\n fill 200 10 chrA + 0 10\n";
        let (segs, summary) = segments(text, true).unwrap();
        assert_eq!(
            segs,
            vec![
                seg(20, 10, 0, 0, 10, Strand::Plus),
                seg(200, 10, 0, 0, 10, Strand::Plus)
            ]
        );
        assert_eq!(summary.skipped_fills, 2);
        assert_eq!(
            summary.skipped_chroms,
            vec!["chr9".to_string(), "chrZ".to_string()]
        );
    }
}
