use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique index (or the id) already holds this value.
    #[error("duplicate key in {collection} (index {index})")]
    Duplicate { collection: String, index: String },
    /// Compare-and-set lost: the document changed since it was read.
    #[error("{collection}/{id} was changed concurrently")]
    Conflict { collection: String, id: String },
    #[error("{collection}/{id} not found")]
    NotFound { collection: String, id: String },
    /// A field path or collection name that is not a plain identifier path.
    #[error("invalid name {0:?}")]
    InvalidName(String),
    /// A document that does not serialize to an object with a string `id`.
    #[error("invalid document: {0}")]
    InvalidDocument(String),
    #[error("document could not be decoded from {collection}: {reason}")]
    Decode { collection: String, reason: String },
    /// The backend is not reachable (connection refused, pool closed).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else the backend reported.
    #[error("store backend error: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn is_duplicate(&self) -> bool {
        matches!(self, StoreError::Duplicate { .. })
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}
