//! The team's cost budget as SalesLoft keeps it: a fixed calendar minute, charged per request.

use std::collections::VecDeque;

use serde::Serialize;

/// Calendar minutes kept in the window's history.
const HISTORY_MINUTES: usize = 240;

/// What one calendar minute of the team's budget saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinuteSpend {
    /// The minute's start, milliseconds since the epoch.
    pub minute_start_ms: i64,
    /// Cost charged in it.
    pub spent: u32,
    /// Cost asked for and refused with a 429.
    pub refused: u32,
}

/// The per-minute cost window (fixed calendar minutes, as SalesLoft reports them).
#[derive(Debug)]
pub(crate) struct Window {
    pub(crate) per_minute: Option<u32>,
    minute: i64,
    spent: u32,
    refused: u32,
    history: VecDeque<MinuteSpend>,
}

impl Window {
    /// A window with `per_minute` to spend (`None`: unlimited).
    pub(crate) fn new(per_minute: Option<u32>) -> Self {
        Self {
            per_minute,
            minute: 0,
            spent: 0,
            refused: 0,
            history: VecDeque::new(),
        }
    }

    fn current(&self) -> Option<MinuteSpend> {
        (self.spent > 0 || self.refused > 0).then_some(MinuteSpend {
            minute_start_ms: self.minute.saturating_mul(60_000),
            spent: self.spent,
            refused: self.refused,
        })
    }

    /// Every minute that saw a request, oldest first, the current one last.
    pub(crate) fn minutes(&self) -> Vec<MinuteSpend> {
        self.history.iter().copied().chain(self.current()).collect()
    }

    /// Charge `cost` at `now_ms`: `Ok(remaining)` or `Err(ms until the window reopens)`.
    pub(crate) fn charge(&mut self, cost: u32, now_ms: i64) -> Result<u32, i64> {
        let minute = now_ms.div_euclid(60_000);
        if minute != self.minute {
            if let Some(done) = self.current() {
                if self.history.len() == HISTORY_MINUTES {
                    self.history.pop_front();
                }
                self.history.push_back(done);
            }
            self.minute = minute;
            self.spent = 0;
            self.refused = 0;
        }
        let Some(limit) = self.per_minute else {
            self.spent = self.spent.saturating_add(cost);
            return Ok(600);
        };
        if self.spent.saturating_add(cost) > limit {
            self.refused = self.refused.saturating_add(cost);
            return Err((minute + 1) * 60_000 - now_ms);
        }
        self.spent += cost;
        Ok(limit - self.spent)
    }

    pub(crate) fn remaining(&self, now_ms: i64) -> u32 {
        match self.per_minute {
            None => 600,
            Some(l) if now_ms.div_euclid(60_000) == self.minute => l.saturating_sub(self.spent),
            Some(l) => l,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_a_fixed_calendar_minute() {
        let mut w = Window::new(Some(10));
        let t = 1_700_000_080_000; // 40 s into a minute
        for i in 0..10 {
            assert_eq!(w.charge(1, t), Ok(9 - i));
        }
        assert_eq!(w.charge(1, t), Err(20_000));
        assert_eq!(w.charge(1, t + 20_000), Ok(9), "a new minute starts afresh");
        assert_eq!(w.charge(3, t + 20_000), Ok(6));
        let minutes = w.minutes();
        assert_eq!(
            minutes
                .iter()
                .map(|m| (m.spent, m.refused))
                .collect::<Vec<_>>(),
            [(10, 1), (4, 0)],
            "each minute's spend and refusals: {minutes:?}"
        );
        assert_eq!(
            minutes[1].minute_start_ms - minutes[0].minute_start_ms,
            60_000
        );
    }
}
