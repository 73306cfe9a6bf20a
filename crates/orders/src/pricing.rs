//! The price of a top-up, line by line (`docs/marketing.md#pricing-order`): the base retail
//! price, then the membership discount, then the coupon (applied to what the membership
//! leaves). All amounts are integer fen.

use topup_core::{CoreError, Money};

use crate::{OrdersError, PriceLine};

/// A membership's discount on `base`: `floor(base × percent / 100)`, leaving at least one fen
/// to pay (WeChat Pay refuses a zero amount).
pub fn member_discount(base: Money, percent: u32) -> Result<Money, OrdersError> {
    let off = base
        .amount
        .checked_mul(i64::from(percent))
        .ok_or(CoreError::Overflow)?
        / 100;
    Ok(Money::new(
        off.clamp(0, base.amount.saturating_sub(1).max(0)),
        base.currency,
    ))
}

/// The sum of the lines (the base positive, discounts negative).
pub fn total_of(lines: &[PriceLine]) -> Result<Money, OrdersError> {
    let Some(first) = lines.first() else {
        return Err(OrdersError::Money(CoreError::Overflow));
    };
    Ok(lines
        .iter()
        .skip(1)
        .try_fold(first.amount, |sum, line| sum.checked_add(line.amount))?)
}

/// A discount as a negative line.
pub fn discount_line(kind: &str, label: String, discount: Money) -> Result<PriceLine, OrdersError> {
    Ok(PriceLine {
        kind: kind.to_owned(),
        label,
        amount: Money::zero(discount.currency).checked_sub(discount)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_discount_rounds_down_to_the_fen() {
        // 2% of ¥33.33 is 66.66 fen: 66 off.
        assert_eq!(
            member_discount(Money::cny(3333), 2).unwrap(),
            Money::cny(66)
        );
        // 2% of 49 fen is 0.98 fen: nothing.
        assert_eq!(member_discount(Money::cny(49), 2).unwrap(), Money::cny(0));
        assert_eq!(member_discount(Money::cny(5000), 0).unwrap(), Money::cny(0));
        // Never the whole price.
        assert_eq!(member_discount(Money::cny(1), 50).unwrap(), Money::cny(0));
    }

    #[test]
    fn membership_then_coupon_lines_add_up_exactly() {
        let base = Money::cny(3333);
        let member = member_discount(base, 2).unwrap();
        let after_member = base.checked_sub(member).unwrap();
        // A ¥5 coupon on what the membership leaves (¥32.67).
        let lines = vec![
            PriceLine {
                kind: "base".into(),
                label: "plan".into(),
                amount: base,
            },
            discount_line("membership", "gold".into(), member).unwrap(),
            discount_line("coupon", "5 off".into(), Money::cny(500)).unwrap(),
        ];
        assert_eq!(after_member, Money::cny(3267));
        assert_eq!(total_of(&lines).unwrap(), Money::cny(2767));
    }
}
