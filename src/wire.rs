//! What goes on the wire: the URL (with the keys, when in the query) and the
//! JSON body with exactly the documented names.

use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, API_PATH};
use crate::options::AuthMode;
use crate::popup::Popup;

/// The JSON body of a popup: the documented names in the documented order,
/// `Tag` only when given. Written by hand (serde_json's exact output, checked
/// by a test) into one right-sized buffer: it is on every popup's path.
pub fn body(popup: &Popup<'_>) -> Vec<u8> {
    let tag = popup.tag();
    let fields = [
        popup.source_number,
        popup.destination_number,
        popup.display_number,
        popup.direction.as_str(),
        popup.call_session_id,
        popup.lead_id,
        tag.unwrap_or(""),
        popup.user_id,
    ];
    // The names and punctuation take 160 bytes; escapes rarely add any.
    let mut out = Vec::with_capacity(176 + fields.iter().map(|f| f.len()).sum::<usize>());
    let field = |out: &mut Vec<u8>, name: &str, value: &str| {
        out.extend_from_slice(name.as_bytes());
        json_string(out, value);
    };
    field(&mut out, "{\"SourceNumber\":", popup.source_number);
    field(
        &mut out,
        ",\"DestinationNumber\":",
        popup.destination_number,
    );
    field(&mut out, ",\"DisplayNumber\":", popup.display_number);
    field(&mut out, ",\"Direction\":", popup.direction.as_str());
    field(&mut out, ",\"CallSessionId\":", popup.call_session_id);
    field(&mut out, ",\"LeadId\":", popup.lead_id);
    if let Some(tag) = tag {
        field(&mut out, ",\"Tag\":", tag);
    }
    field(&mut out, ",\"UserId\":", popup.user_id);
    out.push(b'}');
    out
}

/// A JSON string as serde_json writes it: `"` and `\` escaped, control
/// characters below U+0020 as `\b \t \n \f \r` or `\u00xx`, the rest as is.
fn json_string(out: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[plain..i]);
        plain = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]),
        }
    }
    out.extend_from_slice(&bytes[plain..]);
    out.push(b'"');
}

/// The full request URL; with query auth it carries the keys, so it is
/// wiped when dropped.
pub fn url(endpoint: &Endpoint, credentials: &Credentials, auth: AuthMode) -> Zeroizing<String> {
    let mut url = Zeroizing::new(String::with_capacity(256));
    url.push_str(endpoint.base());
    url.push_str(API_PATH);
    if auth == AuthMode::Query {
        url.push_str("?accessKey=");
        url.push_str(&Zeroizing::new(url_encode(credentials.access_key())));
        url.push_str("&secretKey=");
        url.push_str(&Zeroizing::new(url_encode(credentials.secret_key())));
    }
    url
}

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
    use crate::popup::Direction;

    #[test]
    fn body_has_the_documented_names_and_tag_only_when_given() {
        let mut p = Popup {
            source_number: "+91-8611795988",
            destination_number: "+91-8971373363",
            display_number: "+91-8611795989",
            direction: Direction::Inbound,
            call_session_id: "12345",
            lead_id: "f5c7e023-653c-11e7-b25c-023cca4497b9",
            user_id: "dd908e91-c5c9-11e5-8de3-22000aa5088d",
            tag: None,
        };
        assert_eq!(
            String::from_utf8(body(&p)).unwrap(),
            r#"{"SourceNumber":"+91-8611795988","DestinationNumber":"+91-8971373363","DisplayNumber":"+91-8611795989","Direction":"Inbound","CallSessionId":"12345","LeadId":"f5c7e023-653c-11e7-b25c-023cca4497b9","UserId":"dd908e91-c5c9-11e5-8de3-22000aa5088d"}"#
        );
        p.tag = Some("");
        assert!(!String::from_utf8(body(&p)).unwrap().contains("Tag"));
        p.tag = Some("Tag \"Lead\"");
        p.direction = Direction::Outbound;
        let text = String::from_utf8(body(&p)).unwrap();
        assert!(text.contains(r#""Direction":"Outbound","#));
        assert!(text.contains(r#""Tag":"Tag \"Lead\"","UserId""#));
    }

    #[test]
    fn url_encodes_keys_in_the_query_only_for_query_auth() {
        let e = Endpoint::parse("http://127.0.0.1:8080", false).unwrap();
        let c = Credentials::new("u$a+b", "s/k=&x y").unwrap();
        assert_eq!(
            url(&e, &c, AuthMode::Query).as_str(),
            "http://127.0.0.1:8080/v2/Telephony.svc/ShowAgentPopup?accessKey=u%24a%2Bb&secretKey=s%2Fk%3D%26x%20y"
        );
        assert_eq!(
            url(&e, &c, AuthMode::Header).as_str(),
            "http://127.0.0.1:8080/v2/Telephony.svc/ShowAgentPopup"
        );
    }

    /// The reference: serde_json over the documented struct.
    fn serde_body(p: &Popup<'_>) -> Vec<u8> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Body<'a> {
            source_number: &'a str,
            destination_number: &'a str,
            display_number: &'a str,
            direction: &'a str,
            call_session_id: &'a str,
            lead_id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            tag: Option<&'a str>,
            user_id: &'a str,
        }
        serde_json::to_vec(&Body {
            source_number: p.source_number,
            destination_number: p.destination_number,
            display_number: p.display_number,
            direction: p.direction.as_str(),
            call_session_id: p.call_session_id,
            lead_id: p.lead_id,
            tag: p.tag(),
            user_id: p.user_id,
        })
        .unwrap()
    }

    #[test]
    fn body_is_byte_for_byte_what_serde_json_writes() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::default();
        let text = prop_oneof![any::<String>(), "[\\x00-\\x7f\"\\\\]{0,12}"];
        let strategy = (
            (text.clone(), text.clone(), text.clone(), any::<bool>()),
            (
                text.clone(),
                text.clone(),
                proptest::option::of(text.clone()),
                text,
            ),
        );
        runner
            .run(&strategy, |((s, d, n, out), (c, l, t, u))| {
                let p = Popup {
                    source_number: &s,
                    destination_number: &d,
                    display_number: &n,
                    direction: if out {
                        Direction::Outbound
                    } else {
                        Direction::Inbound
                    },
                    call_session_id: &c,
                    lead_id: &l,
                    user_id: &u,
                    tag: t.as_deref(),
                };
                prop_assert_eq!(
                    String::from_utf8(body(&p)).unwrap(),
                    String::from_utf8(serde_body(&p)).unwrap()
                );
                Ok(())
            })
            .unwrap();
    }
}
