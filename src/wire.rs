//! What goes on the wire: the URL (with the keys, when in the query) and the
//! JSON body with exactly the documented names.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, API_PATH};
use crate::options::AuthMode;
use crate::popup::Popup;

/// The body. Field order follows LeadSquared's documentation.
#[derive(Serialize)]
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

/// The JSON body of a popup.
pub fn body(popup: &Popup<'_>) -> Vec<u8> {
    let body = Body {
        source_number: popup.source_number,
        destination_number: popup.destination_number,
        display_number: popup.display_number,
        direction: popup.direction.as_str(),
        call_session_id: popup.call_session_id,
        lead_id: popup.lead_id,
        tag: popup.tag(),
        user_id: popup.user_id,
    };
    // Serialising borrowed strings into a Vec cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
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
}
