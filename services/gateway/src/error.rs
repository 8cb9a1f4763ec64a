//! The gateway's errors: the suite-wide [`Error`] of `chancery_runtime::errors`, whose single
//! `From<Error> for Status` maps every failure to its canonical code.

pub use chancery_runtime::errors::{Error, Result};
