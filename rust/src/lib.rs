//! crossreg's native core: the byte- and number-crunching behind the Python package.
//!
//! Plain Rust with no Python in it, so `cargo test` and `cargo bench` need no interpreter.
//! The optional `python` feature adds the bindings in [`python`], the only module that
//! knows PyO3.

pub mod augment;
pub mod bigwig;
pub mod bigwig_file;
pub mod bigwig_sweep;
pub mod codec;
pub mod digest;
pub mod dna;
pub mod error;
mod file_kind;
pub mod genome;
pub mod gzip_member;
pub mod inflate;
pub mod net;
pub mod signal;
pub mod sldp;
pub mod synteny;
pub mod text;
pub mod vcf;
pub mod vcf_survey;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
