//! Faithful local stand-ins for the services Topup talks to. They speak each protocol as the
//! real service does (paths, shapes, error codes, cryptography), so the production client code
//! is what tests and the embedded default exercise. Nothing here is shared with those clients.

mod journal;
pub mod reloadly;
pub mod subscribe_rules;
pub mod wechat_mp;
pub mod wechat_pay;
