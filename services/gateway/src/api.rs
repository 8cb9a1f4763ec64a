//! The `chancery.gateway.v1.EpisodeService` service. Each RPC is one delegation to the handler
//! of the same name in the module of its family: [`episodes`] (`CreateEpisode`, `GetEpisode`,
//! `ListEpisodes`, `UpdateEpisode`, `DeleteEpisode`, `AddEpisodeMembers`,
//! `RemoveEpisodeMembers`), [`view`] (`GetEpisodeView`) and [`bundle`] (`ImportBundle`,
//! `ExportBundle`).

use chancery_proto::gateway::v1::episode_service_server::EpisodeService;
use chancery_proto::gateway::v1::{
    AddEpisodeMembersRequest, Bundle, CreateEpisodeRequest, DeleteEpisodeRequest, Episode,
    EpisodeView, ExportBundleRequest, GetEpisodeRequest, GetEpisodeViewRequest,
    ImportBundleRequest, ImportBundleResponse, ListEpisodesRequest, ListEpisodesResponse,
    RemoveEpisodeMembersRequest, UpdateEpisodeRequest,
};
use tonic::{Request, Response, Status};

use crate::{Gateway, bundle, episodes, view};

/// The gateway service.
#[derive(Debug, Clone)]
pub struct Api {
    gateway: Gateway,
}

impl Api {
    /// The service on `gateway`.
    pub fn new(gateway: Gateway) -> Self {
        Self { gateway }
    }
}

#[tonic::async_trait]
impl EpisodeService for Api {
    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_episode(
        &self,
        request: Request<GetEpisodeRequest>,
    ) -> Result<Response<Episode>, Status> {
        episodes::get_episode(&self.gateway, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_episodes(
        &self,
        request: Request<ListEpisodesRequest>,
    ) -> Result<Response<ListEpisodesResponse>, Status> {
        episodes::list_episodes(&self.gateway, request).await
    }

    #[tracing::instrument(skip_all, fields(episode_id = %request.get_ref().episode_id))]
    async fn create_episode(
        &self,
        request: Request<CreateEpisodeRequest>,
    ) -> Result<Response<Episode>, Status> {
        episodes::create_episode(&self.gateway, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn update_episode(
        &self,
        request: Request<UpdateEpisodeRequest>,
    ) -> Result<Response<Episode>, Status> {
        episodes::update_episode(&self.gateway, request).await
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn delete_episode(
        &self,
        request: Request<DeleteEpisodeRequest>,
    ) -> Result<Response<()>, Status> {
        episodes::delete_episode(&self.gateway, request).await
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn add_episode_members(
        &self,
        request: Request<AddEpisodeMembersRequest>,
    ) -> Result<Response<Episode>, Status> {
        episodes::add_episode_members(&self.gateway, request).await
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn remove_episode_members(
        &self,
        request: Request<RemoveEpisodeMembersRequest>,
    ) -> Result<Response<Episode>, Status> {
        episodes::remove_episode_members(&self.gateway, request).await
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_episode_view(
        &self,
        request: Request<GetEpisodeViewRequest>,
    ) -> Result<Response<EpisodeView>, Status> {
        view::get_episode_view(&self.gateway, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn import_bundle(
        &self,
        request: Request<ImportBundleRequest>,
    ) -> Result<Response<ImportBundleResponse>, Status> {
        bundle::import_bundle(&self.gateway, request).await
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn export_bundle(
        &self,
        request: Request<ExportBundleRequest>,
    ) -> Result<Response<Bundle>, Status> {
        bundle::export_bundle(&self.gateway, request).await
    }
}
