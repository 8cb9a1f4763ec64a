//! `GetEpisodeView`: the composed, sourced view of an episode.

use chancery_proto::gateway::v1::{EpisodeView, GetEpisodeViewRequest};
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::Gateway;

/// `GetEpisodeView`.
pub async fn get_view(
    _gateway: &Gateway,
    _request: GetEpisodeViewRequest,
    _metadata: &MetadataMap,
) -> Result<EpisodeView, Status> {
    Err(Status::unimplemented(
        "GetEpisodeView is not implemented yet",
    ))
}
