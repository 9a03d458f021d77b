//! CLOB REST over HTTP (ureq, keep-alive): public market data now; orders as they land.

pub mod books;

pub use books::{BookSnapshot, ClobBookClient, RestError};
