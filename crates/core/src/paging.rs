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

/// One page of a list: `{"items": [...], "total": n, "page": 1, "page_size": 20}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: u64, request: PageRequest) -> Self {
        Page {
            items,
            total,
            page: request.page,
            page_size: request.page_size,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
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
}
