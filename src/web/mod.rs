//! HTTP: the table screen (for the kiosk browser) and its JSON API.

mod assets;
mod error;
mod table_api;

pub use table_api::table_router;
