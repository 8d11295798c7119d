//! Percent-encoding for query values (the keys, a phone number, an e-mail).

/// Percent-encodes everything but RFC 3986's unreserved characters: a key
/// may hold `+`, `/`, `=` or `&`, which must not change the query's meaning.
pub fn url_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len() * 3);
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_escaped_with_upper_case_hex() {
        assert_eq!(url_encode("u$a+b"), "u%24a%2Bb");
        assert_eq!(url_encode("s/k=&x y"), "s%2Fk%3D%26x%20y");
        assert_eq!(url_encode("a-b.c_d~9"), "a-b.c_d~9");
        assert_eq!(url_encode("é"), "%C3%A9");
    }
}
