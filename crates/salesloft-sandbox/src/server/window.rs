//! The team's cost budget as SalesLoft keeps it: a fixed calendar minute, charged per request.

/// The per-minute cost window (fixed calendar minutes, as SalesLoft reports them).
#[derive(Debug)]
pub(crate) struct Window {
    pub(crate) per_minute: Option<u32>,
    minute: i64,
    spent: u32,
}

impl Window {
    /// A window with `per_minute` to spend (`None`: unlimited).
    pub(crate) fn new(per_minute: Option<u32>) -> Self {
        Self {
            per_minute,
            minute: 0,
            spent: 0,
        }
    }

    /// Charge `cost` at `now_ms`: `Ok(remaining)` or `Err(ms until the window reopens)`.
    pub(crate) fn charge(&mut self, cost: u32, now_ms: i64) -> Result<u32, i64> {
        let minute = now_ms.div_euclid(60_000);
        if minute != self.minute {
            self.minute = minute;
            self.spent = 0;
        }
        let Some(limit) = self.per_minute else {
            return Ok(600);
        };
        if self.spent + cost > limit {
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
    }
}
