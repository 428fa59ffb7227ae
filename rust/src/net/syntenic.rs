//! The fills UCSC's syntenic net leaves out, told from a fill line's key/value fields.

use std::sync::LazyLock;

use memchr::memmem;

/// The smallest fill that kent's `netFilter -syn` keeps whatever its type: a score of
/// 200,000, 20,000 target bases and 10,000 aligned bases (`minSynScore`, `minSynSize`,
/// `minSynAli`).
const SYN_KEEP_SCORE: f64 = 200_000.0;
const SYN_KEEP_T_SIZE: u64 = 20_000;
const SYN_KEEP_ALI: f64 = 10_000.0;

/// Whether the fill of `t_size` target bases on `line` (from its keyword on) is one that
/// UCSC's syntenic net (`netFilter -syn`) leaves out: of `type nonSyn` and smaller than a
/// fill kept whatever its type. Such a fill marks a full net; a fill without a `type` (a
/// net not classified by `netSyntenic`) is not one.
///
/// Fills are a large share of a net's lines, so the type is found by a substring search
/// for the fields `type nonSyn` side by side, and the key/value fields are walked (for the
/// first `score` and `ali`) only for the few `nonSyn` fills of 20,000 target bases or more.
pub(super) fn left_out_of_syntenic_net(t_size: u64, line: &str) -> bool {
    // built once: a searcher set up per line would cost about as much as the search
    static NON_SYN: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"nonSyn"));
    let bytes = line.as_bytes();
    let typed = NON_SYN.find_iter(bytes).any(|i| {
        let key = bytes[..i].trim_ascii_end();
        bytes.get(i + 6).is_none_or(u8::is_ascii_whitespace)
            && key.len() < i
            && key
                .strip_suffix(b"type")
                .and_then(<[u8]>::last)
                .is_some_and(u8::is_ascii_whitespace)
    });
    if !typed || t_size < SYN_KEEP_T_SIZE {
        return typed;
    }
    let (mut score, mut ali) = (None, None);
    let mut extras = line.split_ascii_whitespace().skip(7);
    while let (Some(key), Some(value)) = (extras.next(), extras.next()) {
        match key {
            "score" => _ = score.get_or_insert(value),
            "ali" => _ = ali.get_or_insert(value),
            _ => continue,
        }
        if score.is_some() && ali.is_some() {
            break;
        }
    }
    let number = |value: Option<&str>| value.and_then(|v| v.parse().ok()).unwrap_or(0.0f64);
    !(number(score) >= SYN_KEEP_SCORE && number(ali) >= SYN_KEEP_ALI)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::parse_net;
    use crate::net::tests::{segments, sizes};
    use std::path::Path;

    #[test]
    fn fills_the_syntenic_net_leaves_out_are_counted() {
        // In the gap of a top fill: a small nonSyn fill, which `netFilter -syn` removes,
        // and a nonSyn fill large enough that it keeps it whatever its type; then a fill
        // without a type (not classified by netSyntenic) and a small nonSyn fill on a
        // skipped chromosome
        let text = "net chr1 100000\n fill 0 60000 chrA + 0 60000 id 1 score 900000 ali 50000 \
                    type top\n  gap 100 50000 chrA + 100 10\n   fill 200 400 chrB + 0 300 id 2 \
                    score 5000 ali 280 qDup 0 type nonSyn\n    gap 300 50 chrB + 100 100\n   \
                    fill 1000 30000 chrB + 1000 30000 id 3 score 250000 ali 12000 type nonSyn\n \
                    fill 70000 500 chrA + 70000 500 id 4\n fill 80000 10 chrZ + 0 10 id 5 \
                    score 9 ali 9 type nonSyn\n";
        let (segs, summary) = segments(text, true).unwrap();
        assert_eq!(segs.len(), 6);
        assert_eq!(summary.non_syntenic_fills, 1);
        // target 200-300 against chrB 0-100, target 350-600 against chrB 200-300
        assert_eq!(summary.non_syntenic_bases, 100 + 100);
        assert_eq!(summary.fills, 5);
        for (extras, left_out) in [
            ("type nonSyn score 199999 ali 10000", true),
            ("type nonSyn score 200000 ali 9999", true),
            ("score 200000 ali 10000 type nonSyn", false),
            ("type nonSyn", true),
            ("type syn score 1 ali 1", false),
            ("type inv", false),
            ("score 1 ali 1", false),
            ("score 250000 type nonSyn score 1 ali 12000", false),
            ("id 7 type\tnonSyn\tscore 1", true),
            ("type nonSynX", false),
            ("subtype nonSyn", false),
            ("note nonSyn type inv", false),
        ] {
            let line = format!("fill 0 20000 chrA + 0 20000 {extras}");
            assert_eq!(
                left_out_of_syntenic_net(20_000, &line),
                left_out,
                "{extras}"
            );
        }
        // `nonSyn` elsewhere on the line than as a fill's type
        let text = "net chr1 100000\n fill 0 500 nonSynA + 0 500 id 1 type syn\n fill 600 500 \
                    chrA + 0 500 id 2 note nonSyn type inv\n";
        let t = sizes("a", &[("chr1", 100_000)]);
        let q = sizes("b", &[("chrA", 80_000), ("nonSynA", 1_000)]);
        let summary =
            parse_net(text.as_bytes(), Path::new("x.net"), &t, &q, false, |_| {}).unwrap();
        assert_eq!((summary.fills, summary.non_syntenic_fills), (2, 0));
        assert!(left_out_of_syntenic_net(
            19_999,
            "fill 0 19999 chrA + 0 19999 type nonSyn score 300000 ali 15000"
        ));
    }
}
