//! One module per verb.

pub mod burn;
pub mod env;
pub mod report;
pub mod run;
