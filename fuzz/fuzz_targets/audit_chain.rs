//! The audit log's hash chain (`hub audit verify`), over entries with any
//! content and any one tampering.
//!
//! Properties: an untouched chain verifies and reports its head; editing an
//! entry's content is reported as that entry edited; removing an entry
//! inside the log is reported at the entry after it, removing the newest as
//! truncation; a digest survives the entry's JSON round trip (what the
//! database stores and gives back).
#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, Utc};
use hub_domain::audit::{Break, EntryContent, StoredEntry, Verifier, digest, link};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

#[derive(Arbitrary, Debug)]
struct Entry<'a> {
    kind: &'a str,
    actor: &'a str,
    target: &'a str,
    text: &'a str,
    number: i64,
    ratio: f64,
    /// JSON of the entry's data, when it parses.
    raw_data: &'a str,
    nanos: u32,
}

#[derive(Arbitrary, Debug)]
enum Tamper<'a> {
    None,
    Edit { at: usize, text: &'a str },
    Remove { at: usize },
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    entries: Vec<Entry<'a>>,
    tamper: Tamper<'a>,
}

struct Written {
    seq: i64,
    id: String,
    kind: String,
    actor: String,
    target: String,
    data: Value,
    at: DateTime<Utc>,
    digest: String,
    chain: String,
}

fn content_digest(w: &Written) -> String {
    digest(&EntryContent {
        id: &w.id,
        tenant: "tenant:acme",
        kind: &w.kind,
        actor: &w.actor,
        target: &w.target,
        data: &w.data,
        at: w.at,
    })
}

fuzz_target!(|input: Input<'_>| {
    let mut chain = String::new();
    let mut log = Vec::new();
    for (i, e) in input.entries.iter().enumerate().take(64) {
        let data = serde_json::from_str::<Value>(e.raw_data).unwrap_or_else(|_| {
            json!({ "text": e.text, "number": e.number, "ratio": serde_json::Number::from_f64(e.ratio) })
        });
        let at = DateTime::from_timestamp(1_750_000_000 + i as i64, e.nanos % 1_000_000_000)
            .expect("valid");
        let mut w = Written {
            seq: i as i64 + 1,
            id: format!("event:{i}"),
            kind: e.kind.to_owned(),
            actor: e.actor.to_owned(),
            target: e.target.to_owned(),
            data,
            at,
            digest: String::new(),
            chain: String::new(),
        };
        w.digest = content_digest(&w);
        let stored: Value = serde_json::from_str(&w.data.to_string()).expect("own JSON");
        let reread = Written {
            data: stored,
            digest: String::new(),
            chain: String::new(),
            id: w.id.clone(),
            kind: w.kind.clone(),
            actor: w.actor.clone(),
            target: w.target.clone(),
            ..w
        };
        assert_eq!(
            content_digest(&reread),
            w.digest,
            "the digest changed across a JSON round trip"
        );
        w = Written {
            data: reread.data,
            ..w
        };
        chain = link(&chain, &w.digest);
        w.chain = chain.clone();
        log.push(w);
    }
    let head = (chain.clone(), log.len() as u64);
    let mut expected: Option<Break> = None;
    match input.tamper {
        Tamper::None => {}
        Tamper::Edit { at, text } if !log.is_empty() => {
            let i = at % log.len();
            let new = json!({ "edited": text });
            if log[i].data != new {
                log[i].data = new;
                expected = Some(Break::Edited { seq: log[i].seq });
            }
        }
        Tamper::Remove { at } if !log.is_empty() => {
            let i = at % log.len();
            log.remove(i);
            expected = Some(match log.get(i) {
                Some(next) => Break::Unlinked { seq: next.seq },
                None => Break::Truncated {
                    found: log.len() as u64,
                    expected: head.1,
                },
            });
        }
        _ => {}
    }
    let mut verifier = Verifier::default();
    for w in &log {
        verifier.push(&StoredEntry {
            seq: w.seq,
            content_digest: Some(content_digest(w)),
            digest: Some(w.digest.clone()),
            chain: Some(w.chain.clone()),
            erases: Vec::new(),
        });
    }
    let head_ref = if head.1 == 0 {
        None
    } else {
        Some((head.0.as_str(), head.1))
    };
    match (verifier.finish(head_ref), expected) {
        (Ok(v), None) => {
            assert_eq!(v.entries, head.1);
            assert_eq!(v.head, head.0);
        }
        (Err(found), Some(expected)) => assert_eq!(found, expected),
        (Ok(_), Some(expected)) => panic!("tampering went unnoticed: expected {expected:?}"),
        (Err(found), None) => panic!("an untouched log failed: {found:?}"),
    }
});
