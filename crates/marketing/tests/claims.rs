//! Claims under concurrency, locks, settlements and the sweeper, on whichever store the
//! environment selects (`topup_store::testing::TestStore`: SQLite, or MongoDB with
//! `TOPUP_TEST_MONGODB_URI`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use async_trait::async_trait;
use chrono::TimeDelta;
use futures_util::future::join_all;
use topup_core::{ManualClock, Money, Timestamp};
use topup_marketing::{
    Channel, CouponScope, CouponState, CouponTerms, DiscountKind, LockHolders, MarketingError,
    MarketingService, Purchase, Settlement, TemplateDraft, Validity,
};
use topup_store::testing::TestStore;

struct Fixture {
    service: Arc<MarketingService>,
    clock: ManualClock,
    _store: TestStore,
}

async fn fixture() -> Fixture {
    let store = TestStore::open().await.unwrap();
    let clock = ManualClock::new(Timestamp::parse("2026-03-01T00:00:00Z").unwrap());
    let service = Arc::new(MarketingService::new(&store.store, Arc::new(clock.clone())));
    service.prepare().await.unwrap();
    Fixture {
        service,
        clock,
        _store: store,
    }
}

fn draft(stock: Option<i64>, per_user: u32, channel: Channel) -> TemplateDraft {
    TemplateDraft {
        name: "满10减5".into(),
        description: String::new(),
        terms: CouponTerms {
            kind: DiscountKind::AmountOff,
            amount_off: Some(Money::cny(500)),
            percent_off: None,
            max_discount: None,
            threshold: Money::cny(1000),
            scope: CouponScope::default(),
        },
        validity: Validity::DaysAfterClaim { days: 7 },
        total_stock: stock,
        per_user_limit: per_user,
        channel,
        enabled: true,
    }
}

