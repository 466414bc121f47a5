//! Operands in words: how a lowering error says which operand visibilities an op was given
//! ("gather with a secret table and secret indices") instead of a case pattern ("ss").

use crate::graph::Visibility;

/// The phrase naming each operand of an op, `{}` standing for its visibility.
fn operand_phrases(op_name: &str) -> &'static [&'static str] {
    match op_name {
        "gather" => &["a {} table", "{} indices"],
        "gather_grad" => &["a {} gradient", "{} indices"],
        "linear" => &["a {} input", "a {} weight", "a {} bias"],
        "conv2d" => &["a {} input", "a {} weight", "a {} bias"],
        "mat_mul" => &["a {} left matrix", "a {} right matrix"],
        "div" => &["a {} dividend", "a {} divisor"],
        "layer_norm" => &["a {} input", "a {} scale", "a {} shift"],
        "batch_norm" => &[
            "a {} input",
            "a {} scale",
            "a {} shift",
            "a {} mean",
            "a {} variance",
        ],
        _ => &[
            "a {} first operand",
            "a {} second operand",
            "a {} third operand",
            "a {} fourth operand",
            "a {} fifth operand",
        ],
    }
}

/// The word for a visibility.
fn visibility_word(v: Visibility) -> &'static str {
    match v {
        Visibility::Secret => "secret",
        Visibility::Public => "public",
        Visibility::Server => "server-held",
    }
}

/// The word for a case-pattern letter (`*` matches any visibility: no word).
fn letter_word(letter: char) -> Option<&'static str> {
    match letter {
        's' => Some("secret"),
        'p' => Some("public"),
        'v' => Some("server-held"),
        _ => None,
    }
}

/// Joins phrases as "a, b and c".
fn join_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn phrase(op_name: &str, index: usize, word: &str) -> String {
    let phrases = operand_phrases(op_name);
    let template = phrases
        .get(index)
        .copied()
        .unwrap_or("a {} further operand");
    template.replace("{}", word)
}

/// "gather with a secret table and secret indices": the op applied to operands of these
/// visibilities.
pub fn describe_application(op_name: &str, visibilities: &[Visibility]) -> String {
    let parts: Vec<String> = visibilities
        .iter()
        .enumerate()
        .map(|(i, &v)| phrase(op_name, i, visibility_word(v)))
        .collect();
    if parts.is_empty() {
        op_name.to_string()
    } else {
        format!("{op_name} with {}", join_words(&parts))
    }
}

/// The operands a case pattern stands for, in words ("a secret table and public indices");
/// wildcards and operands the pattern leaves out are not named, and a pattern of wildcards
/// only is "any operands".
pub fn describe_case(op_name: &str, pattern: &str) -> String {
    let parts: Vec<String> = pattern
        .chars()
        .enumerate()
        .filter_map(|(i, c)| letter_word(c).map(|w| phrase(op_name, i, w)))
        .collect();
    if parts.is_empty() {
        "any operands".to_string()
    } else {
        join_words(&parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Visibility::{Public, Secret, Server};

    #[test]
    fn applications_and_cases_read_as_sentences() {
        assert_eq!(
            describe_application("gather", &[Secret, Secret]),
            "gather with a secret table and secret indices"
        );
        assert_eq!(
            describe_application("mat_mul", &[Secret, Server]),
            "mat_mul with a secret left matrix and a server-held right matrix"
        );
        assert_eq!(
            describe_application("relu", &[Public]),
            "relu with a public first operand"
        );
        assert_eq!(
            describe_case("gather", "sp"),
            "a secret table and public indices"
        );
        assert_eq!(
            describe_case("linear", "s*p"),
            "a secret input and a public bias"
        );
        assert_eq!(describe_case("div", "*s"), "a secret divisor");
        assert_eq!(describe_case("add", "**"), "any operands");
        assert_eq!(
            describe_application("add", &[Secret, Public, Secret, Secret, Secret, Secret]),
            "add with a secret first operand, a public second operand, a secret third operand, \
             a secret fourth operand, a secret fifth operand and a secret further operand"
        );
    }
}
