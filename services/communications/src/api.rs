//! The `chancery.communications.v1.CommunicationService` handlers: decode → validate → check references → store →
//! encode.

use chancery_proto::communications::v1::communication_service_server::CommunicationService;
use chancery_proto::communications::v1::{
    AppendStatusRequest, BatchGetCommunicationsRequest, BatchGetCommunicationsResponse,
    Communication, CreateCommunicationRequest, DeleteCommunicationRequest, GetCommunicationRequest,
    ListCommunicationsRequest, ListCommunicationsResponse, UpdateCommunicationRequest,
};
use chancery_runtime::db::Database;
use tonic::{Request, Response, Status};

use crate::Backends;

/// The communications service.
#[derive(Debug, Clone)]
pub struct Api {
    #[allow(dead_code)]
    database: Database,
    #[allow(dead_code)]
    backends: Backends,
}

impl Api {
    /// The service on `database`, checking references through `backends`.
    pub fn new(database: Database, backends: Backends) -> Self {
        Self { database, backends }
    }
}

#[tonic::async_trait]
impl CommunicationService for Api {
    async fn get_communication(
        &self,
        _request: Request<GetCommunicationRequest>,
    ) -> Result<Response<Communication>, Status> {
        Err(Status::unimplemented(
            "GetCommunication is not implemented yet",
        ))
    }
    async fn batch_get_communications(
        &self,
        _request: Request<BatchGetCommunicationsRequest>,
    ) -> Result<Response<BatchGetCommunicationsResponse>, Status> {
        Err(Status::unimplemented(
            "BatchGetCommunications is not implemented yet",
        ))
    }
    async fn list_communications(
        &self,
        _request: Request<ListCommunicationsRequest>,
    ) -> Result<Response<ListCommunicationsResponse>, Status> {
        Err(Status::unimplemented(
            "ListCommunications is not implemented yet",
        ))
    }
    async fn create_communication(
        &self,
        _request: Request<CreateCommunicationRequest>,
    ) -> Result<Response<Communication>, Status> {
        Err(Status::unimplemented(
            "CreateCommunication is not implemented yet",
        ))
    }
    async fn update_communication(
        &self,
        _request: Request<UpdateCommunicationRequest>,
    ) -> Result<Response<Communication>, Status> {
        Err(Status::unimplemented(
            "UpdateCommunication is not implemented yet",
        ))
    }
    async fn delete_communication(
        &self,
        _request: Request<DeleteCommunicationRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented(
            "DeleteCommunication is not implemented yet",
        ))
    }
    async fn append_status(
        &self,
        _request: Request<AppendStatusRequest>,
    ) -> Result<Response<Communication>, Status> {
        Err(Status::unimplemented("AppendStatus is not implemented yet"))
    }
}
