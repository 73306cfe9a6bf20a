use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::CoreError;

/// `?page=1&page_size=20`; pages count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageRequest {
    /// Page number, from 1.
    #[serde(default = "PageRequest::default_page")]
    #[param(minimum = 1, default = 1)]
    pub page: u32,
    /// Items per page, 1 to 100.
    #[serde(default = "PageRequest::default_page_size")]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: u32,
}

impl PageRequest {
    pub const MAX_PAGE_SIZE: u32 = 100;

    fn default_page() -> u32 {
        1
    }

    fn default_page_size() -> u32 {
        20
    }

    pub fn new(page: u32, page_size: u32) -> Result<Self, CoreError> {
        PageRequest { page, page_size }.validated()
    }

    pub fn validated(self) -> Result<Self, CoreError> {
        if self.page == 0 || self.page_size == 0 || self.page_size > Self::MAX_PAGE_SIZE {
            return Err(CoreError::InvalidPage {
                max: Self::MAX_PAGE_SIZE,
            });
        }
        Ok(self)
    }

    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.page_size)
    }

    pub fn limit(&self) -> u64 {
        u64::from(self.page_size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 1,
            page_size: 20,
        }
    }
}

/// One page of a list: `{"items": [...], "total": n, "total_capped": false, "page": 1,
/// "page_size": 20}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many match: exact unless `total_capped`, when at least this many do.
    pub total: u64,
    /// Counting stopped at `total` ([`Page::COUNT_CAP`], or the end of the page asked for if
    /// that is further): more match. Counting every match of a broad filter over a large
    /// collection would cost more than the page itself (docs/architecture.md#paging).
    pub total_capped: bool,
    pub page: u32,
    pub page_size: u32,
}

impl<T> Page<T> {
    /// Counting matches stops past this many.
    pub const COUNT_CAP: u64 = 10_000;

    pub fn new(items: Vec<T>, total: u64, request: PageRequest) -> Self {
        Page {
            items,
            total,
            total_capped: false,
            page: request.page,
            page_size: request.page_size,
        }
    }

    /// How many matches to count at most for `request`: one past the cap, or past the end
    /// of the requested page when that is further, so a page's own rows are always counted.
    pub fn count_limit(request: PageRequest) -> u64 {
        Self::count_limit_within(request, Self::COUNT_CAP)
    }

    /// [`Page::count_limit`] with another cap. A cap of 0 counts one past the requested page
    /// only: enough to tell whether another page follows, at the same cost however many match.
    pub fn count_limit_within(request: PageRequest, cap: u64) -> u64 {
        cap.max(request.offset().saturating_add(request.limit()))
            .saturating_add(1)
    }

    /// A page whose total was counted with [`Page::count_limit`]: reaching that limit means
    /// more match than are reported.
    pub fn counted(items: Vec<T>, counted: u64, request: PageRequest) -> Self {
        Self::counted_within(items, counted, request, Self::COUNT_CAP)
    }

    /// A page whose total was counted with [`Page::count_limit_within`] and the same cap.
    pub fn counted_within(items: Vec<T>, counted: u64, request: PageRequest, cap: u64) -> Self {
        let limit = Self::count_limit_within(request, cap);
        let capped = counted >= limit;
        Page {
            items,
            total: if capped { limit - 1 } else { counted },
            total_capped: capped,
            page: request.page,
            page_size: request.page_size,
        }
    }

    pub fn map<U>(mut self, f: impl FnMut(T) -> U) -> Page<U> {
        let items = std::mem::take(&mut self.items).into_iter().map(f).collect();
        self.with_items(items)
    }

    /// The same page and counts with other items (each page item turned into its view).
    pub fn with_items<U>(self, items: Vec<U>) -> Page<U> {
        Page {
            items,
            total: self.total,
            total_capped: self.total_capped,
            page: self.page,
            page_size: self.page_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_bounds_and_computes_offsets() {
        assert!(PageRequest::new(0, 20).is_err());
        assert!(PageRequest::new(1, 0).is_err());
        assert!(PageRequest::new(1, 101).is_err());
        let p = PageRequest::new(3, 20).unwrap();
        assert_eq!(p.offset(), 40);
        let parsed: PageRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, PageRequest::default());
    }

    #[test]
    fn a_total_past_the_cap_is_reported_as_the_cap_and_capped() {
        let first = PageRequest::default();
        let exact = Page::counted(vec![1], 42, first);
        assert_eq!((exact.total, exact.total_capped), (42, false));
        let at_cap = Page::counted(vec![1], Page::<u8>::COUNT_CAP, first);
        assert_eq!((at_cap.total, at_cap.total_capped), (10_000, false));
        let past = Page::counted(vec![1], Page::<u8>::count_limit(first), first);
        assert_eq!((past.total, past.total_capped), (10_000, true));
        // A page beyond the cap counts its own rows, and one more to know there are others.
        let deep = PageRequest::new(600, 20).unwrap();
        assert_eq!(Page::<u8>::count_limit(deep), 12_001);
        let deep_page = Page::counted(vec![1], 12_001, deep);
        assert_eq!((deep_page.total, deep_page.total_capped), (12_000, true));
        assert!(!Page::counted(vec![1], 11_990, deep).total_capped);
    }

    #[test]
    fn counting_to_the_page_end_says_whether_another_page_follows() {
        let second = PageRequest::new(2, 10).unwrap();
        assert_eq!(Page::<u8>::count_limit_within(second, 0), 21);
        // More than the two pages: the total is where the page ends, and capped.
        let more = Page::counted_within(vec![1], 21, second, 0);
        assert_eq!((more.total, more.total_capped), (20, true));
        // The last page: the exact total.
        let last = Page::counted_within(vec![1], 17, second, 0);
        assert_eq!((last.total, last.total_capped), (17, false));
        let exactly_two_pages = Page::counted_within(vec![1], 20, second, 0);
        assert_eq!(
            (exactly_two_pages.total, exactly_two_pages.total_capped),
            (20, false)
        );
    }
}
