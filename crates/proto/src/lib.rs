//! The Chancery API as Rust types: prost messages, tonic clients and servers for every package
//! under `proto/chancery`, and the encoded descriptor set that servers register for reflection.
//!
//! Modules mirror the protobuf packages: `chancery.actors.v1` is [`actors::v1`].

/// Generated code carries the proto comments as docs; the few items tonic adds without docs are
/// allowed here rather than in hand-written code.
macro_rules! generated_package {
    ($file:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $file));
    };
}

/// `chancery.common.v1`: fuzzy dates, external ids, localized text, source references.
pub mod common {
    /// Version 1.
    #[allow(missing_docs, unreachable_pub, clippy::all)]
    pub mod v1 {
        generated_package!("chancery.common.v1.rs");
    }
}

/// `chancery.actors.v1`: actors, posts and tenures.
pub mod actors {
    /// Version 1.
    #[allow(missing_docs, unreachable_pub, clippy::all)]
    pub mod v1 {
        generated_package!("chancery.actors.v1.rs");
    }
}

/// `chancery.communications.v1`: calls, meetings, visits, letters and their status logs.
pub mod communications {
    /// Version 1.
    #[allow(missing_docs, unreachable_pub, clippy::all)]
    pub mod v1 {
        generated_package!("chancery.communications.v1.rs");
    }
}

/// `chancery.statements.v1`: who said what, attribution chains, source documents.
pub mod statements {
    /// Version 1.
    #[allow(missing_docs, unreachable_pub, clippy::all)]
    pub mod v1 {
        generated_package!("chancery.statements.v1.rs");
    }
}

/// `chancery.gateway.v1`: episodes, the composed episode view, bundles.
pub mod gateway {
    /// Version 1.
    #[allow(missing_docs, unreachable_pub, clippy::all)]
    pub mod v1 {
        generated_package!("chancery.gateway.v1.rs");
    }
}

/// The encoded `FileDescriptorSet` of every Chancery proto file (with its imports, comments and
/// options: the AIP field behaviours and each RPC's declared access) and of `google/rpc`
/// (`Status` and the standard error details), for server reflection: `grpcurl describe` shows
/// the comments from it, and clients resolve the `Any` details of an error status
/// (`type.googleapis.com/google.rpc.ErrorInfo`) through it.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/chancery_descriptor.bin"));

#[cfg(feature = "json")]
pub mod json;
#[cfg(feature = "json")]
pub use json::{bundle_from_json, bundle_to_json};
