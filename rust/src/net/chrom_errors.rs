//! The errors for a chromosome that the sizes lack or give another length, with the hint
//! each gives: genomes given the wrong way round, another assembly, a scaffold named by its
//! GenBank accession.

use super::parser::NetParser;
use super::ChromSizes;
use crate::error::chrom_hint;
use crate::Error;

impl NetParser<'_> {
    /// Whether the query genome has a chromosome `name` of `size` bp.
    pub(super) fn query_has(&self, name: &str, size: u64) -> bool {
        self.query
            .id(name)
            .is_some_and(|id| self.query.sizes()[id as usize] == size)
    }

    /// Why a `net` line's size differs from the target's: the genomes given the wrong way
    /// round when the query has the chromosome at that size, else another assembly.
    pub(super) fn mismatch_cause(&self, name: &str, size: u64) -> String {
        if self.query_has(name, size) {
            format!(
                "genome '{}' has {name} at that size, so {}",
                self.query.genome(),
                self.swap_hint()
            )
        } else {
            "the net and the sizes come from different assemblies".to_string()
        }
    }

    pub(super) fn swap_hint(&self) -> String {
        format!(
            "the net's target (its 'net' lines) looks like genome '{q}': give it as --net \
             {q},{t}=FILE (TARGET,QUERY), or, if the net is {t},{q} as given, swap the files \
             of --sizes {t}= and --sizes {q}=",
            q = self.query.genome(),
            t = self.target.genome()
        )
    }

    pub(super) fn unknown_chrom(&self, name: &str, sizes: &ChromSizes, line_no: usize) -> Error {
        let hint = match genbank_twin(name, sizes) {
            Some(twin) => format!(
                "; did you mean '{twin}'? The net names the scaffold as UCSC does, the sizes \
                 by its GenBank accession (as Basenji's .genome files do): give sizes with UCSC \
                 names (UCSC's chrom.sizes or the FASTA's .fai)"
            ),
            None => chrom_hint(name, sizes.names().iter().map(String::as_str)),
        };
        Error::UnknownChrom {
            name: name.to_string(),
            source_name: format!(
                "the sizes of genome '{}' (used at {}:{line_no})",
                sizes.genome(),
                self.path.display()
            ),
            hint: format!(
                "{hint}; add it to the sizes, or skip alignments to chromosomes outside the \
                 sizes (--skip-unknown-chroms)"
            ),
        }
    }
}

/// The chromosome of `sizes` named by the GenBank accession of the scaffold that UCSC calls
/// `name`: `KI270728.1` for `chrUn_KI270728v1` (also `chr1_KI270706v1_random`,
/// `chr1_KI270762v1_alt`), `JH584304.1` for mm10's `chrUn_JH584304` (no version: any).
fn genbank_twin<'s>(name: &str, sizes: &'s ChromSizes) -> Option<&'s str> {
    let part = name.split('_').skip(1).find(|part| {
        let digits = part.trim_start_matches(|c: char| c.is_ascii_uppercase());
        digits.len() < part.len() && digits.starts_with(|c: char| c.is_ascii_digit())
    })?;
    let (accession, version) = match part.split_once('v') {
        Some((accession, version)) => (accession, Some(version)),
        None => (part, None),
    };
    sizes.names().iter().map(String::as_str).find(|known| {
        known.split_once('.').is_some_and(|(stem, v)| {
            stem == accession && version.is_none_or(|version| v == version)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::parse_net;
    use crate::net::tests::sizes;
    use std::path::Path;

    #[test]
    fn ucsc_scaffold_names_point_to_their_genbank_accessions() {
        // before: the message listed the first names of the sizes, though the scaffold is
        // among them under its accession
        let g = sizes(
            "g",
            &[
                ("chr1", 10),
                ("KI270728.1", 10),
                ("KI270706.2", 10),
                ("JH584304.1", 10),
            ],
        );
        for (name, twin) in [
            ("chrUn_KI270728v1", Some("KI270728.1")),
            ("chr1_KI270706v2_random", Some("KI270706.2")),
            ("chr1_KI270706v1_random", None),
            ("chrUn_JH584304", Some("JH584304.1")),
            ("chr1_KI270762v1_alt", None),
            ("chr2", None),
            ("chrUn_x", None),
        ] {
            assert_eq!(genbank_twin(name, &g), twin, "{name}");
        }
        let t = sizes("a", &[("chr1", 100_000)]);
        let q = sizes("b", &[("chrA", 80_000), ("KI270728.1", 2_000)]);
        let text = "net chr1 100000\n fill 0 20 chrUn_KI270728v1 + 0 20\n";
        let err = parse_net(text.as_bytes(), Path::new("x.net"), &t, &q, false, |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "'chrUn_KI270728v1' is not in the sizes of genome 'b' (used at x.net:2); did you \
                 mean 'KI270728.1'? The net names the scaffold as UCSC does, the sizes by its \
                 GenBank accession"
            ) && err.contains("--skip-unknown-chroms"),
            "{err}"
        );
    }
}
