//! "Did you mean" for misspelt names (zoo models, frameworks): the closest known name by
//! Jaro-Winkler similarity (`strsim`), when it is close enough to be the likely intent.

/// Smallest Jaro-Winkler similarity for a name to be offered (`resnt50` vs `resnet50`: 0.97,
/// `crypton` vs `crypten`: 0.94; unrelated names score well below).
const THRESHOLD: f64 = 0.8;

/// The known name closest to `wanted` (case-insensitive), if any is close enough.
pub fn closest<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = wanted.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(&wanted, &k.to_ascii_lowercase()), k))
        .filter(|(score, _)| *score >= THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// ` Did you mean 'NAME'?` for the closest known name, or nothing.
pub fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(wanted, known)
        .map(|k| format!(" Did you mean '{k}'?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_the_closest_name_only_when_close() {
        let known = ["resnet18", "resnet50", "lenet5", "bert-base"];
        assert_eq!(closest("resnt50", known), Some("resnet50"));
        assert_eq!(closest("ResNet18", known), Some("resnet18"));
        assert_eq!(closest("bert_base", known), Some("bert-base"));
        assert_eq!(closest("zzzz", known), None);
        assert_eq!(
            did_you_mean("crypton", ["crypten", "aby3"]),
            " Did you mean 'crypten'?"
        );
        assert_eq!(did_you_mean("qqq", ["crypten"]), "");
    }
}
