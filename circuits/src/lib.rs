//! placeholder
pub mod pasta;
