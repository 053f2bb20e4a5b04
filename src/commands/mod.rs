//! One module per verb.

pub mod burn;
pub mod env;
pub mod external;
pub mod gate;
pub mod plot;
pub mod report;
pub mod run;
