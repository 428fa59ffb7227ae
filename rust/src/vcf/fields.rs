//! The checks of a record's fields, as Python's reader made them: blank text, POS read as
//! `int()` reads it, REF and ALT alleles, and the hints of the messages about them.

/// Whitespace as Python's `str.strip()` takes it: Unicode's, and the separators 0x1c–0x1f.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

pub(super) fn py_strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

/// POS as Python's `int()` reads it (surrounding whitespace, a sign, `_` between digits;
/// ASCII digits only), then checked not to be negative (0 is a telomere's, which the
/// caller allows for breakend and symbolic ALTs alone).
pub(super) fn parse_pos(text: &str) -> std::result::Result<u64, String> {
    let not_whole = || format!("POS '{text}' is not a whole number");
    // int() strips Unicode's whitespace alone, not the separators 0x1c-0x1f as strip() does
    let body = text.trim_matches(char::is_whitespace);
    let (negative, digits) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let bytes = digits.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_digit() || !bytes[bytes.len() - 1].is_ascii_digit() {
        return Err(not_whole());
    }
    let mut value: u64 = 0;
    let mut last_underscore = false;
    for &b in bytes {
        if b == b'_' {
            if last_underscore {
                return Err(not_whole());
            }
            last_underscore = true;
            continue;
        }
        if !b.is_ascii_digit() {
            return Err(not_whole());
        }
        last_underscore = false;
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| format!("POS '{text}' is too large"))?;
    }
    if negative && value > 0 {
        return Err(format!("POS -{value} is invalid (VCF POS is 1-based)"));
    }
    Ok(value)
}

/// What to do with a record line of too few tab-separated fields that has five or more
/// separated by spaces (and tabs): its columns are separated by spaces; else nothing.
pub(super) fn space_hint(text: &str) -> &'static str {
    let words = text.split([' ', '\t']).filter(|w| !w.is_empty()).count();
    if text.contains(' ') && words >= 5 {
        "; its columns are separated by spaces, which VCF separates by tabs: convert them \
         (tr ' ' '\\t')"
    } else {
        ""
    }
}

/// What to do with a REF of bases and IUPAC ambiguity codes (R, Y, ...), which VCF does
/// not allow; else nothing.
pub(super) fn iupac_hint(reference: &str) -> &'static str {
    let iupac = |b: u8| b"RYSWKMBDHVryswkmbdhv".contains(&b);
    if !reference.is_empty() && reference.bytes().all(|b| is_base(b) || iupac(b)) {
        "; IUPAC ambiguity codes such as R or Y are not VCF bases (VCF 4.3 writes the first \
         base a code stands for: A for R): correct the record or remove it"
    } else {
        ""
    }
}

/// One or more of `ACGTNacgtn`.
pub(super) fn is_bases(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_base)
}

fn is_base(b: u8) -> bool {
    matches!(
        b,
        b'A' | b'C' | b'G' | b'T' | b'N' | b'a' | b'c' | b'g' | b't' | b'n'
    )
}

/// An ALT allele: bases, a deleted allele (`*`), none (`.`), a symbolic allele (`<DEL>`)
/// or a breakend, joined (`t[p[`, `t]p]`, `]p]t`, `[p[t`; `.[p[` and `]p].` at a
/// telomere) or single (`.t`, `t.`).
pub(super) fn is_alt(text: &str) -> bool {
    let b = text.as_bytes();
    if is_bases(text) || text == "*" || text == "." {
        return true;
    }
    if b.len() >= 3 && b[0] == b'<' && b[b.len() - 1] == b'>' {
        return !b[1..b.len() - 1].contains(&b'>');
    }
    if b.len() >= 2 && b[0] == b'.' && is_bases(&text[1..]) {
        return true;
    }
    if b.len() >= 2 && b[b.len() - 1] == b'.' && is_bases(&text[..text.len() - 1]) {
        return true;
    }
    is_breakend(b) || is_telomere_breakend(b)
}

/// A joined breakend from a virtual telomere (VCF 4.3's POS 0 or N+1), `.` for its bases:
/// `.[p[`, `]p].` (and `.]p]`, `[p[.`).
fn is_telomere_breakend(b: &[u8]) -> bool {
    match b {
        [b'.', mate @ ..] | [mate @ .., b'.'] => is_mate(mate),
        _ => false,
    }
}

/// `bases* [ or ] (not [ or ])+ [ or ] bases*`.
fn is_breakend(b: &[u8]) -> bool {
    let lead = b.iter().take_while(|&&c| is_base(c)).count();
    let trail = b[lead..].iter().rev().take_while(|&&c| is_base(c)).count();
    // The bases either side may be taken by the regex's [^\[\]]+ instead, but only
    // between the brackets, so the brackets must be the middle's ends.
    is_mate(&b[lead..b.len() - trail])
}

/// A breakend's mate in its brackets: `[ or ] (not [ or ])+ [ or ]`.
fn is_mate(b: &[u8]) -> bool {
    let bracket = |c: &u8| *c == b'[' || *c == b']';
    b.len() >= 3
        && bracket(&b[0])
        && bracket(&b[b.len() - 1])
        && !b[1..b.len() - 1].iter().any(bracket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pos_reads_as_python_int() {
        assert_eq!(parse_pos(" +1_000 "), Ok(1000));
        assert!(parse_pos("1__0").is_err());
        assert!(parse_pos("_1").is_err());
        assert_eq!(parse_pos("\u{3000}7\u{85}"), Ok(7));
        assert!(
            parse_pos("\u{1c}7").is_err(),
            "int() refuses the separators"
        );
        assert_eq!(parse_pos("-0"), Ok(0));
        assert_eq!(
            parse_pos("-5"),
            Err("POS -5 is invalid (VCF POS is 1-based)".into())
        );
    }

    #[test]
    fn alts_match_the_pattern() {
        for ok in [
            "A",
            "acg",
            "*",
            ".",
            "<DEL>",
            "<<x>",
            "G[1:5[",
            "]1:5]T",
            "[p[",
            ".A",
            "A.",
            ".[13:123457[",
            "]13:123456].",
            ".]p]",
            "[p[.",
        ] {
            assert!(is_alt(ok), "{ok}");
        }
        for bad in [
            "", "<>", "<a>b>", "X", "A[1", "[1[2[", "..A", "A[1[x", ".A[1[", "]1]A.", "..[1[",
            ".[1[.",
        ] {
            assert!(!is_alt(bad), "{bad}");
        }
    }
}
