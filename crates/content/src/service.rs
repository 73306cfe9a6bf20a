use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use topup_core::{Page, PageRequest, SharedClock, Timestamp};
use topup_store::{
    Collection, Document, Filter, FindQuery, Index, SortOrder, Store, StoreError, Update,
};

use crate::agreements::{Acceptance, AgreementDraft, AgreementKind, AgreementVersion};
use crate::announcements::ReadMark;
use crate::home::{checked_page, plain_page};
use crate::service_desk::{ServiceDesk, ServiceDeskDraft};
use crate::{
    Announcement, AnnouncementDraft, Banner, BannerDraft, Component, ContentError, HomeDraft,
    HomeVersion, HomeVersionSummary,
};

/// The one page staff decorate today.
const HOME: &str = "home";
/// Bounded lists: staff keep tens of banners, not thousands.
const LIST_LIMIT: u64 = 500;

/// Moves whenever something the home page shows changes (see the crate docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ContentStamp {
    id: String,
    version: i64,
    changed_at: Timestamp,
}

impl Document for ContentStamp {
    const COLLECTION: &'static str = "content_stamps";
}

impl ContentStamp {
    const ID: &'static str = "content";
}

pub struct ContentService {
    banners: Collection<Banner>,
    announcements: Collection<Announcement>,
    reads: Collection<ReadMark>,
    drafts: Collection<HomeDraft>,
    versions: Collection<HomeVersion>,
    stamps: Collection<ContentStamp>,
    desks: Collection<ServiceDesk>,
    agreements: Collection<AgreementVersion>,
    acceptances: Collection<Acceptance>,
    /// The current recharge terms' number and title, and when they were read: checkout asks
    /// on every order, and a query per order cost more than a third of checkout's
    /// throughput. A publish here forgets them at once; other processes within
    /// [`TERMS_FRESH_FOR`].
    recharge_terms: std::sync::RwLock<Option<RememberedTerms>>,
    clock: SharedClock,
}

/// When the recharge terms were read, and their current version's number and title (none
/// before the first is published).
type RememberedTerms = (std::time::Instant, Option<(u32, String)>);

/// How long the current recharge terms are remembered (another process's publish reaches
/// this process's checkouts within it).
pub const TERMS_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(2);

impl ContentService {
    pub fn new(store: &Store, clock: SharedClock) -> Self {
        ContentService {
            banners: store.collection(),
            announcements: store.collection(),
            reads: store.collection(),
            drafts: store.collection(),
            versions: store.collection(),
            stamps: store.collection(),
            desks: store.collection(),
            agreements: store.collection(),
            acceptances: store.collection(),
            recharge_terms: std::sync::RwLock::new(None),
            clock,
        }
    }

