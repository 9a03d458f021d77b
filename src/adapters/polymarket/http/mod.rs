//! CLOB REST over HTTP (ureq, keep-alive): public market data (`books`) and trading (`clob`).

pub mod books;
pub mod clob;

pub use books::{BookSnapshot, ClobBookClient, RestError};
