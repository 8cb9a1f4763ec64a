//! The domain rules of Chancery's resources, with no I/O: what a valid actor, post, tenure,
//! communication, statement or source document is (every field, with its path), how update masks
//! apply, and the fields the servers derive (search text, computed status, projections).
//!
//! Each service validates its requests with its module here; the gateway's `ImportBundle`
//! validates every resource of a bundle with the same functions before it writes anything, so
//! a bundle the services would refuse is refused whole.

pub mod actors;
mod checks;
pub mod communications;
/// Episodes, the gateway's resource: their rules and the gateway's episode request validators.
pub mod episodes;
pub mod statements;
