//! The survey `sad` makes of a VCF before it scores (`crossreg.variants.sad_stream.survey_vcf`):
//! per record on the genome, how many ALTs can be scored and why each other one cannot
//! (the rule and the words of `crossreg.variants.alleles.skip_reason`), the records per
//! chromosome the genome lacks, and whether a record with a scorable ALT has the
//! genome's bases as its REF (or, for a SNP, as one of its ALTs), read from the genome's
//! sequences in place.
//!
//! A record that fails a check (a CHROM or ID outside ASCII, with `strict` a chromosome
//! the genome lacks, a REF past the chromosome's end or other than the genome's bases)
//! stops the survey and is kept: the caller states the error, in the words of the checks
//! it already has.

use std::collections::HashMap;

use crate::genome::Genome;
use crate::vcf::{Site, VcfReader};
use crate::{Error, Result};

/// Why an ALT cannot be scored, in `skip_reason`'s words.
pub const SYMBOLIC: &str = "symbolic or missing ALT";
pub const STRUCTURAL: &str = "structural variant";
pub const NO_CHANGE: &str = "ALT equals REF";
pub const GAP: &str = "REF is N (assembly gap or off the chromosome)";
pub const TOO_LONG: &str = "longer than the window";

/// A VCF's survey so far (see the module's description).
pub struct Survey {
    /// The longest REF or ALT that fits in the window from its centre.
    longest: usize,
    strict: bool,
    /// Each kept record's number of scorable ALTs.
    pub alleles: Vec<u16>,
    /// Each unscorable ALT's kept record (ascending) and reason (an index into `reasons`).
    pub unscorable_records: Vec<i64>,
    pub unscorable_codes: Vec<u8>,
    /// The reasons met, in the order first met.
    pub reasons: Vec<&'static str>,
    /// The records skipped per chromosome the genome lacks, and the first of them.
    pub off_genome: HashMap<String, u64>,
    pub first_off: Option<Site>,
    /// The record that failed a check, which ended the survey.
    pub stop: Option<Site>,
    sites: Vec<Site>,
}

impl Survey {
    /// An empty survey for a model of `seq_length` bp; with `strict` the first record off
    /// the genome stops it.
    pub fn new(seq_length: usize, strict: bool) -> Self {
        Survey {
            longest: seq_length / 2 + 1,
            strict,
            alleles: Vec::new(),
            unscorable_records: Vec::new(),
            unscorable_codes: Vec::new(),
            reasons: Vec::new(),
            off_genome: HashMap::new(),
            first_off: None,
            stop: None,
            sites: Vec::new(),
        }
    }

    /// Survey up to `max` more records of `reader` against `genome`; returns how many
    /// were read: 0 at the end of the file, and once a record has stopped the survey.
    pub fn step(&mut self, reader: &mut VcfReader, genome: &Genome, max: usize) -> Result<usize> {
        if self.stop.is_some() {
            return Ok(0);
        }
        let mut sites = std::mem::take(&mut self.sites);
        reader.read_batch(max, &mut sites)?;
        let read = sites.len();
        for site in sites.drain(..) {
            if let Some(failed) = self.add(site, genome, reader)? {
                self.stop = Some(failed);
                break;
            }
        }
        self.sites = sites;
        Ok(read)
    }

    /// Count one record; a record that fails a check comes back.
    fn add(&mut self, site: Site, genome: &Genome, reader: &VcfReader) -> Result<Option<Site>> {
        if !(site.id.is_ascii() && site.chrom.is_ascii()) {
            return Ok(Some(site));
        }
        let Some(id) = genome.find(&site.chrom) else {
            if self.strict {
                return Ok(Some(site));
            }
            *self.off_genome.entry(site.chrom.clone()).or_insert(0) += 1;
            self.first_off.get_or_insert(site);
            return Ok(None);
        };
        let record = self.alleles.len() as i64;
        let structural = has_svtype(&site.info);
        let mut scorable = 0usize;
        for alt in &site.alts {
            let Some(reason) = skip_reason(&site, alt, structural, self.longest) else {
                scorable += 1;
                continue;
            };
            let code = match self.reasons.iter().position(|r| *r == reason) {
                Some(code) => code,
                None => {
                    self.reasons.push(reason);
                    self.reasons.len() - 1
                }
            };
            self.unscorable_records.push(record);
            self.unscorable_codes.push(code as u8);
        }
        if scorable > 0 && !reference_agrees(&site, genome.sequence(id)) {
            return Ok(Some(site));
        }
        let count = u16::try_from(scorable).map_err(|_| {
            Error::parse(
                reader.path(),
                site.line as usize,
                format!(
                    "{scorable} scorable ALT alleles in one record; at most 65,535 are counted"
                ),
            )
        })?;
        self.alleles.push(count);
        Ok(None)
    }
}

/// Whether INFO has the key `SVTYPE` (as the reader's INFO dict has it: `.` is none).
fn has_svtype(info: &str) -> bool {
    info != "."
        && info
            .split(';')
            .any(|item| item.split_once('=').map_or(item, |(key, _)| key) == "SVTYPE")
}

