//! Edits of a client's profile in any order, with any text: what
//! `updateClient`, `deleteClient` and `restoreClient` do in the domain.
//!
//! Properties: a refused edit changes nothing (no half-applied update); an
//! accepted one stores trimmed text within its limit; the first name is
//! never empty; `updatedAt` never goes back; a deleted client refuses edits
//! until restored; a profile survives its storage round trip.
#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use hub_domain::client::{Client, Gender};
use hub_domain::ids::TenantId;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Edit<'a> {
    FirstName(&'a str),
    LastName(Option<&'a str>),
    MiddleName(Option<&'a str>),
    Gender(Option<bool>),
    /// Days from 1900-01-01.
    DateOfBirth(Option<i32>),
    Address(Option<&'a str>),
    Passport(Option<&'a str>),
    TaxPin(Option<&'a str>),
    Notes(Option<&'a str>),
    Delete,
    Restore,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    first_name: &'a str,
    /// Each edit happens this many seconds after the previous one (or before, if negative).
    edits: Vec<(i16, Edit<'a>)>,
}

fn text_ok(v: Option<&str>) {
    if let Some(v) = v {
        assert!(
            !v.is_empty() && v == v.trim(),
            "stored untrimmed or empty: {v:?}"
        );
    }
}

fuzz_target!(|input: Input<'_>| {
    let start: DateTime<Utc> = DateTime::from_timestamp(1_750_000_000, 0).expect("valid");
    let Ok(mut client) = Client::new(TenantId::new(), input.first_name, start) else {
        assert!(
            input.first_name.trim().is_empty()
                || input.first_name.chars().count() > 100
                || input.first_name.chars().any(char::is_control)
        );
        return;
    };
    let mut now = start;
    for (step, edit) in input.edits {
        now += Duration::seconds(i64::from(step));
        let before = client.record();
        let was_deleted = client.is_deleted();
        let result = match edit {
            Edit::FirstName(v) => client.set_first_name(v, now),
            Edit::LastName(v) => client.set_last_name(v, now),
            Edit::MiddleName(v) => client.set_middle_name(v, now),
            Edit::Gender(v) => client.set_gender(
                v.map(|m| if m { Gender::Male } else { Gender::Female }),
                now,
            ),
            Edit::DateOfBirth(days) => {
                let base = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid");
                let date = days.and_then(|d| base.checked_add_signed(Duration::days(i64::from(d))));
                client.set_date_of_birth(date, now)
            }
            Edit::Address(v) => client.set_address(v, now),
            Edit::Passport(v) => client.set_passport_number(v, now),
            Edit::TaxPin(v) => client.set_tax_pin(v, now),
            Edit::Notes(v) => client.set_notes(v, now),
            Edit::Delete => client.delete(now),
            Edit::Restore => client.restore_deleted(now),
        };
        match &result {
            Err(e) => {
                assert_eq!(
                    client.record(),
                    before,
                    "refused edit ({e}) changed the client"
                );
                assert!(!e.message.is_empty());
            }
            Ok(()) => {
                assert!(
                    client.updated_at() >= before.updated_at,
                    "updatedAt went back"
                );
                assert!(
                    !was_deleted || client.deleted_at().is_none(),
                    "a deleted client accepted an edit other than restore"
                );
            }
        }
        assert!(!client.first_name().is_empty());
        assert_eq!(client.first_name(), client.first_name().trim());
        for v in [
            client.last_name(),
            client.middle_name(),
            client.address(),
            client.passport_number(),
            client.tax_pin(),
            client.notes(),
        ] {
            text_ok(v);
        }
        if let Some(d) = client.date_of_birth() {
            assert!(d >= NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid"));
        }
        assert!(client.display_name().starts_with(client.first_name()));
        assert_eq!(
            Client::restore(client.record()),
            client,
            "storage round trip"
        );
    }
});
