//! Crash points (`docs/operations.md#crash-points`): named places in the money flow, each
//! right after an effect outside the process and before it is recorded or answered, where a
//! test can make the process die as a SIGKILL would leave it. They are compiled into every
//! build and cost one read-locked map lookup each; none is armed unless
//! `TOPUP_CRASH_POINTS` names it when the server starts.

/// The WeChat prepay was placed; the buyer has not been answered.
pub const CHECKOUT_PAYMENT_STARTED: &str = "checkout.payment_started";
/// WeChat Pay's payment notification was verified and applied; WeChat has not been answered.
pub const PAYMENT_NOTIFICATION_APPLIED: &str = "payment.notification_applied";
/// The provider answered a top-up; its answer is not recorded.
pub const RECHARGE_SENT: &str = "recharge.sent";
/// The provider answered a status poll; its answer is not recorded.
pub const RECHARGE_POLLED: &str = "recharge.polled";
/// WeChat Pay accepted a refund request; its answer is not recorded.
pub const REFUND_REQUESTED: &str = "refund.requested";
/// WeChat Pay's refund notification was verified and applied; WeChat has not been answered.
pub const REFUND_NOTIFICATION_APPLIED: &str = "refund.notification_applied";

/// Every crash point, in the order a purchase meets them.
pub const CRASH_POINTS: &[&str] = &[
    CHECKOUT_PAYMENT_STARTED,
    PAYMENT_NOTIFICATION_APPLIED,
    RECHARGE_SENT,
    RECHARGE_POLLED,
    REFUND_REQUESTED,
    REFUND_NOTIFICATION_APPLIED,
];

/// Ends the process on the spot when `name` is armed: no destructor, shutdown path or
/// buffered write runs after it, as after a SIGKILL (the signal is SIGABRT).
pub fn crash_point(name: &str) {
    fail::fail_point!(name, |_| std::process::abort());
}

/// Arms the crash points named in `spec`, separated by commas. Answers the names armed, or
/// the first name that is not a crash point (nothing is armed then).
pub fn arm_crash_points(spec: &str) -> Result<Vec<&'static str>, String> {
    let mut names = Vec::new();
    for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let known = CRASH_POINTS
            .iter()
            .find(|point| **point == name)
            .ok_or_else(|| name.to_owned())?;
        names.push(*known);
    }
    for name in &names {
        fail::cfg(*name, "return").map_err(|_| (*name).to_owned())?;
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_points_are_armed() {
        assert_eq!(
            arm_crash_points("recharge.sent, no.such_point"),
            Err("no.such_point".into())
        );
        assert_eq!(arm_crash_points(" , "), Ok(vec![]));
        // Unarmed, a point does nothing.
        crash_point(RECHARGE_SENT);
    }
}
