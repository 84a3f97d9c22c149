//! Glob patterns over raw bytes, as Redis matches them (`KEYS`, `SCAN MATCH`, `PSUBSCRIBE`).
//!
//! The grammar is Redis's `stringmatchlen`, case-sensitive:
//!
//! - `*` matches any run of bytes, `?` exactly one byte;
//! - `[abc]` one byte of the set, `[^abc]` one byte not in it, `[a-z]` a range (a reversed
//!   range `[z-a]` means the same), `\x` inside a set is `x` taken literally;
//! - `\x` elsewhere matches `x` literally; a trailing `\` matches a backslash;
//! - every other byte matches itself.
//!
//! Redis's corner cases are kept on purpose, so a pattern selects the same keys here as
//! there: `]` right after `[` (or `[^`) closes the set, so `[]` matches nothing and `[^]`
//! matches any byte; a set missing its `]` runs to the end of the pattern; `[a-]` is the
//! range from `a` to `]` and the set goes on to the next `]`; an empty text matches only
//! the empty pattern. Two deliberate differences: a range compares bytes as unsigned
//! (Redis compares C `char`, which is signed on x86 and unsigned on ARM), and the pattern
//! `*` alone also matches the empty text, as `KEYS *` and `SCAN` do in Redis, which skip
//! the matcher for it.
//!
//! Time is bounded: every token other than `*` consumes exactly one byte, so only the most
//! recent `*` ever needs to be retried (the classic single-backtrack-point algorithm). A
//! match costs at most `O(pattern.len() * text.len())`, whatever the pattern; Redis's
//! recursive matcher needs an explicit nesting limit for the same guarantee.

/// Whether `text` matches the glob `pattern` (Redis `stringmatchlen` semantics, see the
/// module documentation).
///
/// # Examples
///
/// ```
/// use floe_core::glob::glob_match;
///
/// assert!(glob_match(b"user:*:name", b"user:42:name"));
/// assert!(glob_match(b"h[ae]llo", b"hello"));
/// assert!(!glob_match(b"h[^e]llo", b"hello"));
/// ```
#[must_use]
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    if text.is_empty() {
        return pattern.is_empty() || pattern == b"*";
    }
    let mut pattern_index = 0;
    let mut text_index = 0;
    // The most recent `*`: where the pattern resumes after it, and the text index at which
    // that resumed pattern was last tried. Older stars never need a retry: any match that
    // moves one of them can be had by moving the newest one instead.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&byte) = text.get(text_index) {
        match pattern.get(pattern_index) {
            Some(b'*') => {
                while pattern.get(pattern_index) == Some(&b'*') {
                    pattern_index += 1;
                }
                if pattern_index == pattern.len() {
                    return true;
                }
                star = Some((pattern_index, text_index));
                continue;
            }
            Some(_) => {
                let (matched, pattern_next) = glob_match_token(pattern, pattern_index, byte);
                if matched {
                    assert!(
                        pattern_next > pattern_index,
                        "pattern_index={pattern_index}"
                    );
                    pattern_index = pattern_next;
                    text_index += 1;
                    continue;
                }
            }
            None => {}
        }
        // Mismatch, or pattern exhausted with text left: let the newest `*` eat one more byte.
        let Some((pattern_resume, text_start)) = star else {
            return false;
        };
        assert!(
            text_start <= text_index,
            "text_start={text_start} text_index={text_index}"
        );
        star = Some((pattern_resume, text_start + 1));
        pattern_index = pattern_resume;
        text_index = text_start + 1;
    }
    while pattern.get(pattern_index) == Some(&b'*') {
        pattern_index += 1;
    }
    pattern_index == pattern.len()
}

