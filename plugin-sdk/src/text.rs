//! Message text as providers limit it.

/// Splits `text` into parts of at most `max_chars` characters, in order,
/// cutting after a line break or a space where one falls in the last fifth
/// of a part, so words stay whole when they can. Nothing is dropped: joined
/// back, the parts are `text`.
pub fn split(text: &str, max_chars: usize) -> Vec<&str> {
    split_by(text, max_chars, |_| 1)
}

/// [`split`], counting UTF-16 code units as Telegram does (an emoji outside
/// the basic plane counts twice).
pub fn split_utf16(text: &str, max_units: usize) -> Vec<&str> {
    split_by(text, max_units, char::len_utf16)
}

fn split_by(text: &str, max: usize, units: fn(char) -> usize) -> Vec<&str> {
    assert!(max > 1, "a part holds at least two units");
    // The byte index where `s` reaches `limit` units (its end when it does not).
    let reach = |s: &str, limit: usize| {
        let mut used = 0;
        for (i, c) in s.char_indices() {
            used += units(c);
            if used > limit {
                return i;
            }
        }
        s.len()
    };
    let mut parts = Vec::new();
    let mut rest = text;
    while reach(rest, max) < rest.len() {
        let hard = reach(rest, max);
        let window = &rest[..hard];
        let floor = reach(window, max - max / 5);
        let cut = window
            .rfind('\n')
            .filter(|&i| i >= floor)
            .or_else(|| window.rfind(' ').filter(|&i| i >= floor))
            .map_or(hard, |i| i + 1);
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::{split, split_utf16};

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split("hello", 10), vec!["hello"]);
        assert_eq!(split("", 10), vec![""]);
    }

    #[test]
    fn long_text_splits_at_spaces_and_loses_nothing() {
        let text = "aaaa bbbb cccc dddd";
        let parts = split(text, 10);
        assert_eq!(parts, vec!["aaaa bbbb ", "cccc dddd"]);
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn a_word_longer_than_a_part_is_cut_on_character_boundaries() {
        let text = "ééééééééééé";
        let parts = split(text, 4);
        assert_eq!(parts, vec!["éééé", "éééé", "ééé"]);
        assert!(parts.iter().all(|p| p.chars().count() <= 4));
    }

    #[test]
    fn utf16_counts_astral_characters_twice() {
        let parts = split_utf16("😀😀😀", 4);
        assert_eq!(parts, vec!["😀😀", "😀"]);
    }
}
