//! One module per verb.

pub mod burn;
pub mod env;
pub mod external;
pub mod run;
