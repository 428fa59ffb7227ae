//! A record line checked field by field and turned into its [`Site`]; a column header
//! line checked.

use super::fields::{is_alt, is_bases, iupac_hint, parse_pos, py_strip, space_hint};
use super::{Site, VcfReader};
use crate::Result;

/// The column header's first eight names.
const HEADER_COLUMNS: [&str; 8] = [
    "#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
];

impl VcfReader {
    /// The site of the line in `buf` (which had an end when `ended`), or `None` for a line
    /// that is not a record or is passed over.
    pub(super) fn parse_line(&mut self, ended: bool) -> Result<Option<Site>> {
        let text = std::str::from_utf8(&self.buf).map_err(|_| {
            self.error(
                "the line is not UTF-8 text; is it the right file? If so, convert it to \
                 UTF-8 (iconv -f latin1 -t utf-8)",
            )
        })?;
        if text.starts_with("##") || py_strip(text).is_empty() {
            return Ok(None);
        }
        if text.starts_with('#') {
            let shown: Vec<&str> = text.splitn(9, '\t').take(8).collect();
            if shown.len() < 5 || shown[..] != HEADER_COLUMNS[..shown.len()] {
                let head: String = text.chars().take(80).collect();
                return Err(self.error(format!(
                    "the column header must start with #CHROM POS ID REF ALT (tab-separated; \
                     then QUAL FILTER INFO), got '{head}'"
                )));
            }
            self.seen_header = true;
            return Ok(None);
        }
        if self.options.skip > 0 {
            if let Some((chrom, _)) = text.split_once('\t') {
                if self.options.skip_chroms.contains(chrom) {
                    self.options.skip -= 1;
                }
            }
            self.seen_header = true;
            return Ok(None);
        }
        if !ended {
            return Err(self.error(
                "the last record has no newline, so the file may be truncated; re-download or \
                 re-compress it (if it is complete, end it with a newline)",
            ));
        }
        let mut fields: Vec<&str> = text.splitn(9, '\t').collect();
        let count = if self.options.sites_only || fields.len() < 9 {
            fields.len()
        } else {
            8 + memchr::memchr_iter(b'\t', fields[8].as_bytes()).count() + 1
        };
        if count < 5 {
            return Err(self.error(format!(
                "{count} tab-separated fields; a VCF record needs CHROM POS ID REF ALT (then \
                 QUAL FILTER INFO){}",
                space_hint(text)
            )));
        }
        match self.first {
            None => self.first = Some((self.line_no, count)),
            Some((line, first)) if count < first.min(HEADER_COLUMNS.len()) => {
                return Err(self.error(format!(
                    "{count} tab-separated fields where the first record (line {line}) has \
                     {first}; is the record cut short?"
                )));
            }
            Some(_) => {}
        }
        if !self.seen_header {
            self.headerless = true;
        }
        self.seen_header = true;
        let samples = match fields.get(8) {
            Some(rest) if !self.options.sites_only => Some(rest.to_string()),
            _ => None,
        };
        fields.resize(8, ".");
        let [chrom, pos_text, id, reference, alt, qual, filter, info] = fields[..8] else {
            unreachable!("eight fields after resizing")
        };
        if py_strip(chrom).is_empty() {
            return Err(self.error("CHROM is empty"));
        }
        let pos = parse_pos(pos_text).map_err(|message| self.error(message))?;
        if !is_bases(reference) {
            return Err(self.error(format!(
                "REF '{reference}' must be bases A, C, G, T or N{}",
                iupac_hint(reference)
            )));
        }
        let alts: Vec<&str> = alt.split(',').collect();
        if let Some(bad) = alts.iter().find(|a| !is_alt(a)) {
            return Err(self.error(format!(
                "ALT allele '{bad}' is not bases, '*', '.', <ID> or a breakend"
            )));
        }
        if let Some(bases) = alts.iter().find(|a| pos == 0 && is_bases(a)) {
            return Err(self.error(format!(
                "POS 0 is invalid for a record with an ALT of bases ('{bases}'): VCF POS is \
                 1-based, and 0 marks a telomere, for breakend and symbolic ALTs only"
            )));
        }
        Ok(Some(Site {
            line: self.line_no,
            chrom: chrom.to_string(),
            pos,
            id: id.to_string(),
            reference: reference.to_ascii_uppercase(),
            alts: alts
                .iter()
                .map(|a| {
                    if is_bases(a) {
                        a.to_ascii_uppercase()
                    } else {
                        a.to_string()
                    }
                })
                .collect(),
            qual: qual.to_string(),
            filter: filter.to_string(),
            info: info.to_string(),
            samples,
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::vcf::tests::{message, read, HEAD};
    use crate::vcf::VcfOptions;

    #[test]
    fn pos_0_is_a_telomere_for_breakend_and_symbolic_alts() {
        // VCF 4.3's telomere example, with a symbolic and a single breakend at POS 0 too
        let text = format!(
            "{HEAD}1\t0\tbnd_X\tN\t.[13:123457[\n1\t1\tbnd_Y\tT\t]13:123456]T\n\
             13\t123457\tbnd_V\tA\t]1:0]A\n1\t0\t.\tN\t<DEL>,*,.\n1\t0\t.\tN\t.A\n"
        );
        let (sites, _, _) = read(&text, VcfOptions::default()).unwrap();
        let read: Vec<(u64, &str)> = sites.iter().map(|s| (s.pos, s.alts[0].as_str())).collect();
        assert_eq!(
            read,
            [
                (0, ".[13:123457["),
                (1, "]13:123456]T"),
                (123457, "]1:0]A"),
                (0, "<DEL>"),
                (0, ".A")
            ]
        );
        assert!(message(&format!("{HEAD}1\t-1\t.\tN\t<DEL>\n"))
            .ends_with("POS -1 is invalid (VCF POS is 1-based)"));
    }
    #[test]
    fn messages_name_the_line() {
        assert_eq!(
            message(&format!("{HEAD}1\tx\t.\tA\tG\n")),
            "x.vcf:3: POS 'x' is not a whole number"
        );
        assert_eq!(
            message(&format!("{HEAD}1\t0\t.\tN\t<DEL>,g\n")),
            "x.vcf:3: POS 0 is invalid for a record with an ALT of bases ('g'): VCF POS is \
             1-based, and 0 marks a telomere, for breakend and symbolic ALTs only"
        );
        assert_eq!(
            message(&format!("{HEAD}1\t1\t.\tA\tG\t.\n1\t2\t.\tA\n")),
            "x.vcf:4: 4 tab-separated fields; a VCF record needs CHROM POS ID REF ALT (then \
             QUAL FILTER INFO)"
        );
        assert!(message(&format!("{HEAD}1\t1\t.\tA\tG")).contains("x.vcf:3: the last record"));
        assert!(message(&format!("{HEAD}1\t1\t.\tA\tG[\n")).contains("ALT allele 'G['"));
        assert!(message("#CHROM\tPOS\tID\tREF\n").starts_with("x.vcf:1: the column header"));
        assert!(message(&format!("{HEAD}1 1 . A G\n")).ends_with(
            "(then QUAL FILTER INFO); its columns are separated by spaces, which VCF separates \
             by tabs: convert them (tr ' ' '\\t')"
        ));
        assert!(message(&format!("{HEAD}1\t1\t.\n")).ends_with("(then QUAL FILTER INFO)"));
        assert!(message(&format!("{HEAD}1\t1\t.\tAr\tG\n")).ends_with(
            "REF 'Ar' must be bases A, C, G, T or N; IUPAC ambiguity codes such as \
                        R or Y are not VCF bases (VCF 4.3 writes the first base a code stands \
                        for: A for R): correct the record or remove it"
        ));
        assert!(message(&format!("{HEAD}1\t1\t.\tX\tG\n")).ends_with("A, C, G, T or N"));
    }
}
