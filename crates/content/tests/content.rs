//! Banners, announcements and the home page's draft / publish / rollback, on whichever store
//! the environment selects (SQLite, or MongoDB with `TOPUP_TEST_MONGODB_URI`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::TimeDelta;
use futures_util::future::join_all;
use topup_content::{
    AnnouncementDraft, Audience, BannerDraft, BannerLink, Component, ContentError, ContentService,
};
use topup_core::{Clock, ManualClock, Timestamp};
use topup_store::testing::TestStore;

struct Fixture {
    content: Arc<ContentService>,
    clock: ManualClock,
    _store: TestStore,
}

async fn fixture() -> Fixture {
    let store = TestStore::open().await.unwrap();
    let clock = ManualClock::new(Timestamp::parse("2026-03-01T00:00:00Z").unwrap());
    let content = Arc::new(ContentService::new(&store.store, Arc::new(clock.clone())));
    content.prepare().await.unwrap();
    Fixture {
        content,
        clock,
        _store: store,
    }
}

fn page(height: u32) -> Vec<Component> {
    vec![
        Component::BannerCarousel {
            position: "home".into(),
            interval_seconds: 5,
        },
        Component::TopupForm {},
        Component::Spacer { height },
    ]
}

fn field_of(error: ContentError) -> String {
    match error {
        ContentError::Invalid(fields) => fields
            .fields()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(","),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[tokio::test]
async fn publishing_versions_and_rolling_back_restores_the_earlier_page() {
    let f = fixture().await;
    let c = &f.content;
    assert_eq!(
        c.published_components().await.unwrap(),
        (0, vec![Component::TopupForm {}])
    );

    let (_, draft) = c.save_draft(page(10), 0, "alice").await.unwrap();
    assert_eq!(draft.version, 1);
    let first = c.publish_home(1, "alice").await.unwrap();
    assert_eq!(first.number, 1);

    let (_, draft) = c.save_draft(page(40), 1, "bob").await.unwrap();
    // Saving is not publishing: users still see version 1.
    assert_eq!(c.published_components().await.unwrap(), (1, page(10)));
    c.publish_home(draft.version, "bob").await.unwrap();
    assert_eq!(c.published_components().await.unwrap(), (2, page(40)));

    let restored = c.restore_home(1, "carol").await.unwrap();
    assert_eq!((restored.number, restored.restored_from), (3, Some(1)));
    assert_eq!(c.published_components().await.unwrap(), (3, page(10)));
    assert_eq!(c.home_draft().await.unwrap().components, page(10));

    let history: Vec<(u32, Option<u32>)> = c
        .home_versions()
        .await
        .unwrap()
        .iter()
        .map(|v| (v.number, v.restored_from))
        .collect();
    assert_eq!(history, vec![(3, Some(1)), (2, None), (1, None)]);
    assert!(matches!(
        c.restore_home(9, "carol").await,
        Err(ContentError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_stale_draft_is_neither_saved_nor_published() {
    let f = fixture().await;
    let c = &f.content;
    c.save_draft(page(10), 0, "alice").await.unwrap();
    // Bob read version 0 too, before Alice saved.
    assert!(matches!(
        c.save_draft(page(20), 0, "bob").await,
        Err(ContentError::Conflict(_))
    ));
    assert!(matches!(
        c.publish_home(0, "bob").await,
        Err(ContentError::Conflict(_))
    ));
    assert_eq!(c.home_draft().await.unwrap().components, page(10));
    assert!(c.published_home().await.unwrap().is_none());
}

#[tokio::test]
async fn concurrent_publishes_each_take_their_own_number() {
    let f = fixture().await;
    let c = &f.content;
    c.save_draft(page(10), 0, "alice").await.unwrap();
    let published = join_all((0..8).map(|_| c.publish_home(1, "alice"))).await;
    let mut numbers: Vec<u32> = published.into_iter().map(|p| p.unwrap().number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
}

#[tokio::test]
async fn pages_are_checked_component_by_component() {
    let f = fixture().await;
    let c = &f.content;
    let no_form = vec![Component::Spacer { height: 10 }];
    assert_eq!(
        field_of(c.save_draft(no_form, 0, "a").await.unwrap_err()),
        "components"
    );
    assert_eq!(
        field_of(c.save_draft(page(2), 0, "a").await.unwrap_err()),
        "components[2].height"
    );
    let bad_country = vec![
        Component::TopupForm {},
        Component::CountryGrid {
            title: String::new(),
            countries: vec!["PH".into(), "Philippines".into()],
            columns: 4,
        },
    ];
    assert_eq!(
        field_of(c.save_draft(bad_country, 0, "a").await.unwrap_err()),
        "components[1].countries[1]"
    );
    // Nothing was saved by the refusals.
    assert_eq!(c.home_draft().await.unwrap().version, 0);

    let html = vec![
        Component::TopupForm {},
        Component::RichText {
            html: "<p onclick=\"x()\">Hello<script>alert(1)</script></p>".into(),
        },
    ];
    let (_, saved) = c.save_draft(html, 0, "a").await.unwrap();
    assert_eq!(
        saved.components[1],
        Component::RichText {
            html: "<p>Hello</p>".into()
        }
    );
}

fn banner(title: &str, sort: i32) -> BannerDraft {
    BannerDraft {
        title: title.into(),
        image_url: "https://cdn.example/b.png".into(),
        link: BannerLink::Page {
            path: "/pages/membership/index".into(),
        },
        position: "home".into(),
        starts_at: None,
        ends_at: None,
        sort,
        enabled: true,
    }
}

#[tokio::test]
async fn banners_show_inside_their_window_in_order_and_count_clicks() {
    let f = fixture().await;
    let c = &f.content;
    let now = f.clock.now();
    let later = c
        .create_banner(BannerDraft {
            starts_at: Some(now.plus(TimeDelta::hours(1))),
            ..banner("later", 0)
        })
        .await
        .unwrap();
    let second = c.create_banner(banner("second", 2)).await.unwrap();
    let first = c.create_banner(banner("first", 1)).await.unwrap();
    c.create_banner(BannerDraft {
        enabled: false,
        ..banner("off", 0)
    })
    .await
    .unwrap();
    let titles = |banners: Vec<topup_content::Banner>| {
        banners.into_iter().map(|b| b.title).collect::<Vec<_>>()
    };
    assert_eq!(
        titles(c.showing_banners("home").await.unwrap()),
        ["first", "second"]
    );
    f.clock.advance(TimeDelta::hours(1));
    assert_eq!(
        titles(c.showing_banners("home").await.unwrap()),
        ["later", "first", "second"]
    );

    let stamp = c.stamp().await.unwrap();
    assert!(c.click_banner(&first.id).await.unwrap());
    assert!(c.click_banner(&first.id).await.unwrap());
    assert!(!c.click_banner("01NOSUCHBANNER").await.unwrap());
    assert_eq!(c.banner(&first.id).await.unwrap().clicks, 2);
    // Clicks change nothing the home page shows.
    assert_eq!(c.stamp().await.unwrap(), stamp);
    // An edit keeps the clicks and moves the stamp.
    let (_, edited) = c
        .update_banner(&first.id, banner("first!", 1))
        .await
        .unwrap();
    assert_eq!((edited.title.as_str(), edited.clicks), ("first!", 2));
    assert!(c.stamp().await.unwrap() > stamp);
    c.delete_banner(&second.id).await.unwrap();
    c.delete_banner(&later.id).await.unwrap();
    assert_eq!(titles(c.showing_banners("home").await.unwrap()), ["first!"]);

    let wrong = BannerDraft {
        link: BannerLink::Page {
            path: "https://evil.example".into(),
        },
        ..banner("x", 0)
    };
    assert_eq!(
        field_of(c.create_banner(wrong).await.unwrap_err()),
        "link.path"
    );
    let backwards = BannerDraft {
        starts_at: Some(now),
        ends_at: Some(now),
        ..banner("x", 0)
    };
    assert_eq!(
        field_of(c.create_banner(backwards).await.unwrap_err()),
        "ends_at"
    );
}

fn notice(title: &str, audience: Audience, pinned: bool) -> AnnouncementDraft {
    AnnouncementDraft {
        title: title.into(),
        body_html: "<p>Body</p>".into(),
        audience,
        starts_at: None,
        ends_at: None,
        pinned,
        enabled: true,
    }
}

#[tokio::test]
async fn announcements_reach_their_audience_pinned_first_and_remember_reads() {
    let f = fixture().await;
    let c = &f.content;
    c.create_announcement(notice("old pinned", Audience::All, true))
        .await
        .unwrap();
    f.clock.advance(TimeDelta::minutes(1));
    let members = c
        .create_announcement(notice("members", Audience::Members, false))
        .await
        .unwrap();
    f.clock.advance(TimeDelta::minutes(1));
    let newest = c
        .create_announcement(notice("newest", Audience::NonMembers, false))
        .await
        .unwrap();
    let titles = |list: Vec<topup_content::Announcement>| {
        list.into_iter().map(|a| a.title).collect::<Vec<_>>()
    };
    assert_eq!(
        titles(c.showing_announcements(true).await.unwrap()),
        ["old pinned", "members"]
    );
    assert_eq!(
        titles(c.showing_announcements(false).await.unwrap()),
        ["old pinned", "newest"]
    );

    c.mark_read("u1", &newest.id).await.unwrap();
    c.mark_read("u1", &newest.id).await.unwrap();
    let ids = vec![members.id.clone(), newest.id.clone()];
    let read = c.read_by("u1", &ids).await.unwrap();
    assert_eq!(
        read.into_iter().collect::<Vec<_>>(),
        vec![newest.id.clone()]
    );
    assert!(c.read_by("u2", &ids).await.unwrap().is_empty());
    assert!(matches!(
        c.mark_read("u1", "nope").await,
        Err(ContentError::NotFound(_))
    ));

    c.delete_announcement(&newest.id).await.unwrap();
    assert!(c.read_by("u1", &ids).await.unwrap().is_empty());
    let script = AnnouncementDraft {
        body_html: "<script>x</script>".into(),
        ..notice("x", Audience::All, false)
    };
    assert_eq!(
        field_of(c.create_announcement(script).await.unwrap_err()),
        "body_html"
    );
}

#[tokio::test]
async fn the_service_page_is_checked_cleaned_and_saved_by_compare_and_set() {
    use topup_content::{Contact, ContactKind, Faq, ServiceDeskDraft};
    let f = fixture().await;
    let c = &f.content;
    let draft = |question: &str| ServiceDeskDraft {
        faqs: vec![Faq {
            category: "Payment".into(),
            question: question.into(),
            answer_html: "<p>Refunds arrive <b>within minutes</b><script>x</script></p>".into(),
        }],
        contacts: vec![Contact {
            kind: ContactKind::Phone,
            label: "Hotline".into(),
            value: "+86 400 000 0000".into(),
        }],
        working_hours: " 9:00–21:00 ".into(),
    };
    assert_eq!(c.service_desk().await.unwrap().version, 0);
    assert_eq!(
        field_of(c.save_service_desk(draft(""), 0, "a").await.unwrap_err()),
        "faqs[0].question"
    );
    let (_, saved) = c
        .save_service_desk(draft("Where is my refund?"), 0, "a")
        .await
        .unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(
        saved.faqs[0].answer_html,
        "<p>Refunds arrive <b>within minutes</b></p>"
    );
    assert_eq!(saved.working_hours, "9:00–21:00");
    assert!(matches!(
        c.save_service_desk(draft("Stale?"), 0, "b").await,
        Err(ContentError::Conflict(_))
    ));
    let (_, again) = c.save_service_desk(draft("Refund?"), 1, "b").await.unwrap();
    assert_eq!((again.version, again.updated_by.as_deref()), (2, Some("b")));
    assert_eq!(c.service_desk().await.unwrap().faqs[0].question, "Refund?");
}

#[tokio::test]
async fn a_new_version_of_an_agreement_must_be_accepted_again() {
    use topup_content::{AgreementDraft, AgreementKind};
    let f = fixture().await;
    let c = &f.content;
    let kind = AgreementKind::RechargeTerms;
    let draft = |title: &str| AgreementDraft {
        title: title.into(),
        body_html: "<h3>Refunds</h3><p>Failed top-ups are refunded.</p><iframe src=x></iframe>"
            .into(),
        summary: String::new(),
    };
    // Nothing published: nothing to accept.
    assert!(c.awaiting_acceptance("u1", kind).await.unwrap().is_none());
    assert!(matches!(
        c.accept_agreement("u1", kind, 1).await,
        Err(ContentError::NotFound(_))
    ));

    let first = c
        .publish_agreement(kind, draft("Recharge terms"), "alice")
        .await
        .unwrap();
    assert_eq!(first.number, 1);
    assert!(!first.body_html.contains("iframe"), "{}", first.body_html);
    assert_eq!(
        c.awaiting_acceptance("u1", kind)
            .await
            .unwrap()
            .map(|v| v.number),
        Some(1)
    );
    let accepted = c.accept_agreement("u1", kind, 1).await.unwrap();
    f.clock.advance(TimeDelta::minutes(1));
    // Accepting again keeps the first acceptance's time.
    assert_eq!(
        c.accept_agreement("u1", kind, 1).await.unwrap().accepted_at,
        accepted.accepted_at
    );
    assert!(c.awaiting_acceptance("u1", kind).await.unwrap().is_none());
    // Other agreements and other users are apart.
    assert!(
        c.awaiting_acceptance("u1", AgreementKind::PrivacyPolicy)
            .await
            .unwrap()
            .is_none()
    );
    assert!(c.awaiting_acceptance("u2", kind).await.unwrap().is_some());

    let second = c
        .publish_agreement(kind, draft("Recharge terms v2"), "bob")
        .await
        .unwrap();
    assert_eq!(second.number, 2);
    assert_eq!(
        c.awaiting_acceptance("u1", kind)
            .await
            .unwrap()
            .map(|v| v.number),
        Some(2)
    );
    // Accepting the text one read before the change is not accepting the new one.
    assert!(matches!(
        c.accept_agreement("u1", kind, 1).await,
        Err(ContentError::NotCurrent {
            accepted: 1,
            current: 2
        })
    ));
    c.accept_agreement("u1", kind, 2).await.unwrap();
    assert!(c.awaiting_acceptance("u1", kind).await.unwrap().is_none());
    let numbers: Vec<u32> = c
        .agreement_versions(kind)
        .await
        .unwrap()
        .iter()
        .map(|v| v.number)
        .collect();
    assert_eq!(numbers, [2, 1]);

    let empty = AgreementDraft {
        body_html: "<script>x</script>".into(),
        ..draft("x")
    };
    assert_eq!(
        field_of(c.publish_agreement(kind, empty, "a").await.unwrap_err()),
        "body_html"
    );
    let concurrent = join_all(
        (0..5).map(|_| c.publish_agreement(AgreementKind::PrivacyPolicy, draft("Privacy"), "a")),
    )
    .await;
    let mut numbers: Vec<u32> = concurrent.into_iter().map(|v| v.unwrap().number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn checkout_s_question_is_answered_from_memory_and_a_publish_here_is_seen_at_once() {
    use topup_content::{AgreementDraft, AgreementKind};
    let f = fixture().await;
    let c = &f.content;
    let draft = |title: &str| AgreementDraft {
        title: title.into(),
        body_html: "<p>Terms</p>".into(),
        summary: String::new(),
    };
    // Nothing published, and remembered as such.
    assert_eq!(c.recharge_terms_awaiting("u1").await.unwrap(), None);
    c.publish_agreement(AgreementKind::RechargeTerms, draft("Terms"), "a")
        .await
        .unwrap();
    assert_eq!(
        c.recharge_terms_awaiting("u1").await.unwrap(),
        Some((1, "Terms".to_owned()))
    );
    c.accept_agreement("u1", AgreementKind::RechargeTerms, 1)
        .await
        .unwrap();
    assert_eq!(c.recharge_terms_awaiting("u1").await.unwrap(), None);
    // Another agreement's publish changes nothing; the recharge terms' does, at once.
    c.publish_agreement(AgreementKind::PrivacyPolicy, draft("Privacy"), "a")
        .await
        .unwrap();
    assert_eq!(c.recharge_terms_awaiting("u1").await.unwrap(), None);
    c.publish_agreement(AgreementKind::RechargeTerms, draft("Terms 2"), "a")
        .await
        .unwrap();
    assert_eq!(
        c.recharge_terms_awaiting("u1").await.unwrap(),
        Some((2, "Terms 2".to_owned()))
    );
}
