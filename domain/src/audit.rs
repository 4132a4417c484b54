//! Tamper evidence for the audit log.
//!
//! Each entry carries the SHA-256 of its content (`digest`) and the tenant's
//! chain value after it: `chain = sha256(previous chain ‖ digest)`, both as
//! lower-case hex, starting from the empty string. The tenant's head (the
//! last chain value and the number of entries) is kept beside the log. An
//! edited entry no longer matches its digest; a removed or reordered one
//! breaks every chain value after it; entries removed from the end leave the
//! head pointing past the log. The chain links digests, not contents, so an
//! erasure that replaces an entry's personal data with a tombstone keeps its
//! digest and the chain verifiable.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::hex;

/// What an entry's digest covers.
pub struct EntryContent<'a> {
    pub id: &'a str,
    pub tenant: &'a str,
    pub kind: &'a str,
    pub actor: &'a str,
    pub target: &'a str,
    pub data: &'a Value,
    pub at: DateTime<Utc>,
}

/// Hex SHA-256 of the entry's canonical JSON (object keys sorted, no spaces).
pub fn digest(e: &EntryContent<'_>) -> String {
    let mut s = String::from("[");
    for field in [e.id, e.tenant, e.kind, e.actor, e.target] {
        canonical(&Value::String(field.to_owned()), &mut s);
        s.push(',');
    }
    canonical(e.data, &mut s);
    s.push(',');
    canonical(
        &Value::String(e.at.to_rfc3339_opts(SecondsFormat::Nanos, true)),
        &mut s,
    );
    s.push(']');
    hex(&Sha256::digest(s.as_bytes()))
}

/// The chain value after an entry with `digest`.
pub fn link(previous: &str, digest: &str) -> String {
    let mut h = Sha256::new();
    h.update(previous.as_bytes());
    h.update(digest.as_bytes());
    hex(&h.finalize())
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// One stored entry as the verifier sees it.
pub struct StoredEntry {
    pub seq: i64,
    /// The digest recomputed from the stored content; `None` for an
    /// erased entry, whose content was replaced on purpose.
    pub content_digest: Option<String>,
    /// The digest and chain value written with it; `None` for entries
    /// written before the log was chained.
    pub digest: Option<String>,
    pub chain: Option<String>,
    /// The entries an erasure entry records as erased (`client.erased`).
    pub erases: Vec<i64>,
}

/// Why a tenant's log fails verification: the first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The entry's content differs from what was written.
    Edited { seq: i64 },
    /// The chain does not continue at this entry: an entry before it was
    /// removed, inserted or rewritten with its digest.
    Unlinked { seq: i64 },
    /// An unchained entry after chained ones: the chain fields were removed.
    Unchained { seq: i64 },
    /// The log ends before the head: entries were removed from the end
    /// (`found` of `expected` chained entries).
    Truncated { found: u64, expected: u64 },
    /// The entry's data was replaced as if erased, but no erasure records it.
    ErasedUnrecorded { seq: i64 },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Edited { seq } => write!(
                f,
                "entry {seq} was edited: its content no longer matches its digest"
            ),
            Break::Unlinked { seq } => write!(
                f,
                "the chain breaks at entry {seq}: an entry before it was removed or rewritten"
            ),
            Break::Unchained { seq } => write!(f, "entry {seq} lost its chain fields"),
            Break::ErasedUnrecorded { seq } => write!(
                f,
                "entry {seq} is marked erased, but no erasure entry records it"
            ),
            Break::Truncated { found, expected } => write!(
                f,
                "the log holds {found} chained entries but its head counts {expected}: entries were removed from the end"
            ),
        }
    }
}

/// Walks a tenant's chain; feed entries in `seq` order.
#[derive(Default)]
pub struct Verifier {
    chain: String,
    chained: u64,
    pub unchained: u64,
    erased: Vec<i64>,
    recorded: std::collections::HashSet<i64>,
    broken: Option<Break>,
}

impl Verifier {
    pub fn push(&mut self, e: &StoredEntry) {
        if self.broken.is_some() {
            return;
        }
        let (Some(digest), Some(chain)) = (&e.digest, &e.chain) else {
            if self.chained > 0 {
                self.broken = Some(Break::Unchained { seq: e.seq });
            } else {
                self.unchained += 1;
            }
            return;
        };
        match &e.content_digest {
            Some(d) if d != digest => {
                self.broken = Some(Break::Edited { seq: e.seq });
                return;
            }
            Some(_) => {}
            None => self.erased.push(e.seq),
        }
        self.recorded.extend(&e.erases);
        let next = link(&self.chain, digest);
        if &next != chain {
            self.broken = Some(Break::Unlinked { seq: e.seq });
            return;
        }
        self.chain = next;
        self.chained += 1;
    }

