//! SalesLoft's rate-limit headers, `Retry-After` and `Date` read into an [`Observation`] for
//! the limiter, each bounded so that no answer can make the client wait or count without
//! limit.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use salesloft_model::{Observation, page_cost};

/// The longest wait a `Retry-After` may impose: SalesLoft's budget window is one calendar
/// minute, so no honest answer asks for more than the rest of it (plus a second of skew).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(61);

/// The most one request can cost (`page_cost` of the deepest pages).
pub const MAX_REQUEST_COST: u32 = page_cost(u32::MAX);

/// A header holding a non-negative integer: `None` when absent, empty, negative or not a
/// number; an integer too large for `u64` saturates.
fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    let s = headers.get(name)?.to_str().ok()?.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

/// `Retry-After` as a wait: delay-seconds or an HTTP date (relative to the server's `Date`
/// when sent), clamped to [`MAX_RETRY_AFTER`]; `None` for garbage or a negative number.
fn retry_after(headers: &HeaderMap, server_date: Option<SystemTime>) -> Option<Duration> {
    let wait = match header_number(headers, reqwest::header::RETRY_AFTER.as_str()) {
        Some(secs) => Duration::from_secs(secs.min(MAX_RETRY_AFTER.as_secs())),
        None => {
            let s = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
            let at = httpdate::parse_http_date(s.trim()).ok()?;
            let now = server_date.unwrap_or_else(SystemTime::now);
            at.duration_since(now).unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Read the rate-limit headers, `Retry-After` (seconds or an HTTP date) and `Date`, each
/// bounded: a reported cost is at most [`MAX_REQUEST_COST`], a wait at most
/// [`MAX_RETRY_AFTER`], and anything unreadable counts as not sent.
pub(crate) fn observe_headers(estimated: u32, headers: &HeaderMap) -> Observation {
    let server_date = headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| httpdate::parse_http_date(s).ok());
    let as_u32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Observation {
        estimated_cost: estimated,
        actual_cost: header_number(headers, "x-ratelimit-endpoint-cost")
            .map(|c| as_u32(c).min(MAX_REQUEST_COST)),
        remaining: header_number(headers, "x-ratelimit-remaining-minute").map(as_u32),
        retry_after: retry_after(headers, server_date),
        server_date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reqwest::header::HeaderValue;
    use std::time::UNIX_EPOCH;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_bytes(value) {
                h.insert(*name, v);
            }
        }
        h
    }

    proptest! {
        /// Any bytes in the rate-limit headers, `Retry-After` and `Date`: no panic, a wait of
        /// at most the window, a cost within the page table.
        #[test]
        fn any_rate_limit_headers_are_bounded(
            retry in proptest::collection::vec(any::<u8>(), 0..40),
            cost in proptest::collection::vec(any::<u8>(), 0..30),
            remaining in proptest::collection::vec(any::<u8>(), 0..30),
            date in proptest::collection::vec(any::<u8>(), 0..40),
            estimated in any::<u32>(),
        ) {
            let h = headers(&[
                ("retry-after", &retry),
                ("x-ratelimit-endpoint-cost", &cost),
                ("x-ratelimit-remaining-minute", &remaining),
                ("date", &date),
            ]);
            let o = observe_headers(estimated, &h);
            prop_assert!(o.retry_after.is_none_or(|w| w <= MAX_RETRY_AFTER));
            prop_assert!(o.actual_cost.is_none_or(|c| c <= MAX_REQUEST_COST));
        }

        /// Numbers of any size and sign, and HTTP dates of any year.
        #[test]
        fn numbers_and_dates_of_any_size_are_bounded(n in any::<i128>(), secs in any::<u64>()) {
            let text = n.to_string();
            let date = httpdate::fmt_http_date(
                UNIX_EPOCH + Duration::from_secs(secs % 253_402_300_799),
            );
            for retry in [text.as_bytes(), date.as_bytes()] {
                let h = headers(&[
                    ("retry-after", retry),
                    ("x-ratelimit-endpoint-cost", text.as_bytes()),
                    ("x-ratelimit-remaining-minute", text.as_bytes()),
                ]);
                let o = observe_headers(1, &h);
                prop_assert!(o.retry_after.is_none_or(|w| w <= MAX_RETRY_AFTER));
                prop_assert!(o.actual_cost.is_none_or(|c| c <= MAX_REQUEST_COST));
                if n < 0 {
                    prop_assert_eq!(o.actual_cost, None);
                }
            }
        }
    }
}
