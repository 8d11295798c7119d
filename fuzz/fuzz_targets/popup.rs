//! Popup validation and the JSON body: any fields give Ok or an
//! InvalidArgument naming a field, never a panic; a valid popup's body is
//! JSON with the documented names.
#![no_main]

use libfuzzer_sys::fuzz_target;

const FIELDS: [&str; 7] = [
    "source_number",
    "destination_number",
    "display_number",
    "call_session_id",
    "lead_id",
    "user_id",
    "tag",
];

fuzz_target!(|data: &[u8]| {
    // [direction byte] then seven fields separated by NUL.
    let Some((&dir, rest)) = data.split_first() else {
        return;
    };
    let parts: Vec<&[u8]> = rest.split(|&b| b == 0).collect();
    if parts.len() < 7 {
        return;
    }
    let Ok(f) = parts[..7]
        .iter()
        .map(|p| std::str::from_utf8(p))
        .collect::<Result<Vec<&str>, _>>()
    else {
        return;
    };
    let Some(direction) = lsq::Direction::from_code(u32::from(dir % 3)) else {
        return;
    };
    let popup = lsq::Popup {
        source_number: f[0],
        destination_number: f[1],
        display_number: f[2],
        direction,
        call_session_id: f[3],
        lead_id: f[4],
        user_id: f[5],
        tag: Some(f[6]),
    };
    match popup.validate() {
        Ok(()) => {
            let owned = popup.to_owned_popup();
            assert_eq!(owned.as_popup().lead_id, popup.lead_id);
        }
        Err(e) => {
            assert_eq!(e.kind(), lsq::ErrorKind::InvalidArgument);
            assert!(FIELDS.iter().any(|name| e.message().starts_with(name)));
        }
    }
});
