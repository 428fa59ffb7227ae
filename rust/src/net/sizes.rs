//! The chromosomes of a genome, as its sizes file gives them.

use std::collections::HashMap;

use crate::{Error, Result};

/// The longest chromosome accepted (2^40 bp): far beyond any genome's, and small enough
/// that coordinates and region counts never overflow.
pub const MAX_CHROM_LENGTH: u64 = 1 << 40;

/// The chromosomes of one genome: names, lengths and a name lookup.
#[derive(Clone, Debug)]
pub struct ChromSizes {
    genome: String,
    names: Vec<String>,
    sizes: Vec<u64>,
    index: HashMap<String, u32>,
}

impl ChromSizes {
    /// The chromosomes `(name, length in bp)` of the genome called `genome`, in the order
    /// given. Names must be unique and lengths positive.
    pub fn new(genome: &str, chroms: Vec<(String, u64)>) -> Result<Self> {
        let mut names = Vec::with_capacity(chroms.len());
        let mut sizes = Vec::with_capacity(chroms.len());
        let mut index = HashMap::with_capacity(chroms.len());
        for (name, size) in chroms {
            if size == 0 || size > MAX_CHROM_LENGTH {
                return Err(Error::Invalid(format!(
                    "genome '{genome}': chromosome '{name}' has length {size}; give every \
                     chromosome its length in bp (1 to 2^40)"
                )));
            }
            if index.insert(name.clone(), names.len() as u32).is_some() {
                return Err(Error::Invalid(format!(
                    "genome '{genome}': chromosome '{name}' is listed twice in the sizes"
                )));
            }
            names.push(name);
            sizes.push(size);
        }
        if names.is_empty() {
            return Err(Error::Invalid(format!(
                "genome '{genome}' has no chromosomes in its sizes"
            )));
        }
        Ok(ChromSizes {
            genome: genome.to_string(),
            names,
            sizes,
            index,
        })
    }

    /// The genome's name.
    pub fn genome(&self) -> &str {
        &self.genome
    }

    /// Chromosome names in the order given.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Chromosome lengths (bp) in the order given.
    pub fn sizes(&self) -> &[u64] {
        &self.sizes
    }

    /// Number of chromosomes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no chromosomes (never true for a constructed value).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Index of chromosome `name`, if known.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Sum of all chromosome lengths (bp).
    pub fn total(&self) -> u64 {
        self.sizes.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_reject_duplicates_and_zero_lengths() {
        let dup = ChromSizes::new("g", vec![("c".into(), 5), ("c".into(), 6)]);
        assert!(dup.unwrap_err().to_string().contains("listed twice"));
        let zero = ChromSizes::new("g", vec![("c".into(), 0)]);
        assert!(zero.unwrap_err().to_string().contains("length 0"));
        let huge = ChromSizes::new("g", vec![("c".into(), MAX_CHROM_LENGTH + 1)]);
        assert!(huge.unwrap_err().to_string().contains("(1 to 2^40)"));
        assert!(ChromSizes::new("g", vec![("c".into(), MAX_CHROM_LENGTH)]).is_ok());
    }
}
