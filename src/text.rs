//! Small text helpers shared by logs and error messages.

/// At most `n` characters of `s`, with `…` when cut: upstream text reaches an error message or
/// a log line only as a bounded excerpt.
pub fn excerpt(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The candidate closest to `typed`, when close enough to be a likely typo: for "did you
/// mean" hints (the same measure clap uses for misspelt subcommands).
pub fn closest<'a>(typed: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let typed = typed.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&typed, &c.to_lowercase()), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_only_likely_typos() {
        let known = ["acme", "globex", "order_update"];
        assert_eq!(super::closest("acm", &known), Some("acme"));
        assert_eq!(super::closest("order_updat", &known), Some("order_update"));
        assert_eq!(super::closest("zzz", &known), None);
    }

    #[test]
    fn cuts_on_characters_not_bytes() {
        assert_eq!(super::excerpt("héllo", 2), "hé…");
        assert_eq!(super::excerpt("hé", 2), "hé");
    }
}