fn purchase(base: i64) -> Purchase {
    Purchase {
        plan_id: "plan-1".into(),
        kind: "airtime".into(),
        country: "PH".into(),
        operator_id: "op-1".into(),
        base: Money::cny(base),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_claims_on_fifty_stock_give_exactly_fifty() {
    let f = fixture().await;
    let template = f
        .service
        .create_template(draft(Some(50), 1, Channel::SelfClaim))
        .await
        .unwrap();
    let claims = (0..200).map(|n| {
        let service = Arc::clone(&f.service);
        let id = template.id.clone();
        tokio::spawn(async move { service.claim(&format!("user-{n}"), &id).await })
    });
    let results: Vec<_> = join_all(claims)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();
    let won = results.iter().filter(|r| r.is_ok()).count();
    let sold_out = results
        .iter()
        .filter(|r| matches!(r, Err(MarketingError::SoldOut(_))))
        .count();
    assert_eq!((won, sold_out), (50, 150), "{results:?}");
    assert_eq!(f.service.template(&template.id).await.unwrap().claimed, 50);
    assert_eq!(f.service.stats(&template.id).await.unwrap().claimed, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_users_concurrent_claims_never_pass_the_per_user_limit() {
    let f = fixture().await;
    let template = f
        .service
        .create_template(draft(None, 2, Channel::SelfClaim))
        .await
        .unwrap();
    let claims = (0..30).map(|_| {
        let service = Arc::clone(&f.service);
        let id = template.id.clone();
        tokio::spawn(async move { service.claim("same-user", &id).await })
    });
    let results: Vec<_> = join_all(claims)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 2, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(MarketingError::LimitReached { limit: 2 })))
    );
    // Refused claims gave their stock back.
    assert_eq!(f.service.template(&template.id).await.unwrap().claimed, 2);
}

#[tokio::test]
async fn only_self_templates_are_claimable_and_staff_issue_reports_refusals() {
    let f = fixture().await;
    let staff_only = f
        .service
        .create_template(draft(Some(2), 1, Channel::Staff))
        .await
        .unwrap();
    assert!(matches!(
        f.service.claim("u1", &staff_only.id).await,
        Err(MarketingError::NotFound(_))
    ));
    let users: Vec<String> = ["u1", "u2", "u1", "u3"].map(String::from).to_vec();
    let report = f.service.issue(&staff_only.id, &users).await.unwrap();
    assert_eq!(report.issued, 2);
    let refused: Vec<_> = report
        .refused
        .iter()
        .map(|r| (r.user_id.as_str(), r.code.as_str()))
        .collect();
    assert_eq!(
        refused,
        [("u1", "COUPON_LIMIT_REACHED"), ("u3", "COUPON_SOLD_OUT")]
    );
}

#[tokio::test]
async fn a_locked_coupon_is_used_once_and_returned_when_its_order_closes() {
    let f = fixture().await;
    let template = f
        .service
        .create_template(draft(None, 3, Channel::SelfClaim))
        .await
        .unwrap();
    let coupon = f.service.claim("u1", &template.id).await.unwrap();

    // Someone else's coupon, and a purchase below the threshold, are refused.
    assert!(matches!(
        f.service
            .lock(&coupon.id, "u2", "order-x", &purchase(2000))
            .await,
        Err(MarketingError::NotFound(_))
    ));
    match f
        .service
        .lock(&coupon.id, "u1", "order-x", &purchase(700))
        .await
    {
        Err(MarketingError::NotUsable { code, .. }) => assert_eq!(code, "below_threshold"),
        other => panic!("{other:?}"),
    }

    let (discount, label) = f
        .service
        .lock(&coupon.id, "u1", "order-1", &purchase(2000))
        .await
        .unwrap();
    assert_eq!((discount, label.as_str()), (Money::cny(500), "满10减5"));
    // A second order cannot take it while it is locked.
    match f
        .service
        .lock(&coupon.id, "u1", "order-2", &purchase(2000))
        .await
    {
        Err(MarketingError::NotUsable { code, .. }) => assert_eq!(code, "in_use"),
        other => panic!("{other:?}"),
    }
    // Settling for another order changes nothing.
    f.service
        .settle(&coupon.id, "order-2", Settlement::Returned)
        .await
        .unwrap();
    let state = |f: &Fixture, id: String| {
        let service = Arc::clone(&f.service);
        async move {
            service
                .list_for_user("u1", None, Default::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .find(|c| c.id == id)
                .unwrap()
        }
    };
    assert_eq!(
        state(&f, coupon.id.clone()).await.state,
        CouponState::Locked
    );

    // Closed unpaid: back to unused, usable again.
    f.service
        .settle(&coupon.id, "order-1", Settlement::Returned)
        .await
        .unwrap();
    let back = state(&f, coupon.id.clone()).await;
    assert_eq!((back.state, back.order_no), (CouponState::Unused, None));

    // Paid (twice: settlements are idempotent), stats count it.
    f.service
        .lock(&coupon.id, "u1", "order-3", &purchase(2000))
        .await
        .unwrap();
    for _ in 0..2 {
        f.service
            .settle(&coupon.id, "order-3", Settlement::Used)
            .await
            .unwrap();
    }
    let used = state(&f, coupon.id.clone()).await;
    assert_eq!(used.state, CouponState::Used);
    let stats = f.service.stats(&template.id).await.unwrap();
    assert_eq!(
        (stats.used, stats.discount_given, stats.paid_total),
        (1, Money::cny(500), Money::cny(1500))
    );

    // Fully refunded after its window ended: it comes back expired.
    f.clock.advance(TimeDelta::days(8));
    f.service
        .settle(&coupon.id, "order-3", Settlement::Returned)
        .await
        .unwrap();
    assert_eq!(state(&f, coupon.id).await.state, CouponState::Expired);
}

/// Orders that exist, for the sweeper.
struct Existing(Vec<&'static str>);

#[async_trait]
impl LockHolders for Existing {
    async fn exists(&self, holder: &str) -> Result<bool, MarketingError> {
        Ok(self.0.contains(&holder))
    }
}

#[tokio::test]
async fn the_sweeper_expires_coupons_and_releases_locks_whose_order_never_came() {
    let f = fixture().await;
    let template = f
        .service
        .create_template(draft(None, 3, Channel::SelfClaim))
        .await
        .unwrap();
    let orphan = f.service.claim("u1", &template.id).await.unwrap();
    let held = f.service.claim("u1", &template.id).await.unwrap();
    let idle = f.service.claim("u1", &template.id).await.unwrap();
    f.service
        .lock(&orphan.id, "u1", "never-placed", &purchase(2000))
        .await
        .unwrap();
    f.service
        .lock(&held.id, "u1", "placed", &purchase(2000))
        .await
        .unwrap();
    let holders = Existing(vec!["placed"]);

    // Within the grace period nothing moves: the order may be being written.
    assert_eq!(f.service.sweep(&holders).await.unwrap(), 0);
    f.clock.advance(TimeDelta::minutes(11));
    assert_eq!(f.service.sweep(&holders).await.unwrap(), 1);
    let by_id =
        |id: &str, all: &[topup_marketing::Coupon]| all.iter().find(|c| c.id == id).unwrap().state;
    let all = f
        .service
        .list_for_user("u1", None, Default::default())
        .await
        .unwrap()
        .items;
    assert_eq!(by_id(&orphan.id, &all), CouponState::Unused);
    assert_eq!(by_id(&held.id, &all), CouponState::Locked);

    // After the window, unused ones expire; the locked one waits for its order.
    f.clock.advance(TimeDelta::days(7));
    assert_eq!(f.service.sweep(&holders).await.unwrap(), 2);
    let all = f
        .service
        .list_for_user("u1", None, Default::default())
        .await
        .unwrap()
        .items;
    assert_eq!(by_id(&orphan.id, &all), CouponState::Expired);
    assert_eq!(by_id(&idle.id, &all), CouponState::Expired);
    assert_eq!(by_id(&held.id, &all), CouponState::Locked);
}

#[tokio::test]
async fn new_users_get_their_welcome_coupons_once() {
    let f = fixture().await;
    let welcome = f
        .service
        .create_template(draft(None, 1, Channel::NewUser))
        .await
        .unwrap();
    let joined = f.clock_now();
    assert_eq!(f.service.welcome("u1", joined).await.unwrap(), 1);
    assert_eq!(f.service.welcome("u1", joined).await.unwrap(), 0);
    // Someone who joined before the template existed does not get it.
    let earlier = joined.minus(TimeDelta::days(1));
    assert_eq!(f.service.welcome("u0", earlier).await.unwrap(), 0);
    assert_eq!(f.service.stats(&welcome.id).await.unwrap().claimed, 1);
}

impl Fixture {
    fn clock_now(&self) -> Timestamp {
        use topup_core::Clock;
        self.clock.now()
    }
}

/// What the coupon centre shows as held, and what the per-user limit counts, is the user's
/// own coupons of that template: not another user's, not another template's.
#[tokio::test]
async fn a_user_holds_only_their_own_coupons_of_each_template() {
    let f = fixture().await;
    let first = f
        .service
        .create_template(draft(None, 2, Channel::SelfClaim))
        .await
        .unwrap();
    let second = f
        .service
        .create_template(draft(None, 2, Channel::SelfClaim))
        .await
        .unwrap();
    for user in ["alice", "alice", "bob"] {
        f.service.claim(user, &first.id).await.unwrap();
    }
    f.service.claim("alice", &second.id).await.unwrap();
    let held = |claimable: Vec<topup_marketing::Claimable>, id: &str| {
        claimable
            .iter()
            .find(|c| c.template.id == id)
            .map(|c| c.claimed_by_me)
            .unwrap()
    };
    let alices = f.service.claimable("alice").await.unwrap();
    assert_eq!(
        (held(alices.clone(), &first.id), held(alices, &second.id)),
        (2, 1)
    );
    let bobs = f.service.claimable("bob").await.unwrap();
    assert_eq!(
        (held(bobs.clone(), &first.id), held(bobs, &second.id)),
        (1, 0)
    );
    assert!(matches!(
        f.service.claim("alice", &first.id).await,
        Err(MarketingError::LimitReached { limit: 2 })
    ));
    f.service.claim("alice", &second.id).await.unwrap();
    f.service.claim("bob", &first.id).await.unwrap();
}