/// Why `alt` of `site` cannot be scored, or `None` (`skip_reason`'s rule, in its order):
/// `structural` when INFO has `SVTYPE`; `longest` the most bp a REF or ALT may span.
fn skip_reason(site: &Site, alt: &str, structural: bool, longest: usize) -> Option<&'static str> {
    // Python's str.isalpha(): every ALT the reader lets through with a letter outside
    // ASCII (in an <ID> or a breakend) also has a sign in ASCII
    if alt.is_empty() || !alt.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Some(SYMBOLIC);
    }
    if structural {
        return Some(STRUCTURAL);
    }
    if alt.eq_ignore_ascii_case(&site.reference) {
        return Some(NO_CHANGE);
    }
    if site.reference.bytes().all(|b| b == b'N') {
        return Some(GAP);
    }
    if site.reference.len().max(alt.len()) > longest {
        return Some(TOO_LONG);
    }
    None
}

/// Whether `sequence` (a chromosome's bases) holds `site`'s REF at its POS, upper-cased;
/// a SNP whose genome base is one of its ALTs (REF and ALT swapped) agrees too, and a
/// REF past the chromosome's end does not (`crossreg.io.vcf.reference_bases`).
fn reference_agrees(site: &Site, sequence: &[u8]) -> bool {
    // POS 0, a telomere's, holds no base of the genome
    let Some(start) = site.pos.checked_sub(1) else {
        return false;
    };
    let Some(end) = start.checked_add(site.reference.len() as u64) else {
        return false;
    };
    if end > sequence.len() as u64 {
        return false;
    }
    let found = sequence[start as usize..end as usize].to_ascii_uppercase();
    if found == site.reference.as_bytes() {
        return true;
    }
    let snp =
        site.reference.chars().count() == 1 && site.alts.iter().all(|a| a.chars().count() == 1);
    snp && site.alts.iter().any(|a| a.as_bytes() == found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcf::VcfOptions;
    use std::io::Cursor;
    use std::path::Path;

    fn survey(records: &str, seq_length: usize, strict: bool) -> Survey {
        let genome =
            Genome::from_sequences("g.fa", vec![("c".to_string(), b"ACGTNNNNacgt".to_vec())])
                .unwrap();
        let text = format!("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n{records}");
        let reader = Box::new(Cursor::new(text.into_bytes()));
        let mut vcf = VcfReader::new(reader, Path::new("x.vcf"), false, VcfOptions::default());
        let mut survey = Survey::new(seq_length, strict);
        while survey.step(&mut vcf, &genome, 2).unwrap() > 0 {}
        survey
    }

    #[test]
    fn counts_scorable_alleles_and_why_the_others_are_not() {
        let records = "c\t1\t.\tA\tG,<DEL>,A\t.\t.\t.\n\
                       o\t1\t.\tA\tG\t.\t.\t.\n\
                       c\t5\t.\tNN\tA\t.\t.\t.\n\
                       c\t2\t.\tC\tGTTT,T\t.\t.\tSVTYPE=INS\n\
                       c\t9\t.\tA\tTTTTTT,C\t.\t.\t.\n\
                       o\t2\t.\tA\tG\t.\t.\t.\n";
        let found = survey(records, 8, false);
        assert!(found.stop.is_none());
        assert_eq!(found.alleles, [1, 0, 0, 1]);
        assert_eq!(found.unscorable_records, [0, 0, 1, 2, 2, 3]);
        let named: Vec<&str> = found
            .unscorable_codes
            .iter()
            .map(|&c| found.reasons[c as usize])
            .collect();
        assert_eq!(
            named,
            [SYMBOLIC, NO_CHANGE, GAP, STRUCTURAL, STRUCTURAL, TOO_LONG]
        );
        assert_eq!(found.off_genome["o"], 2);
        assert_eq!(found.first_off.as_ref().map(|s| s.pos), Some(1));
    }

    #[test]
    fn telomere_breakends_are_counted_as_symbolic() {
        let found = survey(
            "c\t0\t.\tN\t.[c:5[,<DEL>\t.\t.\t.\nc\t1\t.\tA\tG\t.\t.\t.\n",
            8,
            false,
        );
        assert!(found.stop.is_none());
        assert_eq!(found.alleles, [0, 1]);
        assert_eq!(found.unscorable_records, [0, 0]);
        assert_eq!(found.reasons, [SYMBOLIC]);
    }

    #[test]
    fn stops_at_the_first_record_that_fails_a_check() {
        let stop = |records: &str, strict: bool| survey(records, 8, strict).stop.map(|s| s.line);
        assert_eq!(
            stop("c\t1\t.\tG\tA\t.\t.\t.\n", false),
            None,
            "a SNP swapped"
        );
        assert_eq!(stop("c\t1\t.\tG\tC\t.\t.\t.\n", false), Some(2));
        assert_eq!(stop("c\t11\t.\tGTA\tC\t.\t.\t.\n", false), Some(2));
        assert_eq!(stop("c\t11\t.\tGT\tC\t.\t.\t.\n", false), None);
        assert_eq!(
            stop("c\t12\t.\tTA\tC\t.\t.\t.\n", false),
            Some(2),
            "past the end"
        );
        assert_eq!(stop("c\t12\t.\tTA\t<DEL>\t.\t.\t.\n", false), None);
        assert_eq!(
            stop("c\t0\t.\tN\t.[c:5[\t.\t.\tSVTYPE=BND\n", false),
            None,
            "a telomere's breakend"
        );
        assert_eq!(stop("c\t13\t.\tN\t]c:1].\t.\t.\t.\n", false), None);
        assert_eq!(stop("o\t1\t.\tA\tG\t.\t.\t.\n", true), Some(2));
        assert_eq!(stop("c\t1\tré\tA\tG\t.\t.\t.\n", false), Some(2));
    }
}
