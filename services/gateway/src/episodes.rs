//! Episodes: create, read, update, delete, list, and membership. Members are checked in their
//! owning services with one batch call per service.

use chancery_proto::gateway::v1::{
    AddEpisodeMembersRequest, CreateEpisodeRequest, DeleteEpisodeRequest, Episode,
    GetEpisodeRequest, ListEpisodesRequest, ListEpisodesResponse, RemoveEpisodeMembersRequest,
    UpdateEpisodeRequest,
};
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::Gateway;

/// `GetEpisode`.
pub async fn get(
    _gateway: &Gateway,
    _request: GetEpisodeRequest,
    _metadata: &MetadataMap,
) -> Result<Episode, Status> {
    Err(Status::unimplemented("GetEpisode is not implemented yet"))
}

/// `ListEpisodes`.
pub async fn list(
    _gateway: &Gateway,
    _request: ListEpisodesRequest,
    _metadata: &MetadataMap,
) -> Result<ListEpisodesResponse, Status> {
    Err(Status::unimplemented("ListEpisodes is not implemented yet"))
}

/// `CreateEpisode`.
pub async fn create(
    _gateway: &Gateway,
    _request: CreateEpisodeRequest,
    _metadata: &MetadataMap,
) -> Result<Episode, Status> {
    Err(Status::unimplemented(
        "CreateEpisode is not implemented yet",
    ))
}

/// `UpdateEpisode`.
pub async fn update(
    _gateway: &Gateway,
    _request: UpdateEpisodeRequest,
    _metadata: &MetadataMap,
) -> Result<Episode, Status> {
    Err(Status::unimplemented(
        "UpdateEpisode is not implemented yet",
    ))
}

/// `DeleteEpisode`.
pub async fn delete(
    _gateway: &Gateway,
    _request: DeleteEpisodeRequest,
    _metadata: &MetadataMap,
) -> Result<(), Status> {
    Err(Status::unimplemented(
        "DeleteEpisode is not implemented yet",
    ))
}

/// `AddEpisodeMembers`.
pub async fn add_members(
    _gateway: &Gateway,
    _request: AddEpisodeMembersRequest,
    _metadata: &MetadataMap,
) -> Result<Episode, Status> {
    Err(Status::unimplemented(
        "AddEpisodeMembers is not implemented yet",
    ))
}

/// `RemoveEpisodeMembers`.
pub async fn remove_members(
    _gateway: &Gateway,
    _request: RemoveEpisodeMembersRequest,
    _metadata: &MetadataMap,
) -> Result<Episode, Status> {
    Err(Status::unimplemented(
        "RemoveEpisodeMembers is not implemented yet",
    ))
}
