//! Small text helpers shared by logs and error messages.

/// At most `n` characters of `s`, with `…` when cut: upstream text reaches an error message or
/// a log line only as a bounded excerpt.
pub fn excerpt(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cuts_on_characters_not_bytes() {
        assert_eq!(super::excerpt("héllo", 2), "hé…");
        assert_eq!(super::excerpt("hé", 2), "hé");
    }
}
