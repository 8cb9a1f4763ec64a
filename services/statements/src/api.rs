//! The `chancery.statements.v1.StatementService` handlers: decode → validate → check references → store →
//! encode.

use chancery_proto::statements::v1::statement_service_server::StatementService;
use chancery_proto::statements::v1::{
    BatchGetSourceDocumentsRequest, BatchGetSourceDocumentsResponse, BatchGetStatementsRequest,
    BatchGetStatementsResponse, CreateSourceDocumentRequest, CreateStatementRequest,
    DeleteStatementRequest, GetSourceDocumentRequest, GetStatementRequest,
    ListSourceDocumentsRequest, ListSourceDocumentsResponse, ListStatementsRequest,
    ListStatementsResponse, SourceDocument, Statement, UpdateStatementRequest,
};
use chancery_runtime::db::Database;
use tonic::{Request, Response, Status};

use crate::Backends;

/// The statements service.
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
impl StatementService for Api {
    async fn get_statement(
        &self,
        _request: Request<GetStatementRequest>,
    ) -> Result<Response<Statement>, Status> {
        Err(Status::unimplemented("GetStatement is not implemented yet"))
    }
    async fn batch_get_statements(
        &self,
        _request: Request<BatchGetStatementsRequest>,
    ) -> Result<Response<BatchGetStatementsResponse>, Status> {
        Err(Status::unimplemented(
            "BatchGetStatements is not implemented yet",
        ))
    }
    async fn list_statements(
        &self,
        _request: Request<ListStatementsRequest>,
    ) -> Result<Response<ListStatementsResponse>, Status> {
        Err(Status::unimplemented(
            "ListStatements is not implemented yet",
        ))
    }
    async fn create_statement(
        &self,
        _request: Request<CreateStatementRequest>,
    ) -> Result<Response<Statement>, Status> {
        Err(Status::unimplemented(
            "CreateStatement is not implemented yet",
        ))
    }
    async fn update_statement(
        &self,
        _request: Request<UpdateStatementRequest>,
    ) -> Result<Response<Statement>, Status> {
        Err(Status::unimplemented(
            "UpdateStatement is not implemented yet",
        ))
    }
    async fn delete_statement(
        &self,
        _request: Request<DeleteStatementRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented(
            "DeleteStatement is not implemented yet",
        ))
    }
    async fn create_source_document(
        &self,
        _request: Request<CreateSourceDocumentRequest>,
    ) -> Result<Response<SourceDocument>, Status> {
        Err(Status::unimplemented(
            "CreateSourceDocument is not implemented yet",
        ))
    }
    async fn get_source_document(
        &self,
        _request: Request<GetSourceDocumentRequest>,
    ) -> Result<Response<SourceDocument>, Status> {
        Err(Status::unimplemented(
            "GetSourceDocument is not implemented yet",
        ))
    }
    async fn list_source_documents(
        &self,
        _request: Request<ListSourceDocumentsRequest>,
    ) -> Result<Response<ListSourceDocumentsResponse>, Status> {
        Err(Status::unimplemented(
            "ListSourceDocuments is not implemented yet",
        ))
    }
    async fn batch_get_source_documents(
        &self,
        _request: Request<BatchGetSourceDocumentsRequest>,
    ) -> Result<Response<BatchGetSourceDocumentsResponse>, Status> {
        Err(Status::unimplemented(
            "BatchGetSourceDocuments is not implemented yet",
        ))
    }
}
