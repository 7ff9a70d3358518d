use unicode_normalization::UnicodeNormalization;

use super::Invalid;

pub const MAX_KEYWORD_CHARS: usize = 64;

/// Text as the search index holds it: NFKC (full-width and half-width forms become one), then
/// lower case, with control characters dropped (they separate fields in the index).
pub fn fold(text: &str) -> String {
    text.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_control())
        .collect()
}

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

    #[test]
    fn long_keywords_are_refused() {
        assert!(Keyword::parse(Some(&"字".repeat(64))).is_ok());
        assert!(Keyword::parse(Some(&"字".repeat(65))).is_err());
    }
}
