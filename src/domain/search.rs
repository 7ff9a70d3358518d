use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

use super::Invalid;

pub const MAX_KEYWORD_CHARS: usize = 64;

/// Text as the search index holds it (CONTRACT section 7: NFKC and case folding), the one place
/// that folds: the Lua scripts compare the folded bytes as they are.
///
/// Unicode's compatibility caseless matching (D146: NFKD(fold(NFKD(fold(NFD(x)))))), with the
/// full default case folding of the `caseless` crate, so `ß`/`ẞ`/`SS`/`ss`, `ς`/`σ`/`Σ`,
/// `ﬁ`/`fi` and `ＡＢＣ`/`abc`/`ABC` each fold to one text; then composed again (NFC, so the
/// result is NFKC and an accented letter stays one character: `e` does not find `é`); then the
/// dot above that folding leaves on a dotted capital I (`İ` folds to `i` + U+0307) is dropped, so
/// `İstanbul` is found by `istanbul` (the dotless `ı` stays its own letter: not the Turkish
/// folding, which would turn every `I` into `ı`); control characters are dropped (they separate
/// fields in the index).
pub fn fold(text: &str) -> String {
    let folded: String = text
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .filter(|c| !c.is_control())
        .collect();
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c == COMBINING_DOT_ABOVE && out.ends_with('i') {
            continue;
        }
        out.push(c);
    }
    out
}

const COMBINING_DOT_ABOVE: char = '\u{307}';

/// A search keyword, folded; empty means "every room".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyword(String);

impl Keyword {
    pub fn parse(raw: Option<&str>) -> Result<Self, Invalid> {
        let raw = raw.unwrap_or("").trim();
        let chars = raw.chars().count();
        if chars > MAX_KEYWORD_CHARS {
            return Err(Invalid::new(format!(
                "keyword must be at most {MAX_KEYWORD_CHARS} characters (got {chars})"
            )));
        }
        Ok(Self(fold(raw)))
    }

    pub fn folded(&self) -> &str {
        &self.0
    }
}

/// The text a room is found by: its title and its anchor's nick, folded, as two fields.
pub fn room_text(title: &str, nick: &str) -> String {
    format!("{}\u{1f}{}", fold(title), fold(nick))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_case_fold_together() {
        assert_eq!(fold("ＡＢＣ"), "abc");
        assert_eq!(fold("ABC"), "abc");
        assert_eq!(fold("直播 Ｌｉｖｅ"), "直播 live");
    }

    /// Each group folds to one text, which is what a keyword of any of them finds.
    fn same(group: &[&str]) {
        let first = fold(group[0]);
        for text in group {
            assert_eq!(fold(text), first, "{text:?} vs {:?}", group[0]);
        }
    }

    #[test]
    fn case_folding_is_full_not_lower_case() {
        // to_lowercase leaves ß, ς and ﬁ as they are
        same(&["STRASSE", "straße", "Strasse", "STRAẞE"]);
        assert_eq!(fold("ß"), "ss");
        same(&["ΟΔΟΣ", "οδος", "οδοσ", "Οδος"]);
        same(&["ς", "σ", "Σ"]);
        same(&["ﬁle", "file", "FILE", "ＦＩＬＥ"]);
        // a substring across the folding matches as well
        assert!(fold("Die Straße am Fluss").contains(&fold("STRASSE")));
        assert!(fold("ΚΑΛΗΜΕΡΑ ΚΟΣΜΟΣ").contains(&fold("κοσμος")));
    }

    #[test]
    fn dotted_capital_i_finds_i_and_dotless_i_stays_apart() {
        same(&["İstanbul", "istanbul", "ISTANBUL", "Istanbul"]);
        assert_eq!(fold("İ"), "i");
        // ı is a letter of its own (its capital is I, but I folds to i outside Turkish)
        assert_eq!(fold("ı"), "ı");
        assert_ne!(fold("ıstanbul"), fold("istanbul"));
        // a dot above anything else, or an i with other marks, is kept
        assert_eq!(fold("i\u{301}"), "í");
        assert_eq!(fold("a\u{307}"), "ȧ");
    }

    #[test]
    fn accents_stay_and_controls_go() {
        assert_eq!(fold("Café"), "café");
        assert_eq!(fold("Cafe\u{301}"), "café");
        assert!(!fold("café").contains("cafe"));
        assert_eq!(fold("a\u{1f}b\n"), "ab");
        // Hangul stays composed (one character each, as the index counts them)
        assert_eq!(fold("한국어").chars().count(), 3);
    }

    #[test]
    fn long_keywords_are_refused() {
        assert!(Keyword::parse(Some(&"字".repeat(64))).is_ok());
        assert!(Keyword::parse(Some(&"字".repeat(65))).is_err());
    }
}
