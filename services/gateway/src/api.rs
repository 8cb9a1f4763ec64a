//! The `chancery.gateway.v1.EpisodeService` handlers. Each takes the request apart and hands it,
//! with its metadata (for the caller's deadline), to the module of its concern.

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

/// Runs `handler` on the request's message and metadata and wraps its answer.
macro_rules! delegate {
    ($self:ident, $request:ident, $handler:path) => {{
        let (metadata, _, message) = $request.into_parts();
        Ok(Response::new(
            $handler(&$self.gateway, message, &metadata).await?,
        ))
    }};
}

#[tonic::async_trait]
impl EpisodeService for Api {
    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_episode(
        &self,
        request: Request<GetEpisodeRequest>,
    ) -> Result<Response<Episode>, Status> {
        delegate!(self, request, episodes::get)
    }

    #[tracing::instrument(skip_all)]
    async fn list_episodes(
        &self,
        request: Request<ListEpisodesRequest>,
    ) -> Result<Response<ListEpisodesResponse>, Status> {
        delegate!(self, request, episodes::list)
    }

    #[tracing::instrument(skip_all, fields(episode_id = %request.get_ref().episode_id))]
    async fn create_episode(
        &self,
        request: Request<CreateEpisodeRequest>,
    ) -> Result<Response<Episode>, Status> {
        delegate!(self, request, episodes::create)
    }

    #[tracing::instrument(skip_all)]
    async fn update_episode(
        &self,
        request: Request<UpdateEpisodeRequest>,
    ) -> Result<Response<Episode>, Status> {
        delegate!(self, request, episodes::update)
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn delete_episode(
        &self,
        request: Request<DeleteEpisodeRequest>,
    ) -> Result<Response<()>, Status> {
        delegate!(self, request, episodes::delete)
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn add_episode_members(
        &self,
        request: Request<AddEpisodeMembersRequest>,
    ) -> Result<Response<Episode>, Status> {
        delegate!(self, request, episodes::add_members)
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn remove_episode_members(
        &self,
        request: Request<RemoveEpisodeMembersRequest>,
    ) -> Result<Response<Episode>, Status> {
        delegate!(self, request, episodes::remove_members)
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_episode_view(
        &self,
        request: Request<GetEpisodeViewRequest>,
    ) -> Result<Response<EpisodeView>, Status> {
        delegate!(self, request, view::get_view)
    }

    #[tracing::instrument(skip_all)]
    async fn import_bundle(
        &self,
        request: Request<ImportBundleRequest>,
    ) -> Result<Response<ImportBundleResponse>, Status> {
        delegate!(self, request, bundle::import)
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn export_bundle(
        &self,
        request: Request<ExportBundleRequest>,
    ) -> Result<Response<Bundle>, Status> {
        delegate!(self, request, bundle::export)
    }
}
