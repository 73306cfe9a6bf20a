pub mod reloadly;
