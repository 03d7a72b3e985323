//! The market of a recipient, as Meta's rate card groups countries: the calling code of a
//! phone number (or the country prefix of a business-scoped user id) gives a country, and the
//! country a market. Countries the built-in card does not name are `Other`.

/// Calling codes of the countries the built-in card prices on their own or in a named group,
/// with their ISO code. Longest prefix first when looking up. The migration that backfilled
/// `template_daily_countries` (000016) uses the same list.
const CALLING_CODES: &[(&str, &str)] = &[
    ("1", "US"),
    ("91", "IN"),
    ("55", "BR"),
    ("62", "ID"),
    ("52", "MX"),
    ("49", "DE"),
    ("44", "GB"),
    ("34", "ES"),
    ("39", "IT"),
    ("33", "FR"),
    ("966", "SA"),
    ("971", "AE"),
    ("43", "AT"),
    ("32", "BE"),
    ("45", "DK"),
    ("358", "FI"),
    ("30", "GR"),
    ("353", "IE"),
    ("31", "NL"),
    ("47", "NO"),
    ("351", "PT"),
    ("46", "SE"),
    ("41", "CH"),
];

/// The ISO country of a recipient (`ZZ` when unknown): a user id's prefix, or the longest
/// calling code its digits start with.
pub fn country_of(recipient: &str) -> String {
    if let Some(id) = crate::domain::bsuid(recipient) {
        return id[..2].to_string();
    }
    let digits = recipient.trim().trim_start_matches('+');
    CALLING_CODES
        .iter()
        .filter(|(code, _)| digits.starts_with(code))
        .max_by_key(|(code, _)| code.len())
        .map_or_else(|| "ZZ".to_string(), |(_, iso)| (*iso).to_string())
}

/// Meta's market name of an ISO country.
pub fn market_of(country: &str) -> &'static str {
    match country {
        "US" | "CA" => "North America",
        "IN" => "India",
        "BR" => "Brazil",
        "ID" => "Indonesia",
        "MX" => "Mexico",
        "DE" => "Germany",
        "GB" => "United Kingdom",
        "ES" => "Spain",
        "IT" => "Italy",
        "FR" => "France",
        "SA" => "Saudi Arabia",
        "AE" => "United Arab Emirates",
        "AT" | "BE" | "DK" | "FI" | "GR" | "IE" | "NL" | "NO" | "PT" | "SE" | "CH" => {
            "Rest of Western Europe"
        }
        _ => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_calling_code_wins() {
        assert_eq!(country_of("+919876543210"), "IN");
        assert_eq!(country_of("15551234567"), "US");
        assert_eq!(country_of("966501234567"), "SA");
        assert_eq!(country_of("35312345678"), "IE");
        assert_eq!(country_of("8613800000000"), "ZZ");
        assert_eq!(country_of("br.1234567890"), "BR");
        assert_eq!(market_of("IE"), "Rest of Western Europe");
        assert_eq!(market_of("ZZ"), "Other");
    }
}