    /// Indexes (idempotent).
    pub async fn prepare(&self) -> Result<(), ContentError> {
        self.banners
            .ensure_index(Index::new("position_sort", &["position", "sort"]))
            .await?;
        self.announcements
            .ensure_index(Index::new("enabled_created", &["enabled", "created_at"]))
            .await?;
        self.reads
            .ensure_index(Index::new("user", &["user_id", "announcement_id"]))
            .await?;
        self.versions
            .ensure_index(Index::new("page_number", &["page", "number"]))
            .await?;
        self.agreements
            .ensure_index(Index::new("kind_number", &["kind", "number"]))
            .await?;
        Ok(())
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    // ---------- the stamp ----------

    /// The content's change counter: equal readings mean nothing the home page shows has
    /// changed in between (in any process).
    pub async fn stamp(&self) -> Result<i64, ContentError> {
        Ok(self
            .stamps
            .get(ContentStamp::ID)
            .await?
            .map(|s| s.version)
            .unwrap_or(0))
    }

    async fn changed(&self) -> Result<(), ContentError> {
        let now = self.now();
        let touch = [Update::set("changed_at", now)];
        if self
            .stamps
            .update(ContentStamp::ID, Filter::All, &touch)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let first = ContentStamp {
            id: ContentStamp::ID.to_owned(),
            version: 1,
            changed_at: now,
        };
        match self.stamps.insert(&first).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_duplicate() => {
                self.stamps
                    .update(ContentStamp::ID, Filter::All, &touch)
                    .await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    // ---------- banners ----------

    pub async fn create_banner(&self, draft: BannerDraft) -> Result<Banner, ContentError> {
        let draft = draft.checked()?;
        let now = self.now();
        let banner = Banner {
            id: ulid::Ulid::new().to_string(),
            version: 0,
            title: draft.title,
            image_url: draft.image_url,
            link: draft.link,
            position: draft.position,
            starts_at: draft.starts_at,
            ends_at: draft.ends_at,
            sort: draft.sort,
            enabled: draft.enabled,
            clicks: 0,
            created_at: now,
            updated_at: now,
        };
        self.banners.insert(&banner).await?;
        self.changed().await?;
        Ok(banner)
    }

    /// Rewrites a banner; its clicks stay.
    pub async fn update_banner(
        &self,
        id: &str,
        draft: BannerDraft,
    ) -> Result<(Banner, Banner), ContentError> {
        let draft = draft.checked()?;
        for _ in 0..10 {
            let before = self.banner(id).await?;
            let after = Banner {
                title: draft.title.clone(),
                image_url: draft.image_url.clone(),
                link: draft.link.clone(),
                position: draft.position.clone(),
                starts_at: draft.starts_at,
                ends_at: draft.ends_at,
                sort: draft.sort,
                enabled: draft.enabled,
                updated_at: self.now(),
                ..before.clone()
            };
            match self.banners.replace(&after).await {
                Ok(stored) => {
                    self.changed().await?;
                    return Ok((before, stored));
                }
                // A click landed meanwhile: read again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ContentError::Conflict(format!("banner {id} kept changing")))
    }

    pub async fn delete_banner(&self, id: &str) -> Result<Banner, ContentError> {
        let banner = self.banner(id).await?;
        self.banners.delete(id).await?;
        self.changed().await?;
        Ok(banner)
    }

    pub async fn banner(&self, id: &str) -> Result<Banner, ContentError> {
        self.banners
            .get(id)
            .await?
            .ok_or_else(|| ContentError::NotFound(format!("banner {id}")))
    }

    /// Every banner (of one position, if given), by position and order.
    pub async fn list_banners(&self, position: Option<&str>) -> Result<Vec<Banner>, ContentError> {
        let filter = match position {
            Some(position) => Filter::eq("position", position),
            None => Filter::All,
        };
        Ok(self
            .banners
            .find(
                &FindQuery::new(filter)
                    .sort("position", SortOrder::Asc)
                    .sort("sort", SortOrder::Asc)
                    .limit(LIST_LIMIT),
            )
            .await?)
    }

    /// The banners a position shows now, in order.
    pub async fn showing_banners(&self, position: &str) -> Result<Vec<Banner>, ContentError> {
        let now = self.now();
        let mut banners = self.list_banners(Some(position)).await?;
        banners.retain(|banner| banner.is_showing(now));
        Ok(banners)
    }

    /// Counts a tap; false when there is no such banner.
    pub async fn click_banner(&self, id: &str) -> Result<bool, ContentError> {
        Ok(self
            .banners
            .update_if(id, Filter::All, &[Update::inc("clicks", 1)])
            .await?)
    }

    // ---------- announcements ----------

    pub async fn create_announcement(
        &self,
        draft: AnnouncementDraft,
    ) -> Result<Announcement, ContentError> {
        let draft = draft.checked()?;
        let now = self.now();
        let announcement = Announcement {
            id: ulid::Ulid::new().to_string(),
            version: 0,
            title: draft.title,
            body_html: draft.body_html,
            audience: draft.audience,
            starts_at: draft.starts_at,
            ends_at: draft.ends_at,
            pinned: draft.pinned,
            enabled: draft.enabled,
            created_at: now,
            updated_at: now,
        };
        self.announcements.insert(&announcement).await?;
        self.changed().await?;
        Ok(announcement)
    }

    pub async fn update_announcement(
        &self,
        id: &str,
        draft: AnnouncementDraft,
    ) -> Result<(Announcement, Announcement), ContentError> {
        let draft = draft.checked()?;
        let before = self.announcement(id).await?;
        let after = Announcement {
            title: draft.title,
            body_html: draft.body_html,
            audience: draft.audience,
            starts_at: draft.starts_at,
            ends_at: draft.ends_at,
            pinned: draft.pinned,
            enabled: draft.enabled,
            updated_at: self.now(),
            ..before.clone()
        };
        let stored = match self.announcements.replace(&after).await {
            Ok(stored) => stored,
            Err(StoreError::Conflict { .. }) => {
                return Err(ContentError::Conflict(format!(
                    "announcement {id} was changed meanwhile; reload it"
                )));
            }
            Err(other) => return Err(other.into()),
        };
        self.changed().await?;
        Ok((before, stored))
    }

    /// Deletes an announcement and its read marks.
    pub async fn delete_announcement(&self, id: &str) -> Result<Announcement, ContentError> {
        let announcement = self.announcement(id).await?;
        self.announcements.delete(id).await?;
        self.reads
            .delete_many(&Filter::eq("announcement_id", id))
            .await?;
        self.changed().await?;
        Ok(announcement)
    }

    pub async fn announcement(&self, id: &str) -> Result<Announcement, ContentError> {
        self.announcements
            .get(id)
            .await?
            .ok_or_else(|| ContentError::NotFound(format!("announcement {id}")))
    }

    /// Every announcement, newest first (staff).
    pub async fn list_announcements(
        &self,
        page: PageRequest,
    ) -> Result<Page<Announcement>, ContentError> {
        Ok(self
            .announcements
            .page(Filter::All, &[("created_at", SortOrder::Desc)], page)
            .await?)
    }

    /// What a user sees now: pinned first, then newest first.
    pub async fn showing_announcements(
        &self,
        member: bool,
    ) -> Result<Vec<Announcement>, ContentError> {
        let now = self.now();
        let mut showing: Vec<Announcement> = self
            .announcements
            .find(
                &FindQuery::new(Filter::eq("enabled", true))
                    .sort("created_at", SortOrder::Desc)
                    .limit(LIST_LIMIT),
            )
            .await?
            .into_iter()
            .filter(|a| a.is_showing(now, member))
            .collect();
        // Stable: newest first within pinned and within the rest.
        showing.sort_by_key(|a| !a.pinned);
        Ok(showing)
    }

    /// Marks an announcement read by a user (again is a no-op).
    pub async fn mark_read(
        &self,
        user_id: &str,
        announcement_id: &str,
    ) -> Result<(), ContentError> {
        self.announcement(announcement_id).await?;
        let mark = ReadMark {
            id: ReadMark::id_for(user_id, announcement_id),
            user_id: user_id.to_owned(),
            announcement_id: announcement_id.to_owned(),
            read_at: self.now(),
        };
        match self.reads.insert(&mark).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_duplicate() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Which of these announcements the user has read.
    pub async fn read_by(
        &self,
        user_id: &str,
        announcement_ids: &[String],
    ) -> Result<HashSet<String>, ContentError> {
        if announcement_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let ids: Vec<String> = announcement_ids
            .iter()
            .map(|a| ReadMark::id_for(user_id, a))
            .collect();
        let marks = self
            .reads
            .find(&FindQuery::new(Filter::is_in("id", ids)).limit(LIST_LIMIT))
            .await?;
        Ok(marks.into_iter().map(|m| m.announcement_id).collect())
    }

    // ---------- the home page ----------

    /// The draft staff are editing (the plain page, version 0, before anyone saved one).
    pub async fn home_draft(&self) -> Result<HomeDraft, ContentError> {
        Ok(match self.drafts.get(HOME).await? {
            Some(draft) => draft,
            None => HomeDraft {
                id: HOME.to_owned(),
                version: 0,
                components: plain_page(),
                updated_at: self.now(),
                updated_by: None,
            },
        })
    }

    /// Checks a page without saving it (the editor's preview).
    pub fn check_page(&self, components: Vec<Component>) -> Result<Vec<Component>, ContentError> {
        checked_page(components)
    }

    /// Saves the draft if nobody saved it since `expected_version` was read.
    pub async fn save_draft(
        &self,
        components: Vec<Component>,
        expected_version: i64,
        by: &str,
    ) -> Result<(HomeDraft, HomeDraft), ContentError> {
        let components = checked_page(components)?;
        let before = self.home_draft().await?;
        if before.version != expected_version {
            return Err(stale_draft(before.version));
        }
        let after = HomeDraft {
            components,
            updated_at: self.now(),
            updated_by: Some(by.to_owned()),
            ..before.clone()
        };
        let first = |draft| HomeDraft {
            version: 1,
            ..draft
        };
        match save_single(&self.drafts, expected_version, after, first).await? {
            Some(stored) => Ok((before, stored)),
            None => Err(stale_draft(self.home_draft().await?.version)),
        }
    }

    /// The version users see; none before the first publish.
    pub async fn published_home(&self) -> Result<Option<HomeVersion>, ContentError> {
        Ok(self
            .versions
            .find(
                &FindQuery::new(Filter::eq("page", HOME))
                    .sort("number", SortOrder::Desc)
                    .limit(1),
            )
            .await?
            .into_iter()
            .next())
    }

    /// What users see: the published components, or the plain page.
    pub async fn published_components(&self) -> Result<(u32, Vec<Component>), ContentError> {
        Ok(match self.published_home().await? {
            Some(version) => (version.number, version.components),
            None => (0, plain_page()),
        })
    }

    /// Publishes the saved draft (if it is still at `expected_version`) as the next version.
    pub async fn publish_home(
        &self,
        expected_version: i64,
        by: &str,
    ) -> Result<HomeVersion, ContentError> {
        let draft = self.home_draft().await?;
        if draft.version != expected_version {
            return Err(stale_draft(draft.version));
        }
        let components = checked_page(draft.components)?;
        self.publish(components, by, None).await
    }

    /// Publishes an earlier version's components again as the next version, and makes them
    /// the draft too (so the editor shows what is live).
    pub async fn restore_home(&self, number: u32, by: &str) -> Result<HomeVersion, ContentError> {
        let earlier = self.home_version(number).await?;
        let published = self
            .publish(earlier.components.clone(), by, Some(number))
            .await?;
        for _ in 0..10 {
            let draft = self.home_draft().await?;
            match self
                .save_draft(earlier.components.clone(), draft.version, by)
                .await
            {
                Ok(_) => return Ok(published),
                Err(ContentError::Conflict(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(ContentError::Conflict(
            "the draft kept changing; the version is published, the draft not replaced".into(),
        ))
    }

    async fn publish(
        &self,
        components: Vec<Component>,
        by: &str,
        restored_from: Option<u32>,
    ) -> Result<HomeVersion, ContentError> {
        let latest = async || Ok(self.published_home().await?.map_or(0, |v| v.number));
        let make = |number| HomeVersion {
            id: HomeVersion::id_for(HOME, number),
            page: HOME.to_owned(),
            number,
            components: components.clone(),
            published_at: self.now(),
            published_by: by.to_owned(),
            restored_from,
        };
        let version = insert_next(&self.versions, latest, make).await?;
        self.changed().await?;
        tracing::info!(
            number = version.number,
            by,
            ?restored_from,
            "home page published"
        );
        Ok(version)
    }

    pub async fn home_version(&self, number: u32) -> Result<HomeVersion, ContentError> {
        self.versions
            .get(&HomeVersion::id_for(HOME, number))
            .await?
            .ok_or_else(|| ContentError::NotFound(format!("home page version {number}")))
    }

    /// The published versions, newest first (the last 100).
    pub async fn home_versions(&self) -> Result<Vec<HomeVersionSummary>, ContentError> {
        Ok(self
            .versions
            .find(
                &FindQuery::new(Filter::eq("page", HOME))
                    .sort("number", SortOrder::Desc)
                    .limit(100),
            )
            .await?
            .iter()
            .map(HomeVersionSummary::from)
            .collect())
    }
}

impl ContentService {
    /// The customer service content (empty before anyone wrote it, version 0).
    pub async fn service_desk(&self) -> Result<ServiceDesk, ContentError> {
        Ok(match self.desks.get(ServiceDesk::ID).await? {
            Some(desk) => desk,
            None => ServiceDesk {
                id: ServiceDesk::ID.to_owned(),
                version: 0,
                faqs: Vec::new(),
                contacts: Vec::new(),
                working_hours: String::new(),
                updated_at: self.now(),
                updated_by: None,
            },
        })
    }

    /// Replaces the customer service content if nobody saved it since `expected_version`.
    pub async fn save_service_desk(
        &self,
        draft: ServiceDeskDraft,
        expected_version: i64,
        by: &str,
    ) -> Result<(ServiceDesk, ServiceDesk), ContentError> {
        let draft = draft.checked()?;
        let before = self.service_desk().await?;
        let stale = || {
            ContentError::Conflict(
                "the service content was saved by someone else meanwhile; reload it".into(),
            )
        };
        if before.version != expected_version {
            return Err(stale());
        }
        let after = ServiceDesk {
            faqs: draft.faqs,
            contacts: draft.contacts,
            working_hours: draft.working_hours,
            updated_at: self.now(),
            updated_by: Some(by.to_owned()),
            ..before.clone()
        };
        let first = |desk| ServiceDesk { version: 1, ..desk };
        match save_single(&self.desks, expected_version, after, first).await? {
            Some(stored) => Ok((before, stored)),
            None => Err(stale()),
        }
    }
}

impl ContentService {
    /// Publishes the next version of an agreement.
    pub async fn publish_agreement(
        &self,
        kind: AgreementKind,
        draft: AgreementDraft,
        by: &str,
    ) -> Result<AgreementVersion, ContentError> {
        let draft = draft.checked()?;
        let latest = async || Ok(self.current_agreement(kind).await?.map_or(0, |v| v.number));
        let make = |number| AgreementVersion {
            id: AgreementVersion::id_for(kind, number),
            kind,
            number,
            title: draft.title.clone(),
            body_html: draft.body_html.clone(),
            summary: draft.summary.clone(),
            published_at: self.now(),
            published_by: by.to_owned(),
        };
        let version = insert_next(&self.agreements, latest, make).await?;
        if kind == AgreementKind::RechargeTerms {
            *self
                .recharge_terms
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        }
        Ok(version)
    }

    /// The current (highest) version of an agreement; none before the first.
    pub async fn current_agreement(
        &self,
        kind: AgreementKind,
    ) -> Result<Option<AgreementVersion>, ContentError> {
        Ok(self
            .agreements
            .find(
                &FindQuery::new(Filter::eq("kind", kind.as_str()))
                    .sort("number", SortOrder::Desc)
                    .limit(1),
            )
            .await?
            .into_iter()
            .next())
    }

    /// Every version of an agreement, newest first (the last 100).
    pub async fn agreement_versions(
        &self,
        kind: AgreementKind,
    ) -> Result<Vec<AgreementVersion>, ContentError> {
        Ok(self
            .agreements
            .find(
                &FindQuery::new(Filter::eq("kind", kind.as_str()))
                    .sort("number", SortOrder::Desc)
                    .limit(100),
            )
            .await?)
    }

    /// Records that a user accepted version `number`, which must be the current one (a user
    /// shown an older text has not agreed to the newer).
    pub async fn accept_agreement(
        &self,
        user_id: &str,
        kind: AgreementKind,
        number: u32,
    ) -> Result<Acceptance, ContentError> {
        let current = self
            .current_agreement(kind)
            .await?
            .ok_or_else(|| ContentError::NotFound(format!("agreement {}", kind.as_str())))?;
        if current.number != number {
            return Err(ContentError::NotCurrent {
                accepted: number,
                current: current.number,
            });
        }
        let acceptance = Acceptance {
            id: Acceptance::id_for(user_id, kind, number),
            user_id: user_id.to_owned(),
            kind,
            number,
            accepted_at: self.now(),
        };
        match self.acceptances.insert(&acceptance).await {
            Ok(()) => Ok(acceptance),
            Err(e) if e.is_duplicate() => Ok(self
                .acceptances
                .get(&acceptance.id)
                .await?
                .unwrap_or(acceptance)),
            Err(e) => Err(e.into()),
        }
    }

    /// When the user accepted this version, if they did.
    pub async fn accepted_at(
        &self,
        user_id: &str,
        kind: AgreementKind,
        number: u32,
    ) -> Result<Option<Timestamp>, ContentError> {
        Ok(self
            .acceptances
            .get(&Acceptance::id_for(user_id, kind, number))
            .await?
            .map(|a| a.accepted_at))
    }

    /// The current recharge terms' number and title when the user has not accepted them
    /// (what checkout asks; the terms themselves remembered for [`TERMS_FRESH_FOR`]).
    pub async fn recharge_terms_awaiting(
        &self,
        user_id: &str,
    ) -> Result<Option<(u32, String)>, ContentError> {
        let remembered = self
            .recharge_terms
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .filter(|(read_at, _)| read_at.elapsed() < TERMS_FRESH_FOR);
        let current = match remembered {
            Some((_, current)) => current,
            None => {
                let read_at = std::time::Instant::now();
                let current = self
                    .current_agreement(AgreementKind::RechargeTerms)
                    .await?
                    .map(|v| (v.number, v.title));
                *self
                    .recharge_terms
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Some((read_at, current.clone()));
                current
            }
        };
        let Some((number, title)) = current else {
            return Ok(None);
        };
        let accepted = self
            .accepted_at(user_id, AgreementKind::RechargeTerms, number)
            .await?;
        Ok(accepted.is_none().then_some((number, title)))
    }

    /// The current version of an agreement when the user has not accepted it yet.
    pub async fn awaiting_acceptance(
        &self,
        user_id: &str,
        kind: AgreementKind,
    ) -> Result<Option<AgreementVersion>, ContentError> {
        let Some(current) = self.current_agreement(kind).await? else {
            return Ok(None);
        };
        if self
            .accepted_at(user_id, kind, current.number)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        Ok(Some(current))
    }
}

/// Inserts the next of a numbered series (home page versions, agreement versions): the
/// document `make` builds for one past `latest`. Two writers may read the same latest
/// number; the number is in the id, so one insert wins and the other takes the next.
async fn insert_next<T: Document>(
    collection: &Collection<T>,
    latest: impl AsyncFn() -> Result<u32, ContentError>,
    make: impl Fn(u32) -> T,
) -> Result<T, ContentError> {
    for _ in 0..10 {
        let number = latest()
            .await?
            .checked_add(1)
            .ok_or_else(|| ContentError::invalid("number", "too many versions"))?;
        let document = make(number);
        match collection.insert(&document).await {
            Ok(()) => return Ok(document),
            Err(e) if e.is_duplicate() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ContentError::Conflict(
        "others kept publishing; try again".into(),
    ))
}

/// Stores a one-of-a-kind document edited by compare-and-set from `expected_version`: the
/// first save (from 0) inserts it at version 1, later ones replace the stored version. `None`
/// when someone else saved in between.
async fn save_single<T: Document + Clone>(
    collection: &Collection<T>,
    expected_version: i64,
    after: T,
    at_version_one: impl FnOnce(T) -> T,
) -> Result<Option<T>, ContentError> {
    if expected_version == 0 {
        let first = at_version_one(after);
        return match collection.insert(&first).await {
            Ok(()) => Ok(Some(first)),
            Err(e) if e.is_duplicate() => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    match collection.replace(&after).await {
        Ok(stored) => Ok(Some(stored)),
        Err(StoreError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn stale_draft(current: i64) -> ContentError {
    ContentError::Conflict(format!(
        "the draft was saved by someone else meanwhile (now version {current}); reload it"
    ))
}
