//! Contact values as the API and the plugins hand them in: e-mail
//! addresses, phone numbers (with or without a default region), handles.
//!
//! Properties: a value that parses is canonical (parsing it again, without a
//! region, gives the same value: stored contacts are matched by it); it is
//! trimmed and free of control characters; a refusal names the `value`
//! field. The opt-out keyword reader only fires on a message that is the
//! keyword.
#![no_main]

use arbitrary::Arbitrary;
use hub_domain::contact::{ConsentStatus, ContactKind, ContactValue};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    kind: u8,
    raw: &'a str,
    region: Option<&'a str>,
}

fuzz_target!(|input: Input<'_>| {
    let kind = ContactKind::ALL[usize::from(input.kind) % ContactKind::ALL.len()];
    match ContactValue::parse(kind, input.raw, input.region) {
        Ok(value) => {
            let s = value.as_str();
            assert!(
                !s.is_empty(),
                "{kind:?}: empty value accepted from {:?}",
                input.raw
            );
            assert_eq!(s, s.trim(), "{kind:?}: value kept surrounding spaces");
            assert!(
                !s.chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r'),
                "{kind:?}: control characters in {s:?}"
            );
            let again = ContactValue::parse(kind, s, None)
                .unwrap_or_else(|e| panic!("{kind:?}: canonical {s:?} no longer parses: {e}"));
            assert_eq!(again, value, "{kind:?}: {s:?} is not canonical");
        }
        Err(e) => {
            assert_eq!(e.field, "value", "{kind:?}: error names {}", e.field);
            assert!(!e.message.is_empty());
        }
    }
    if let Some((_, keyword)) = ConsentStatus::from_keyword(input.raw) {
        let word = input.raw.trim().trim_end_matches(['.', '!']).trim_end();
        assert!(
            word.eq_ignore_ascii_case(keyword),
            "{:?} read as {keyword}",
            input.raw
        );
    }
});
