//! The Prometheus text exposition format, one family at a time.
//!
//! A family's samples can only be written inside its own [`Exposition::family`]
//! call, right after its `# HELP` and `# TYPE` lines, and take the family's
//! name: interleaved families (which a real parser reads as untyped samples
//! of empty families) cannot be written. Family names are checked against
//! each other, suffixes included, so a counter `x_total` and a gauge `x`
//! (one family to a parser) cannot both appear: a test renders every family
//! and asserts no collision.
//!
//! Hand-written rather than a crate: the values are read at scrape time from
//! the client's own counters (atomics, the state lock, the outbox), so a
//! registry crate would hold a second copy of each and need a collector
//! for the rest; what it would add is this writer, ~80 lines.

use std::collections::BTreeSet;
use std::fmt::{Display, Write};

/// The kind of a family, as its `# TYPE` line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }

    /// The names a parser files under this family, besides its own.
    fn sample_suffixes(self) -> &'static [&'static str] {
        match self {
            Kind::Counter => &["", "_total", "_created"],
            Kind::Gauge => &[""],
            Kind::Histogram => &["_bucket", "_sum", "_count", "_created"],
        }
    }
}

/// The text being written.
#[derive(Default)]
pub(crate) struct Exposition {
    text: String,
    /// Every family's base name (a counter's without `_total`), to refuse collisions.
    bases: BTreeSet<String>,
    /// Every sample name a family written so far owns.
    owned: BTreeSet<String>,
}

/// The samples of one family.
pub(crate) struct Family<'a> {
    text: &'a mut String,
    name: &'a str,
}

impl Exposition {
    /// Writes one family: its help and type, then what `samples` writes.
    /// A family whose name collides with one already written is a bug:
    /// debug builds panic (tests run them), release builds skip it.
    pub fn family(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        samples: impl FnOnce(&mut Family<'_>),
    ) {
        let base = match kind {
            Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        let names: Vec<String> = kind
            .sample_suffixes()
            .iter()
            .map(|s| format!("{base}{s}"))
            .collect();
        let collides = !self.bases.insert(base.to_owned())
            || names
                .iter()
                .any(|n| self.owned.contains(n) || self.bases.contains(n) && n != base);
        debug_assert!(!collides, "metric family {name} collides with another");
        if collides {
            return;
        }
        self.owned.extend(names);
        let _ = writeln!(
            self.text,
            "# HELP {name} {help}\n# TYPE {name} {}",
            kind.name()
        );
        samples(&mut Family {
            text: &mut self.text,
            name,
        });
    }

    pub fn finish(self) -> String {
        self.text
    }
}

impl Family<'_> {
    /// One sample of the family, with labels written as `key="value",...` (may be empty).
    pub fn sample(&mut self, labels: &str, value: impl Display) {
        self.sample_named("", labels, value);
    }

    /// A sample under one of the family's suffixed names (`_bucket`, `_sum`, `_count`).
    pub fn sample_named(&mut self, suffix: &str, labels: &str, value: impl Display) {
        let name = self.name;
        if labels.is_empty() {
            let _ = writeln!(self.text, "{name}{suffix} {value}");
        } else {
            let _ = writeln!(self.text, "{name}{suffix}{{{labels}}} {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_follow_their_own_family() {
        let mut out = Exposition::default();
        out.family("a", Kind::Gauge, "A.", |f| {
            f.sample("class=\"x\"", 1);
            f.sample("class=\"y\"", 2);
        });
        out.family("b_total", Kind::Counter, "B.", |f| f.sample("", 3));
        assert_eq!(
            out.finish(),
            "# HELP a A.\n# TYPE a gauge\na{class=\"x\"} 1\na{class=\"y\"} 2\n\
             # HELP b_total B.\n# TYPE b_total counter\nb_total 3\n"
        );
    }

    #[test]
    #[should_panic(expected = "collides")]
    fn a_counter_and_a_gauge_of_one_base_name_collide() {
        let mut out = Exposition::default();
        out.family("x_total", Kind::Counter, "X.", |f| f.sample("", 1));
        out.family("x", Kind::Gauge, "X.", |f| f.sample("", 1));
    }

    #[test]
    #[should_panic(expected = "collides")]
    fn a_histogram_owns_its_count_name() {
        let mut out = Exposition::default();
        out.family("d", Kind::Histogram, "D.", |_| {});
        out.family("d_count", Kind::Gauge, "D.", |f| f.sample("", 1));
    }
}
