//! Messages holding every word of a query, newest first, from the word
//! postings (`message_word`, migration 10).
//!
//! Each word's postings are read newest first, a chunk at a time, all words
//! from the same place. A message is a match when every word's chunk holds
//! it, up to the oldest posting that every chunk reached; the next round
//! starts at the newest place where all words can still meet. Once a word's
//! chunk is short, all its postings from there on are known, and they are
//! the only messages left that can match: the other words are checked for
//! just those, by key, and the search ends. A rare word (an order number)
//! thus settles a query in one or two rounds, however common the others.

use std::collections::BTreeMap;

use surrealdb::types::{RecordId, SurrealValue, Value};

use super::TenantStore;
use super::error::StoreResult;
use super::records::{rid, uuid_part, uuid_value};
use crate::domain::ids::{ChatId, MessageId};

/// Rounds of chunk reads before a search answers with what it has found:
/// only words that are all common yet seldom together go this far.
const MAX_ROUNDS: usize = 32;

/// One word's posting (`message_word:[tenant, word, chat, message]`) and
/// its message's place, newest first.
#[derive(Debug, Clone, PartialEq, Eq, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(crate) struct Posting {
    pub rank: String,
    pub id: RecordId,
}

impl Posting {
    /// The message's chat and id.
    fn message(&self) -> StoreResult<(uuid::Uuid, uuid::Uuid)> {
        Ok((uuid_part(&self.id, 2)?, uuid_part(&self.id, 3)?))
    }
}

/// Where a round's reads start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    Newest,
    AtOrAfter(String),
    After(String),
}

/// What follows a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// Every match is known.
    Done,
    /// Read every word again from here.
    Read(Start),
    /// These are all the messages left that can match (one word's postings
    /// from the round's start on): keep those every word holds.
    Check(Vec<Posting>),
}

/// The matches a round's chunks settle (each chunk one word's postings
/// from the same start, in rank order, `size` at most) and what follows.
pub(crate) fn step(chunks: &[Vec<Posting>], size: usize) -> (Vec<Posting>, Next) {
    if chunks.is_empty() || chunks.iter().any(Vec::is_empty) {
        return (Vec::new(), Next::Done);
    }
    if let [only] = chunks {
        let next = match only.last() {
            Some(last) if only.len() >= size => Next::Read(Start::After(last.rank.clone())),
            _ => Next::Done,
        };
        return (only.clone(), next);
    }
    if let Some(shortest) = chunks
        .iter()
        .filter(|c| c.len() < size)
        .min_by_key(|c| c.len())
    {
        return (Vec::new(), Next::Check(shortest.clone()));
    }
    // Every chunk is full: everything up to the oldest place all reached is known.
    let bound = chunks
        .iter()
        .filter_map(|c| c.last().map(|p| p.rank.as_str()))
        .min()
        .unwrap_or_default()
        .to_owned();
    let mut holding: BTreeMap<&str, (usize, &Posting)> = BTreeMap::new();
    for chunk in chunks {
        for p in chunk.iter().take_while(|p| p.rank <= bound) {
            holding.entry(p.rank.as_str()).or_insert((0, p)).0 += 1;
        }
    }
    let matches = holding
        .into_values()
        .filter(|(n, _)| *n == chunks.len())
        .map(|(_, p)| p.clone())
        .collect();
    // A word whose chunk goes past the bound names its next posting; no
    // match can come before the latest of those.
    let next = chunks
        .iter()
        .filter_map(|c| c.iter().find(|p| p.rank > bound))
        .map(|p| p.rank.clone())
        .max()
        .map_or(Start::After(bound), Start::AtOrAfter);
    (matches, Next::Read(next))
}

