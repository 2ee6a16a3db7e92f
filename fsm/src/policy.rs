//! Every timing and budget the machine uses, with defaults from docs/protocol.md §timings.

use core::fmt;

use crate::time::Duration;

/// The face app version installed on the terminal, as far as it matters to us:
/// `updateWxpayfacePayResult` is needed before 2.13 (docs/protocol.md §flow, §pay-result-update).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SdkVersion {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl SdkVersion {
    /// The first version that no longer takes `updateWxpayfacePayResult`.
    pub const NO_PAY_RESULT_UPDATE: SdkVersion = SdkVersion { major: 2, minor: 13 };

    /// True when this SDK still needs the terminal to report the pay result.
    pub fn needs_pay_result_update(self) -> bool {
        self < Self::NO_PAY_RESULT_UPDATE
    }
}

/// The settings a [`Policy`] is built from. Every field is public so a host can start from
/// [`PolicySettings::default`] and change what it needs; [`Policy::new`] checks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct PolicySettings {
    /// Deadline for an SDK call that needs no user (init, rawdata, release, pay-result
    /// update). The AAR itself answers a dead service after 10 s; default 12 s.
    pub sdk_call_deadline: Duration,
    /// Wait before calling init again after 271378621 (刷脸服务初始化中): ~500 ms.
    pub init_retry_delay: Duration,
    /// How many init calls before giving up and reporting the SDK unavailable.
    pub init_attempts: u8,
    /// Deadline for a face scan (`getWxpayfaceCode`, `getWxpayfaceUserInfo`), which waits
    /// for a person. Default 90 s.
    pub face_scan_deadline: Duration,
    /// Deadline for the code scanner to read a payment code after SCAN_PAYMENT. Default 60 s.
    pub code_scan_deadline: Duration,
    /// Deadline for one backend call (authinfo, submit, query, reverse). Default 10 s.
    pub backend_deadline: Duration,
    /// Refresh the authinfo this long before it expires (at most half its lifetime, so a
    /// short `expires_in` does not mean refetching in a loop). Default 5 min.
    pub auth_refresh_margin: Duration,
    /// After a failed authinfo fetch, try again this much later. Default 10 s.
    pub auth_retry_delay: Duration,
    /// First orderquery after an ambiguous submit answer (SYSTEMERROR: "wait 5 s"). Default 5 s.
    pub first_query_delay: Duration,
    /// Between two orderqueries. Default 5 s.
    pub poll_interval: Duration,
    /// Stop polling this long after the submit and go to reverse. Default 30 s.
    pub query_budget: Duration,
    /// Never reverse earlier than this after the submit. At least 15 s (docs/protocol.md §reverse).
    pub reverse_not_before: Duration,
    /// How many reverse calls before the order needs reconciliation. Default 10.
    pub reverse_attempts: u8,
    /// First wait between reverse calls; doubles each time. Default 2 s.
    pub reverse_backoff: Duration,
    /// Cap on the reverse backoff. Default 30 s.
    pub reverse_backoff_max: Duration,
    /// The installed face app version; decides whether `updateWxpayfacePayResult` is sent.
    pub sdk_version: SdkVersion,
    /// Close the loop on a final decline (or a query's PAYERROR): reverse the order (from
    /// `reverse_not_before` after the submit) so that it ends REVOKED, as WeChat asks of
    /// every order ("must end in SUCCESS, CLOSED or REVOKED",
    /// <https://pay.weixin.qq.com/doc/global/v2/en/4013665567>); the cashier then hears
    /// NotPaid with the decline as its reason, ~15 s later than without. Default true.
    /// Absent from a policy file it is false: the behaviour of the field logs recorded
    /// before the setting existed, which must still replay.
    #[cfg_attr(feature = "serde", serde(default))]
    pub close_declined_orders: bool,
    /// How far the terminal's wall clock may run ahead of WeChat's: a query's `time_end`
    /// up to this much before the order's `time_start` still counts as this order's
    /// payment. Default 24 h: terminal clocks without NTP drift by hours; an older
    /// order under the same out_trade_no is caught by its amount and payer too.
    pub clock_tolerance: Duration,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            sdk_call_deadline: Duration::secs(12),
            init_retry_delay: Duration::ms(500),
            init_attempts: 10,
            face_scan_deadline: Duration::secs(90),
            code_scan_deadline: Duration::secs(60),
            backend_deadline: Duration::secs(10),
            auth_refresh_margin: Duration::secs(300),
            auth_retry_delay: Duration::secs(10),
            first_query_delay: Duration::secs(5),
            poll_interval: Duration::secs(5),
            query_budget: Duration::secs(30),
            reverse_not_before: Duration::secs(15),
            reverse_attempts: 10,
            reverse_backoff: Duration::secs(2),
            reverse_backoff_max: Duration::secs(30),
            sdk_version: SdkVersion { major: 2, minor: 13 },
            close_declined_orders: true,
            clock_tolerance: Duration::secs(24 * 3600),
        }
    }
}