    /// The verdict against the stored head (`None` when nothing was chained yet).
    pub fn finish(self, head: Option<(&str, u64)>) -> Result<Verified, Break> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        if let Some(&seq) = self.erased.iter().find(|s| !self.recorded.contains(s)) {
            return Err(Break::ErasedUnrecorded { seq });
        }
        let (head_chain, expected) = head.unwrap_or(("", 0));
        if self.chained != expected || self.chain != head_chain {
            return Err(Break::Truncated {
                found: self.chained,
                expected,
            });
        }
        Ok(Verified {
            entries: self.chained,
            unchained: self.unchained,
            erased: self.erased.len() as u64,
            head: self.chain,
        })
    }
}

/// A tenant's log that verified.
#[derive(Debug)]
pub struct Verified {
    pub entries: u64,
    /// Entries from before the log was chained (not covered).
    pub unchained: u64,
    /// Entries whose personal data was erased (covered by their digest).
    pub erased: u64,
    /// The last chain value: record it elsewhere to detect a rewrite of the whole log.
    pub head: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries(n: usize) -> Vec<StoredEntry> {
        let mut chain = String::new();
        (0..n)
            .map(|i| {
                let data = json!({ "b": i, "a": [1, { "z": true, "y": null }] });
                let d = digest(&EntryContent {
                    id: &format!("id{i}"),
                    tenant: "t",
                    kind: "client.created",
                    actor: "system",
                    target: "client:x",
                    data: &data,
                    at: DateTime::from_timestamp(1_700_000_000 + i as i64, 123).unwrap(),
                });
                chain = link(&chain, &d);
                StoredEntry {
                    seq: i as i64 + 1,
                    content_digest: Some(d.clone()),
                    digest: Some(d),
                    chain: Some(chain.clone()),
                    erases: Vec::new(),
                }
            })
            .collect()
    }

    fn verify(list: &[StoredEntry], head: Option<(&str, u64)>) -> Result<Verified, Break> {
        let mut v = Verifier::default();
        for e in list {
            v.push(e);
        }
        v.finish(head)
    }

    fn head(list: &[StoredEntry]) -> (String, u64) {
        (
            list.last().unwrap().chain.clone().unwrap(),
            list.len() as u64,
        )
    }

    #[test]
    fn digests_do_not_depend_on_key_order() {
        let at = Utc::now();
        let a = json!({ "x": 1, "y": { "b": 2, "a": 3 } });
        let b: Value = serde_json::from_str(r#"{"y":{"a":3,"b":2},"x":1}"#).unwrap();
        let content = |data| EntryContent {
            id: "i",
            tenant: "t",
            kind: "k",
            actor: "a",
            target: "g",
            data,
            at,
        };
        assert_eq!(digest(&content(&a)), digest(&content(&b)));
        assert_ne!(digest(&content(&a)), digest(&content(&json!({ "x": 2 }))));
    }

    #[test]
    fn an_intact_log_verifies_and_reports_its_head() {
        let list = entries(5);
        let (h, n) = head(&list);
        let ok = verify(&list, Some((&h, n))).unwrap();
        assert_eq!(ok.entries, 5);
        assert_eq!(ok.head, h);
    }

    #[test]
    fn an_edited_entry_is_found() {
        let mut list = entries(5);
        let (h, n) = head(&list);
        list[2].content_digest = Some("0".repeat(64));
        assert_eq!(
            verify(&list, Some((&h, n))).unwrap_err(),
            Break::Edited { seq: 3 }
        );
    }

    #[test]
    fn a_removed_entry_breaks_the_chain_after_it() {
        let mut list = entries(5);
        let (h, n) = head(&list);
        list.remove(1);
        assert_eq!(
            verify(&list, Some((&h, n))).unwrap_err(),
            Break::Unlinked { seq: 3 }
        );
    }

    #[test]
    fn entries_removed_from_the_end_are_found_by_the_head() {
        let mut list = entries(5);
        let (h, n) = head(&list);
        list.truncate(3);
        assert_eq!(
            verify(&list, Some((&h, n))).unwrap_err(),
            Break::Truncated {
                found: 3,
                expected: 5
            }
        );
    }

    #[test]
    fn an_erased_entry_keeps_the_chain_whole_when_an_erasure_records_it() {
        let mut list = entries(4);
        let (h, n) = head(&list);
        list[1].content_digest = None;
        assert_eq!(
            verify(&list, Some((&h, n))).unwrap_err(),
            Break::ErasedUnrecorded { seq: 2 }
        );
        list[3].erases = vec![2];
        let ok = verify(&list, Some((&h, n))).unwrap();
        assert_eq!((ok.entries, ok.erased), (4, 1));
    }

    #[test]
    fn entries_from_before_the_chain_are_counted_not_checked() {
        let mut list = entries(3);
        let (h, n) = head(&list);
        list.insert(
            0,
            StoredEntry {
                seq: 0,
                content_digest: None,
                digest: None,
                chain: None,
                erases: vec![],
            },
        );
        assert_eq!(verify(&list, Some((&h, n))).unwrap().unchained, 1);
        list.push(StoredEntry {
            seq: 9,
            content_digest: None,
            digest: None,
            chain: None,
            erases: vec![],
        });
        assert_eq!(
            verify(&list, Some((&h, n))).unwrap_err(),
            Break::Unchained { seq: 9 }
        );
    }
}