impl TenantStore {
    /// Up to `limit` messages (their record ids, newest first) holding every
    /// one of `words` (analysed, distinct). Rounds are bounded: a query of
    /// only common words that seldom meet answers with the matches among the
    /// newest postings read.
    pub(crate) async fn messages_with_words(
        &self,
        words: &[String],
        limit: usize,
    ) -> StoreResult<Vec<RecordId>> {
        // One word needs no more than a page; several read ahead to meet.
        let size = if words.len() == 1 {
            limit.max(1)
        } else {
            (limit * 2).clamp(64, 512)
        };
        let mut found: Vec<RecordId> = Vec::new();
        let mut start = Start::Newest;
        for _ in 0..MAX_ROUNDS {
            let chunks = self.read_chunks(words, &start, size).await?;
            let (matches, next) = step(&chunks, size);
            for m in &matches {
                found.push(self.message_of(m)?);
            }
            if found.len() >= limit {
                break;
            }
            match next {
                Next::Done => break,
                Next::Read(s) => start = s,
                Next::Check(candidates) => {
                    found.extend(self.holding_every_word(words, candidates).await?);
                    break;
                }
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    /// Each word's postings from `start`, `size` at most, in one round trip.
    async fn read_chunks(
        &self,
        words: &[String],
        start: &Start,
        size: usize,
    ) -> StoreResult<Vec<Vec<Posting>>> {
        let from = match start {
            Start::Newest => "",
            Start::AtOrAfter(_) => " AND rank >= $from",
            Start::After(_) => " AND rank > $from",
        };
        let sql: String = (0..words.len())
            .map(|i| {
                format!(
                    "SELECT rank, id FROM message_word WHERE tenant = $tenant AND word = $w{i}{from} ORDER BY rank LIMIT $size;"
                )
            })
            .collect();
        let mut vars: BTreeMap<String, Value> = BTreeMap::new();
        vars.insert("tenant".into(), uuid_value(self.tenant.uuid()));
        vars.insert("size".into(), (size as i64).into_value());
        if let Start::AtOrAfter(r) | Start::After(r) = start {
            vars.insert("from".into(), r.clone().into_value());
        }
        for (i, w) in words.iter().enumerate() {
            vars.insert(format!("w{i}"), w.clone().into_value());
        }
        let mut response = self.db().query(sql).bind(vars).await?;
        (0..words.len())
            .map(|i| Ok(response.take::<Vec<Posting>>(i)?))
            .collect()
    }

    /// The `candidates` (one word's postings) that every word holds, by key.
    async fn holding_every_word(
        &self,
        words: &[String],
        candidates: Vec<Posting>,
    ) -> StoreResult<Vec<RecordId>> {
        let mut keys = Vec::with_capacity(candidates.len() * words.len());
        for c in &candidates {
            let (chat, id) = c.message()?;
            for w in words {
                keys.push(self.posting_rid(w, chat, id));
            }
        }
        let mut present: Vec<RecordId> = self
            .db()
            .query("SELECT VALUE id FROM $keys")
            .bind(("keys", keys))
            .await?
            .take(0)?;
        present.sort_unstable();
        let mut held = Vec::new();
        for c in &candidates {
            let (chat, id) = c.message()?;
            if words.iter().all(|w| {
                present
                    .binary_search(&self.posting_rid(w, chat, id))
                    .is_ok()
            }) {
                held.push(self.message_of(c)?);
            }
        }
        Ok(held)
    }

    fn message_of(&self, p: &Posting) -> StoreResult<RecordId> {
        let (chat, id) = p.message()?;
        Ok(self.message_rid(ChatId::from_uuid(chat), MessageId::from_uuid(id)))
    }

    fn posting_rid(&self, word: &str, chat: uuid::Uuid, id: uuid::Uuid) -> RecordId {
        rid(
            "message_word",
            [
                uuid_value(self.tenant.uuid()),
                word.to_owned().into_value(),
                uuid_value(chat),
                uuid_value(id),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(rank: &str) -> Posting {
        Posting {
            rank: rank.to_owned(),
            id: RecordId::new("message_word", rank),
        }
    }

    fn ps(ranks: &[&str]) -> Vec<Posting> {
        ranks.iter().map(|r| p(r)).collect()
    }

    fn ranks(v: &[Posting]) -> Vec<&str> {
        v.iter().map(|p| p.rank.as_str()).collect()
    }

    #[test]
    fn one_word_pages_through_its_postings() {
        let (m, next) = step(&[ps(&["a", "b", "c"])], 3);
        assert_eq!(ranks(&m), ["a", "b", "c"]);
        assert_eq!(next, Next::Read(Start::After("c".into())));
        let (m, next) = step(&[ps(&["d"])], 3);
        assert_eq!(ranks(&m), ["d"]);
        assert_eq!(next, Next::Done);
    }

    #[test]
    fn a_word_with_no_posting_left_ends_the_search() {
        assert_eq!(step(&[ps(&["a"]), vec![]], 4), (vec![], Next::Done));
    }

    #[test]
    fn full_chunks_settle_matches_up_to_the_oldest_place_all_reached() {
        // Both read 3: "b" and "d" are in both; "e" lies past the first
        // word's chunk, so it is not settled yet, and the next round starts there.
        let (m, next) = step(&[ps(&["a", "b", "d"]), ps(&["b", "d", "e"])], 3);
        assert_eq!(ranks(&m), ["b", "d"]);
        assert_eq!(next, Next::Read(Start::AtOrAfter("e".into())));
        // Both end at the same place: nothing is known past it.
        let (m, next) = step(&[ps(&["a", "b", "d"]), ps(&["b", "c", "d"])], 3);
        assert_eq!(ranks(&m), ["b", "d"]);
        assert_eq!(next, Next::Read(Start::After("d".into())));
    }

    #[test]
    fn the_next_round_starts_where_every_word_can_still_meet() {
        // The first word's chunk ends at "c"; the second's next posting after
        // that is "x": nothing between can hold both.
        let (m, next) = step(&[ps(&["a", "b", "c"]), ps(&["b2", "bb", "x"])], 3);
        assert!(m.is_empty());
        assert_eq!(next, Next::Read(Start::AtOrAfter("x".into())));
    }

    #[test]
    fn a_short_chunk_names_every_candidate_left() {
        let (m, next) = step(&[ps(&["a", "b", "c", "d"]), ps(&["c", "q"])], 4);
        assert!(m.is_empty());
        assert_eq!(next, Next::Check(ps(&["c", "q"])));
    }
}
