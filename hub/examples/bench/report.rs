//! Figures, the table they are printed in and the JSON they are written to.

use std::time::Duration;

use serde_json::{Value, json};

/// What one side (the hub, or SurrealDB alone) achieved on one measure.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Operations timed one at a time.
    pub n: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Operations per second with several in flight.
    pub ops_per_s: f64,
}

impl Figures {
    /// From latencies taken one at a time and a throughput measured apart.
    pub fn new(mut latencies: Vec<Duration>, ops_per_s: f64) -> Self {
        latencies.sort();
        Self {
            n: latencies.len(),
            p50_ms: percentile(&latencies, 0.50),
            p99_ms: percentile(&latencies, 0.99),
            ops_per_s,
        }
    }

    fn json(&self) -> Value {
        json!({ "n": self.n, "p50_ms": round(self.p50_ms), "p99_ms": round(self.p99_ms), "ops_per_s": self.ops_per_s.round() })
    }
}

pub fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The goal a measure is held to; printed, never enforced.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    P99AtMostMs(f64),
    AtLeastPerSec(f64),
}

impl Target {
    fn met(self, f: &Figures) -> bool {
        match self {
            Target::P99AtMostMs(ms) => f.p99_ms <= ms,
            Target::AtLeastPerSec(rate) => f.ops_per_s >= rate,
        }
    }

    fn text(self) -> String {
        match self {
            Target::P99AtMostMs(ms) => format!("p99 ≤ {ms} ms"),
            Target::AtLeastPerSec(rate) => format!("≥ {rate} /s"),
        }
    }
}

/// One line of the table: the hub's figures beside SurrealDB's own.
pub struct Row {
    pub name: String,
    pub hub: Option<Figures>,
    pub raw: Option<Figures>,
    pub target: Option<Target>,
    pub note: String,
}

impl Row {
    pub fn new(name: impl Into<String>, target: Option<Target>) -> Self {
        Self {
            name: name.into(),
            hub: None,
            raw: None,
            target,
            note: String::new(),
        }
    }

    /// The hub's throughput as a share of the raw database's.
    fn throughput_share(&self) -> Option<f64> {
        match (self.hub, self.raw) {
            (Some(h), Some(r)) if r.ops_per_s > 0.0 => Some(h.ops_per_s / r.ops_per_s),
            _ => None,
        }
    }

    /// How many times the raw database's median the hub's median is.
    fn latency_ratio(&self) -> Option<f64> {
        match (self.hub, self.raw) {
            (Some(h), Some(r)) if r.p50_ms > 0.0 => Some(h.p50_ms / r.p50_ms),
            _ => None,
        }
    }

    fn met(&self) -> Option<bool> {
        Some(self.target?.met(self.hub.as_ref()?))
    }

    pub fn json(&self) -> Value {
        json!({
            "name": self.name,
            "hub": self.hub.map(|f| f.json()),
            "raw_surrealdb": self.raw.map(|f| f.json()),
            "p50_vs_raw": self.latency_ratio().map(round),
            "throughput_share_of_raw": self.throughput_share().map(round),
            "target": self.target.map(Target::text),
            "target_met": self.met(),
            "note": self.note,
        })
    }
}

fn cell(x: Option<f64>, digits: usize) -> String {
    x.filter(|v| v.is_finite())
        .map_or_else(|| "—".to_owned(), |v| format!("{v:.digits$}"))
}

impl std::fmt::Display for Row {
    /// One line as soon as a measure is done, so a run cut short still tells.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = |x: Option<Figures>| {
            x.map_or_else(
                || "—".to_owned(),
                |x| {
                    format!(
                        "p50 {:.2} ms, p99 {:.2} ms, {:.0}/s",
                        x.p50_ms, x.p99_ms, x.ops_per_s
                    )
                },
            )
        };
        write!(
            f,
            "{}: hub {}; raw {}",
            self.name,
            side(self.hub),
            side(self.raw)
        )
    }
}

/// The table, as printed at the end of a run.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<40} {:>9} {:>9} {:>9} │ {:>9} {:>9} {:>9} │ {:>7} {:>7} │ {:<16} {}\n",
        "measure",
        "hub p50",
        "hub p99",
        "hub /s",
        "raw p50",
        "raw p99",
        "raw /s",
        "p50 ×",
        "/s %",
        "target",
        "met"
    ));
    out.push_str(&format!("{}\n", "─".repeat(150)));
    for r in rows {
        let h = r.hub.as_ref();
        let w = r.raw.as_ref();
        out.push_str(&format!(
            "{:<40} {:>9} {:>9} {:>9} │ {:>9} {:>9} {:>9} │ {:>7} {:>7} │ {:<16} {}{}\n",
            r.name,
            cell(h.map(|f| f.p50_ms), 2),
            cell(h.map(|f| f.p99_ms), 2),
            cell(h.map(|f| f.ops_per_s), 0),
            cell(w.map(|f| f.p50_ms), 2),
            cell(w.map(|f| f.p99_ms), 2),
            cell(w.map(|f| f.ops_per_s), 0),
            cell(r.latency_ratio(), 1),
            cell(r.throughput_share().map(|s| s * 100.0), 0),
            r.target.map(Target::text).unwrap_or_default(),
            match r.met() {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            },
            if r.note.is_empty() {
                String::new()
            } else {
                format!("  ({})", r.note)
            }
        ));
    }
    out.push_str("latencies in ms, one operation at a time; /s with several in flight; raw = the same reads and writes on SurrealDB through its SDK, in process\n");
    out
}
