//! Message compression on the wire (gRPC's `grpc-encoding`, per message).
//!
//! Every server accepts requests compressed with gzip or zstd and answers compressed when the
//! client asks (its `grpc-accept-encoding` names gzip or zstd; the first it names that the
//! server has wins): each generated server is wrapped with [`Compressed::compressed`]. A client
//! that asks for nothing gets uncompressed answers, as before.
//!
//! The gateway asks its backends for compressed answers when told to
//! (`CHANCERY_BACKEND_COMPRESSION=gzip|zstd`, default `none`, read into
//! [`crate::config::ServerConfig::backend_compression`]): the view's fan-out moves whole
//! resources, which compress well, while requests (lists of names) stay uncompressed.

use tonic::codec::CompressionEncoding;

/// The encodings every server accepts and answers in, in the server's order of preference.
pub const ENCODINGS: [CompressionEncoding; 2] =
    [CompressionEncoding::Gzip, CompressionEncoding::Zstd];

/// How a service asks the services it calls to compress their answers
/// (`CHANCERY_BACKEND_COMPRESSION`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BackendCompression {
    /// Uncompressed answers (the default: on a fast local network compression costs CPU for
    /// little gain).
    #[default]
    None,
    /// gzip.
    Gzip,
    /// zstd: about as small as gzip, cheaper to compress and decompress.
    Zstd,
}

impl BackendCompression {
    /// Parses `gzip`, `zstd` or `none`.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "none" => Ok(Self::None),
            "gzip" => Ok(Self::Gzip),
            "zstd" => Ok(Self::Zstd),
            other => Err(format!("must be `gzip`, `zstd` or `none` (got {other:?})")),
        }
    }

    /// The encoding to ask for, if any.
    pub fn encoding(self) -> Option<CompressionEncoding> {
        match self {
            Self::None => None,
            Self::Gzip => Some(CompressionEncoding::Gzip),
            Self::Zstd => Some(CompressionEncoding::Zstd),
        }
    }
}

/// A generated gRPC server that can be told which encodings to accept and answer in.
pub trait Compressed: Sized {
    /// The server accepting `encoding` in requests and answering in it when asked.
    fn with_encoding(self, encoding: CompressionEncoding) -> Self;

    /// The server accepting and answering in every one of [`ENCODINGS`].
    fn compressed(self) -> Self {
        ENCODINGS.into_iter().fold(self, Self::with_encoding)
    }
}

/// Implements [`Compressed`] for generated servers, through their own `accept_compressed` and
/// `send_compressed`.
macro_rules! compressed_servers {
    ($($server:ty),+ $(,)?) => {
        $(
            impl<T> Compressed for $server {
                fn with_encoding(self, encoding: CompressionEncoding) -> Self {
                    self.accept_compressed(encoding).send_compressed(encoding)
                }
            }
        )+
    };
}

compressed_servers!(
    chancery_proto::actors::v1::actor_service_server::ActorServiceServer<T>,
    chancery_proto::communications::v1::communication_service_server::CommunicationServiceServer<T>,
    chancery_proto::statements::v1::statement_service_server::StatementServiceServer<T>,
    chancery_proto::gateway::v1::episode_service_server::EpisodeServiceServer<T>,
    tonic_health::pb::health_server::HealthServer<T>,
    tonic_reflection::pb::v1::server_reflection_server::ServerReflectionServer<T>,
    tonic_reflection::pb::v1alpha::server_reflection_server::ServerReflectionServer<T>,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_compression_parses_its_three_values_and_nothing_else() {
        assert_eq!(
            BackendCompression::parse("none"),
            Ok(BackendCompression::None)
        );
        assert_eq!(
            BackendCompression::parse("gzip"),
            Ok(BackendCompression::Gzip)
        );
        assert_eq!(
            BackendCompression::parse("zstd"),
            Ok(BackendCompression::Zstd)
        );
        assert_eq!(BackendCompression::default().encoding(), None);
        assert_eq!(
            BackendCompression::Zstd.encoding(),
            Some(CompressionEncoding::Zstd)
        );
        for bad in ["GZIP", "deflate", "br", ""] {
            let problem = BackendCompression::parse(bad).unwrap_err();
            assert!(problem.contains("`gzip`, `zstd` or `none`"), "{problem}");
        }
    }
}