/// The longest prefix of `pattern` without a special byte (`*`, `?`, `[`, `\`): every text
/// that `pattern` matches starts with it, so a prefix scan can seek to it and stop once keys
/// no longer start with it. When it is the whole pattern, the pattern is one exact key.
///
/// # Examples
///
/// ```
/// use floe_core::glob::literal_prefix;
///
/// assert_eq!(literal_prefix(b"user:*:name"), b"user:");
/// assert_eq!(literal_prefix(b"exact"), b"exact");
/// assert_eq!(literal_prefix(b"a\\*b"), b"a");
/// ```
#[must_use]
pub fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let end = pattern
        .iter()
        .position(|byte| matches!(byte, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    pattern.split_at(end).0
}

/// Whether the token at `pattern_index` (not a `*`) matches `byte`, and where the next
/// token starts. The end of a token never depends on the byte.
fn glob_match_token(pattern: &[u8], pattern_index: usize, byte: u8) -> (bool, usize) {
    let rest = pattern.get(pattern_index..).unwrap_or(&[]);
    match rest {
        [b'?', ..] => (true, pattern_index + 1),
        [b'[', ..] => glob_match_token_set(pattern, pattern_index + 1, byte),
        [b'\\', escaped, ..] => (*escaped == byte, pattern_index + 2),
        [literal, ..] => (*literal == byte, pattern_index + 1),
        [] => unreachable!("called at the end of the pattern"),
    }
}

/// Matches `byte` against the set that starts at `pattern_index` (just after its `[`), and
/// returns where the next token starts (after the `]`, or the pattern's end).
fn glob_match_token_set(pattern: &[u8], mut pattern_index: usize, byte: u8) -> (bool, usize) {
    let negated = pattern.get(pattern_index) == Some(&b'^');
    if negated {
        pattern_index += 1;
    }
    let mut matched = false;
    // Each iteration consumes 1 to 3 bytes, so the loop ends within pattern.len() turns.
    loop {
        match pattern.get(pattern_index..).unwrap_or(&[]) {
            [] => return (matched != negated, pattern.len()),
            [b'\\', escaped, ..] => {
                matched |= *escaped == byte;
                pattern_index += 2;
            }
            [b']', ..] => return (matched != negated, pattern_index + 1),
            [start, b'-', end, ..] => {
                let (low, high) = if start <= end {
                    (start, end)
                } else {
                    (end, start)
                };
                matched |= (*low..=*high).contains(&byte);
                pattern_index += 3;
            }
            [literal, ..] => {
                matched |= *literal == byte;
                pattern_index += 1;
            }
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::{glob_match, literal_prefix};
    use proptest::prelude::*;

    /// Redis's recursive `stringmatchlen`, transcribed index by index, as the model: simple
    /// enough to trust, exponential on some patterns, so only used on small inputs.
    fn reference(pattern: &[u8], text: &[u8]) -> bool {
        let (mut p, mut t) = (0, 0);
        while p < pattern.len() && t < text.len() {
            match pattern[p] {
                b'*' => {
                    while p + 1 < pattern.len() && pattern[p + 1] == b'*' {
                        p += 1;
                    }
                    if p + 1 == pattern.len() {
                        return true;
                    }
                    return (t..text.len())
                        .any(|start| reference(&pattern[p + 1..], &text[start..]));
                }
                b'?' => t += 1,
                b'[' => {
                    p += 1;
                    let negated = p < pattern.len() && pattern[p] == b'^';
                    if negated {
                        p += 1;
                    }
                    let mut matched = false;
                    loop {
                        if p + 1 < pattern.len() && pattern[p] == b'\\' {
                            p += 1;
                            matched |= pattern[p] == text[t];
                        } else if p < pattern.len() && pattern[p] == b']' {
                            break;
                        } else if p == pattern.len() {
                            p -= 1;
                            break;
                        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' {
                            let (low, high) = (
                                pattern[p].min(pattern[p + 2]),
                                pattern[p].max(pattern[p + 2]),
                            );
                            matched |= low <= text[t] && text[t] <= high;
                            p += 2;
                        } else {
                            matched |= pattern[p] == text[t];
                        }
                        p += 1;
                    }
                    if matched == negated {
                        return false;
                    }
                    t += 1;
                }
                b'\\' => {
                    if p + 1 < pattern.len() {
                        p += 1;
                    }
                    if pattern[p] != text[t] {
                        return false;
                    }
                    t += 1;
                }
                literal => {
                    if literal != text[t] {
                        return false;
                    }
                    t += 1;
                }
            }
            p += 1;
            if t == text.len() {
                while p < pattern.len() && pattern[p] == b'*' {
                    p += 1;
                }
                break;
            }
        }
        p == pattern.len() && t == text.len()
    }

    /// `glob_match` must agree with Redis except where the module documents otherwise.
    fn expected(pattern: &[u8], text: &[u8]) -> bool {
        reference(pattern, text) || (pattern == b"*" && text.is_empty())
    }

    fn check(pattern: &str, text: &str, matches: bool) {
        let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
        assert_eq!(
            glob_match(pattern, text),
            matches,
            "pattern={pattern:?} text={text:?}"
        );
        assert_eq!(
            reference(pattern, text) || (pattern == b"*" && text.is_empty()),
            matches
        );
    }

    #[test]
    fn glob_literals_and_wildcards() {
        check("", "", true);
        check("", "a", false);
        check("abc", "abc", true);
        check("abc", "abd", false);
        check("abc", "ab", false);
        check("abc", "abcd", false);
        check("ABC", "abc", false);
        check("?", "a", true);
        check("?", "", false);
        check("?", "ab", false);
        check("a?c", "abc", true);
        check("*", "", true);
        check("*", "anything", true);
        check("**", "", false);
        check("a*", "a", true);
        check("*a", "a", true);
        check("*a", "ba", true);
        check("*a", "ab", false);
        check("a*b*c", "aXXbYYc", true);
        check("a*b*c", "aXXbYY", false);
        check("*ab", "aab", true);
        check("h*llo", "hllo", true);
        check("user:*:name", "user:1:2:name", true);
    }

    #[test]
    fn glob_sets_and_ranges() {
        check("h[ae]llo", "hallo", true);
        check("h[ae]llo", "hillo", false);
        check("h[^e]llo", "hallo", true);
        check("h[^e]llo", "hello", false);
        check("h[a-b]llo", "hbllo", true);
        check("h[a-b]llo", "hcllo", false);
        check("[z-a]", "m", true);
        check("[0-9][0-9]", "42", true);
        check("[]", "a", false);
        check("[]", "]", false);
        check("[^]", "x", true);
        check("[]a]", "]", false);
        check("[]a]", "]a]", false);
        check("[abc", "b", true);
        check("[abc", "d", false);
        check("[^", "x", true);
        check("[", "[", false);
        check("[a-]", "a", true);
        check("[a-]", "_", true);
        check("[a-]", "b", false);
        check("[a-]x]", "]", true);
        check("[\\]]", "]", true);
        check("[\\-]", "-", true);
        check("[a\\", "\\", true);
        check("[-a]", "-", true);
    }

    #[test]
    fn glob_escapes() {
        check("\\*", "*", true);
        check("\\*", "a", false);
        check("a\\?", "a?", true);
        check("a\\?", "ab", false);
        check("\\[a]", "[a]", true);
        check("\\", "\\", true);
        check("ab\\", "ab\\", true);
        check("\\a", "a", true);
    }

    #[test]
    fn glob_raw_bytes() {
        assert!(glob_match(b"\xff*", b"\xff\x00\x80"));
        assert!(glob_match(b"[\x80-\xff]", b"\xc3"));
        assert!(!glob_match(b"[\x80-\xff]", b"\x7f"));
        assert!(glob_match(b"?", b"\x00"));
    }

    /// Redis once hung on `KEYS a*a*a*...b` (exponential backtracking); here the same kind
    /// of pattern against a long text must finish at once.
    #[test]
    fn glob_adversarial_pattern_is_fast() {
        let mut pattern = "a*".repeat(64).into_bytes();
        pattern.push(b'b');
        let text = vec![b'a'; 16 * 1024];
        let start = std::time::Instant::now();
        assert!(!glob_match(&pattern, &text));
        let mut text_ending = text.clone();
        text_ending.push(b'b');
        assert!(glob_match(&pattern, &text_ending));
        let set_pattern = "[a-z]*".repeat(64) + "[0-9]";
        assert!(!glob_match(set_pattern.as_bytes(), &text));
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn glob_literal_prefix() {
        assert_eq!(literal_prefix(b""), b"");
        assert_eq!(literal_prefix(b"*"), b"");
        assert_eq!(literal_prefix(b"abc"), b"abc");
        assert_eq!(literal_prefix(b"abc*"), b"abc");
        assert_eq!(literal_prefix(b"ab?c"), b"ab");
        assert_eq!(literal_prefix(b"ab[c]"), b"ab");
        assert_eq!(literal_prefix(b"ab\\*"), b"ab");
        assert_eq!(literal_prefix(b"a]^-b"), b"a]^-b");
    }

    fn pattern_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::sample::select(b"ab*?[]^-\\".to_vec()), 0..10)
    }

    fn text_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::sample::select(b"ab]-^\\*".to_vec()), 0..10)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn glob_agrees_with_recursive_reference(pattern in pattern_strategy(), text in text_strategy()) {
            prop_assert_eq!(glob_match(&pattern, &text), expected(&pattern, &text));
        }

        #[test]
        fn glob_matches_start_with_literal_prefix(pattern in pattern_strategy(), text in text_strategy()) {
            if glob_match(&pattern, &text) {
                prop_assert!(text.starts_with(literal_prefix(&pattern)));
            }
        }

        #[test]
        fn glob_literal_pattern_matches_itself(text in proptest::collection::vec(any::<u8>(), 1..16)) {
            if literal_prefix(&text) == text.as_slice() {
                prop_assert!(glob_match(&text, &text));
            }
        }
    }
}