/// Why a [`PolicySettings`] was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// A deadline, delay or interval that must be positive is zero.
    Zero {
        /// The setting's field name.
        setting: &'static str,
    },
    /// `reverse_not_before` is under the 15 s WeChat requires after a submit.
    ReverseTooEarly,
    /// The query budget leaves no time for a single query after a submit that timed out
    /// (`query_budget` must exceed `backend_deadline + first_query_delay`).
    QueryBudgetTooShort,
    /// A count is zero or over its limit (`reverse_attempts` 1–50, `init_attempts` 1–50).
    Count {
        /// The setting's field name.
        setting: &'static str,
    },
    /// `reverse_backoff_max` is below `reverse_backoff`.
    BackoffCap,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Zero { setting } => write!(f, "`{setting}` must be greater than zero"),
            PolicyError::ReverseTooEarly => {
                f.write_str("`reverse_not_before` must be at least 15000 ms (WeChat: reverse >= 15 s after submit)")
            }
            PolicyError::QueryBudgetTooShort => f.write_str(
                "`query_budget` must exceed `backend_deadline` + `first_query_delay`, or a timed-out submit is never queried",
            ),
            PolicyError::Count { setting } => write!(f, "`{setting}` must be between 1 and 50"),
            PolicyError::BackoffCap => f.write_str("`reverse_backoff_max` must be at least `reverse_backoff`"),
        }
    }
}

impl core::error::Error for PolicyError {}

/// A checked set of timings and budgets. Build it with [`Policy::new`] (or use
/// [`Policy::default`], the defaults of docs/protocol.md §timings); the machine relies on its invariants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "PolicySettings", into = "PolicySettings"))]
pub struct Policy(PolicySettings);

impl TryFrom<PolicySettings> for Policy {
    type Error = PolicyError;
    fn try_from(s: PolicySettings) -> Result<Self, PolicyError> {
        Policy::new(s)
    }
}

impl From<Policy> for PolicySettings {
    fn from(p: Policy) -> Self {
        p.0
    }
}

impl Policy {
    /// The shortest reverse delay WeChat allows after a submit.
    pub const MIN_REVERSE_DELAY: Duration = Duration::secs(15);

    /// Checks `s` and returns the policy, or the first reason it is unusable.
    pub fn new(s: PolicySettings) -> Result<Policy, PolicyError> {
        let positive = [
            ("sdk_call_deadline", s.sdk_call_deadline),
            ("init_retry_delay", s.init_retry_delay),
            ("face_scan_deadline", s.face_scan_deadline),
            ("code_scan_deadline", s.code_scan_deadline),
            ("backend_deadline", s.backend_deadline),
            ("auth_retry_delay", s.auth_retry_delay),
            ("first_query_delay", s.first_query_delay),
            ("poll_interval", s.poll_interval),
            ("reverse_backoff", s.reverse_backoff),
        ];
        for (setting, d) in positive {
            if d.0 == 0 {
                return Err(PolicyError::Zero { setting });
            }
        }
        if s.reverse_not_before < Self::MIN_REVERSE_DELAY {
            return Err(PolicyError::ReverseTooEarly);
        }
        if u64::from(s.query_budget.0) <= u64::from(s.backend_deadline.0) + u64::from(s.first_query_delay.0) {
            return Err(PolicyError::QueryBudgetTooShort);
        }
        if !(1..=50).contains(&s.reverse_attempts) {
            return Err(PolicyError::Count {
                setting: "reverse_attempts",
            });
        }
        if !(1..=50).contains(&s.init_attempts) {
            return Err(PolicyError::Count {
                setting: "init_attempts",
            });
        }
        if s.reverse_backoff_max < s.reverse_backoff {
            return Err(PolicyError::BackoffCap);
        }
        Ok(Policy(s))
    }

