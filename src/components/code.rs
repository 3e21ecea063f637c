//! One-time codes as people type them: "123 456", "123456 ".

/// The six digits of a typed one-time code, or `None` when it is not six
/// digits once spaces are taken out.
pub(crate) fn six_digits(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == 6 && code.chars().all(|c| c.is_ascii_digit())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::six_digits;

    #[test]
    fn six_digits_with_spaces_are_a_code_and_anything_else_is_not() {
        assert_eq!(six_digits(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(six_digits("12345"), None);
        assert_eq!(six_digits("1234567"), None);
        assert_eq!(six_digits("12345a"), None);
        assert_eq!(six_digits("１２３４５６"), None);
    }
}
