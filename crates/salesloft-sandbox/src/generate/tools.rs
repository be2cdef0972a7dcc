//! The generator's tools: its random source, timestamps, references, tie groups, ids.

use chrono::{DateTime, FixedOffset};
use salesloft_model::{Ref, Timestamp};

use super::size::{HISTORY_SPAN_US, HISTORY_START_US};

/// A timestamp in the team's offset.
pub(crate) fn ts(us: i64, offset: FixedOffset) -> Timestamp {
    DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .with_timezone(&offset)
}

pub(crate) fn href(path: &str, id: i64) -> Option<String> {
    Some(format!("https://api.salesloft.com/v2/{path}/{id}"))
}

pub(crate) fn r<I>(path: &str, id: I) -> Ref<I>
where
    I: Copy + Into<i64>,
{
    Ref {
        id,
        href: href(path, id.into()),
    }
}

/// The generator's random source, the team's offset and its SalesLoft id.
pub(crate) struct Gen {
    pub(crate) rng: fastrand::Rng,
    pub(crate) offset: FixedOffset,
    pub(crate) team_id: i64,
}

impl Gen {
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.usize(..items.len())]
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.rng.f64() < p
    }

    pub(crate) fn maybe<T>(&mut self, p: f64, v: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.chance(p) { Some(v(self)) } else { None }
    }

    /// A creation instant inside the generated history.
    pub(crate) fn created(&mut self) -> i64 {
        HISTORY_START_US + self.rng.i64(0..HISTORY_SPAN_US)
    }

    /// An update instant after `created`, inside the history.
    pub(crate) fn updated_after(&mut self, created: i64) -> i64 {
        let end = HISTORY_START_US + HISTORY_SPAN_US;
        if created >= end - 1 {
            return created;
        }
        created + self.rng.i64(0..(end - created))
    }

    pub(crate) fn ts(&self, us: i64) -> Timestamp {
        ts(us, self.offset)
    }
}

/// Assign tie groups: bulk operations that stamped many records with one instant. Returns
/// (first index, length, instant) triples that do not overlap, some larger than a page of 100.
pub(crate) fn tie_groups(n: usize, g: &mut Gen) -> Vec<(usize, usize, i64)> {
    let mut sizes: Vec<usize> = vec![250, 120, 40, 2];
    if n >= 10_000 {
        sizes.extend([300, 150, 101, 100, 99]);
    }
    let mut out = Vec::new();
    let mut cursor = n / 10;
    for size in sizes {
        if cursor + size > n || size > n / 3 {
            continue;
        }
        let instant = HISTORY_START_US + HISTORY_SPAN_US / 2 + g.rng.i64(0..HISTORY_SPAN_US / 2);
        out.push((cursor, size, instant));
        cursor += size + n / 20 + 1;
    }
    out
}

pub(crate) fn tie_instant(groups: &[(usize, usize, i64)], i: usize) -> Option<i64> {
    groups
        .iter()
        .find(|(start, len, _)| i >= *start && i < start + len)
        .map(|(_, _, t)| *t)
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A random UUID v4 in text form.
pub(crate) fn guid(rng: &mut fastrand::Rng) -> String {
    let a = rng.u128(..);
    let b = (a & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
