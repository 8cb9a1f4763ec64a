//! The `chancery.communications.v1.CommunicationService` implementation: the [`Api`] the
//! server hosts, and the tonic trait, each of whose methods hands its request to the handler of
//! the same name in the `communications` family module (decode → validate → check references →
//! store → encode).

use chancery_proto::communications::v1::communication_service_server::CommunicationService;
use chancery_proto::communications::v1::{
    AppendStatusRequest, BatchGetCommunicationsRequest, BatchGetCommunicationsResponse,
    Communication, CreateCommunicationRequest, DeleteCommunicationRequest, GetCommunicationRequest,
    ListCommunicationsRequest, ListCommunicationsResponse, UpdateCommunicationRequest,
};
use tonic::{Request, Response, Status};

use crate::{Api, communications};

#[tonic::async_trait]
impl CommunicationService for Api {
    async fn get_communication(
        &self,
        request: Request<GetCommunicationRequest>,
    ) -> Result<Response<Communication>, Status> {
        communications::get_communication(self, request).await
    }

    async fn batch_get_communications(
        &self,
        request: Request<BatchGetCommunicationsRequest>,
    ) -> Result<Response<BatchGetCommunicationsResponse>, Status> {
        communications::batch_get_communications(self, request).await
    }

    async fn list_communications(
        &self,
        request: Request<ListCommunicationsRequest>,
    ) -> Result<Response<ListCommunicationsResponse>, Status> {
        communications::list_communications(self, request).await
    }

    async fn create_communication(
        &self,
        request: Request<CreateCommunicationRequest>,
    ) -> Result<Response<Communication>, Status> {
        communications::create_communication(self, request).await
    }

    async fn update_communication(
        &self,
        request: Request<UpdateCommunicationRequest>,
    ) -> Result<Response<Communication>, Status> {
        communications::update_communication(self, request).await
    }

    async fn delete_communication(
        &self,
        request: Request<DeleteCommunicationRequest>,
    ) -> Result<Response<()>, Status> {
        communications::delete_communication(self, request).await
    }

    async fn append_status(
        &self,
        request: Request<AppendStatusRequest>,
    ) -> Result<Response<Communication>, Status> {
        communications::append_status(self, request).await
    }
}