    /// The settings this policy was built from.
    pub fn settings(&self) -> &PolicySettings {
        &self.0
    }

    /// The wait before reverse attempt `attempt` (1-based; the first reverse waits none):
    /// `reverse_backoff` doubled per earlier retry, capped at `reverse_backoff_max`.
    pub fn reverse_backoff(&self, attempt: u8) -> Duration {
        let doublings = u32::from(attempt.saturating_sub(2)).min(16);
        let d = u64::from(self.0.reverse_backoff.0) << doublings;
        Duration(u32::try_from(d).unwrap_or(u32::MAX).min(self.0.reverse_backoff_max.0))
    }

    /// An upper bound, in ms, on the time from a submit to the order's conclusion, whatever
    /// the backend answers (liveness, docs/design.md §safety 4): polling until the budget
    /// with one query still in flight, every reverse attempt timing out after its backoff
    /// and then its verifying query (after a SYSTEMERROR), and the pay-result report.
    pub fn settle_bound_ms(&self) -> u64 {
        let s = &self.0;
        let polling = u64::from(s.query_budget.0.max(s.reverse_not_before.0))
            + u64::from(s.backend_deadline.0)
            + u64::from(s.poll_interval.0.max(s.first_query_delay.0));
        let per_reverse =
            2 * u64::from(s.backend_deadline.0) + u64::from(s.reverse_backoff_max.0.max(s.poll_interval.0));
        polling + u64::from(s.reverse_attempts) * per_reverse + u64::from(s.sdk_call_deadline.0)
    }

    /// An upper bound, in ms, on a whole order from the cashier's start to its conclusion:
    /// two authorisations (the second after an expired authinfo), two face scans, the code
    /// scanner, the submit and settling.
    pub fn order_bound_ms(&self) -> u64 {
        let s = &self.0;
        let authorise = u64::from(s.sdk_call_deadline.0) + u64::from(s.backend_deadline.0);
        2 * authorise
            + 2 * u64::from(s.face_scan_deadline.0)
            + u64::from(s.code_scan_deadline.0)
            + u64::from(s.backend_deadline.0)
            + self.settle_bound_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_domain() {
        let p = Policy::default();
        let s = p.settings();
        assert_eq!(s.first_query_delay, Duration::secs(5));
        assert_eq!(s.poll_interval, Duration::secs(5));
        assert_eq!(s.query_budget, Duration::secs(30));
        assert_eq!(s.reverse_not_before, Duration::secs(15));
        assert_eq!(s.reverse_attempts, 10);
        assert!(Policy::new(*s).is_ok());
    }

    #[test]
    fn rejects_with_a_reason() {
        let d = PolicySettings::default;
        let s = PolicySettings {
            reverse_not_before: Duration::secs(10),
            ..d()
        };
        assert_eq!(Policy::new(s), Err(PolicyError::ReverseTooEarly));
        let s = PolicySettings {
            poll_interval: Duration(0),
            ..d()
        };
        assert_eq!(
            Policy::new(s),
            Err(PolicyError::Zero {
                setting: "poll_interval"
            })
        );
        let s = PolicySettings {
            query_budget: Duration::secs(15),
            ..d()
        };
        assert_eq!(Policy::new(s), Err(PolicyError::QueryBudgetTooShort));
        let s = PolicySettings {
            reverse_attempts: 0,
            ..d()
        };
        assert_eq!(
            Policy::new(s),
            Err(PolicyError::Count {
                setting: "reverse_attempts"
            })
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = Policy::default();
        assert_eq!(p.reverse_backoff(2), Duration::secs(2));
        assert_eq!(p.reverse_backoff(3), Duration::secs(4));
        assert_eq!(p.reverse_backoff(6), Duration::secs(30));
        assert_eq!(p.reverse_backoff(200), Duration::secs(30));
    }
}
