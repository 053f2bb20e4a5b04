//! stub
pub mod mode;
pub mod record;
