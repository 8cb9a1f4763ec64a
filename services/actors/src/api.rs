//! The `chancery.actors.v1.ActorService` implementation: [`Api`] holds the store, and each RPC
//! of the tonic trait is one call to its handler in the RPC's family module — `actors`
//! (actors), `posts` (posts, that is offices) or `tenures` (tenures and office resolution).
//! Each handler validates the whole request before touching the store, so a rejected request
//! writes nothing, and reports every problem at once.

use chancery_proto::actors::v1::actor_service_server::ActorService;
use chancery_proto::actors::v1::{
    Actor, BatchGetActorsRequest, BatchGetActorsResponse, CreateActorRequest, CreatePostRequest,
    CreateTenureRequest, DeleteActorRequest, DeletePostRequest, DeleteTenureRequest,
    GetActorRequest, GetPostRequest, GetTenureRequest, ListActorsRequest, ListActorsResponse,
    ListPostsRequest, ListPostsResponse, ListTenuresRequest, ListTenuresResponse, Post,
    ResolveOfficesRequest, ResolveOfficesResponse, Tenure, UpdateActorRequest, UpdatePostRequest,
    UpdateTenureRequest,
};
use tonic::{Request, Response, Status};

use crate::{Api, actors, posts, tenures};

#[tonic::async_trait]
impl ActorService for Api {
    async fn get_actor(
        &self,
        request: Request<GetActorRequest>,
    ) -> Result<Response<Actor>, Status> {
        actors::get_actor(self, request).await
    }

    async fn batch_get_actors(
        &self,
        request: Request<BatchGetActorsRequest>,
    ) -> Result<Response<BatchGetActorsResponse>, Status> {
        actors::batch_get_actors(self, request).await
    }

    async fn list_actors(
        &self,
        request: Request<ListActorsRequest>,
    ) -> Result<Response<ListActorsResponse>, Status> {
        actors::list_actors(self, request).await
    }

    async fn create_actor(
        &self,
        request: Request<CreateActorRequest>,
    ) -> Result<Response<Actor>, Status> {
        actors::create_actor(self, request).await
    }

    async fn update_actor(
        &self,
        request: Request<UpdateActorRequest>,
    ) -> Result<Response<Actor>, Status> {
        actors::update_actor(self, request).await
    }

    async fn delete_actor(
        &self,
        request: Request<DeleteActorRequest>,
    ) -> Result<Response<()>, Status> {
        actors::delete_actor(self, request).await
    }

    async fn create_post(
        &self,
        request: Request<CreatePostRequest>,
    ) -> Result<Response<Post>, Status> {
        posts::create_post(self, request).await
    }

    async fn get_post(&self, request: Request<GetPostRequest>) -> Result<Response<Post>, Status> {
        posts::get_post(self, request).await
    }

    async fn list_posts(
        &self,
        request: Request<ListPostsRequest>,
    ) -> Result<Response<ListPostsResponse>, Status> {
        posts::list_posts(self, request).await
    }

    async fn update_post(
        &self,
        request: Request<UpdatePostRequest>,
    ) -> Result<Response<Post>, Status> {
        posts::update_post(self, request).await
    }

    async fn delete_post(
        &self,
        request: Request<DeletePostRequest>,
    ) -> Result<Response<()>, Status> {
        posts::delete_post(self, request).await
    }

    async fn create_tenure(
        &self,
        request: Request<CreateTenureRequest>,
    ) -> Result<Response<Tenure>, Status> {
        tenures::create_tenure(self, request).await
    }

    async fn get_tenure(
        &self,
        request: Request<GetTenureRequest>,
    ) -> Result<Response<Tenure>, Status> {
        tenures::get_tenure(self, request).await
    }

    async fn list_tenures(
        &self,
        request: Request<ListTenuresRequest>,
    ) -> Result<Response<ListTenuresResponse>, Status> {
        tenures::list_tenures(self, request).await
    }

    async fn update_tenure(
        &self,
        request: Request<UpdateTenureRequest>,
    ) -> Result<Response<Tenure>, Status> {
        tenures::update_tenure(self, request).await
    }

    async fn delete_tenure(
        &self,
        request: Request<DeleteTenureRequest>,
    ) -> Result<Response<()>, Status> {
        tenures::delete_tenure(self, request).await
    }

    async fn resolve_offices(
        &self,
        request: Request<ResolveOfficesRequest>,
    ) -> Result<Response<ResolveOfficesResponse>, Status> {
        tenures::resolve_offices(self, request).await
    }
}
