//! One write SalesLoft does not make idempotent (a create, an enrollment), sent again only
//! after looking whether an attempt that may have acted did.

use salesloft_client::FailureKind;

use crate::error::Result;

/// How a checked write ended.
pub(crate) enum Checked<T> {
    /// Written: SalesLoft's answer, or (`recovered`) what a look after an attempt that may
    /// have acted found.
    Written { value: T, recovered: bool },
    /// Not written: the last attempt's error, and whether that attempt may have acted (then
    /// the attempts ran out; else SalesLoft answered that it did not act).
    NotWritten {
        error: salesloft_client::Error,
        may_have_acted: bool,
    },
}

/// Send a write up to `attempts` times. Once an attempt may have acted without an answer
/// saying so (a transient error, or no answer at all), every later failure first `look`s
/// whether the write happened, since a refusal then may only say that the first attempt's
/// record exists. Rejected credentials stop at once, as an error: nothing else will be
/// accepted. Returns how it ended and how many writes were sent.
pub(crate) async fn send_checked<T, Sent, Found>(
    attempts: u32,
    mut send: impl FnMut() -> Sent,
    mut look: impl FnMut() -> Found,
) -> Result<(Checked<T>, u64)>
where
    Sent: Future<Output = salesloft_client::Result<T>>,
    Found: Future<Output = Option<T>>,
{
    let attempts = u64::from(attempts.max(1));
    let mut uncertain = false;
    let mut writes = 0;
    loop {
        writes += 1;
        let error = match send().await {
            Ok(value) => {
                let written = Checked::Written {
                    value,
                    recovered: false,
                };
                return Ok((written, writes));
            }
            Err(e) => e,
        };
        if error.kind() == FailureKind::CredentialsRejected {
            return Err(error.into());
        }
        let may_have_acted = error.is_transient() || error.status().is_none();
        uncertain |= may_have_acted;
        if uncertain && let Some(value) = look().await {
            let found = Checked::Written {
                value,
                recovered: true,
            };
            return Ok((found, writes));
        }
        if !may_have_acted || writes == attempts {
            let failed = Checked::NotWritten {
                error,
                may_have_acted,
            };
            return Ok((failed, writes));
        }
    }
}
