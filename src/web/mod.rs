//! HTTP: the table screen (for the kiosk browser) and its JSON API.

mod assets;
mod error;
mod secretary_api;
pub mod serve;
mod table_api;

pub use secretary_api::secretary_router;
pub use table_api::table_router;
