//! The `chancery.statements.v1.StatementService` service: the [`Api`] (its store, the channels
//! to the actors and communications services and their circuit breakers) and the tonic trait
//! implementation, each method one delegation to its handler in `statements`
//! (Statement RPCs) or `source_documents` (SourceDocument RPCs).
//!
//! Every handler validates the whole request before anything else, so a rejected request writes
//! nothing and reports every problem at once. A write then checks the actors it names with one
//! `BatchGetActors` call and its communications with one `BatchGetCommunications` call, both at
//! once and before the write's transaction opens (no transaction ever waits on the network); the
//! store checks the references it holds itself inside the transaction.

use chancery_proto::statements::v1::statement_service_server::StatementService;
use chancery_proto::statements::v1::{
    BatchGetSourceDocumentsRequest, BatchGetSourceDocumentsResponse, BatchGetStatementsRequest,
    BatchGetStatementsResponse, CreateSourceDocumentRequest, CreateStatementRequest,
    DeleteSourceDocumentRequest, DeleteStatementRequest, GetSourceDocumentRequest,
    GetStatementRequest, ListSourceDocumentsRequest, ListSourceDocumentsResponse,
    ListStatementsRequest, ListStatementsResponse, SourceDocument, Statement,
    UpdateSourceDocumentRequest, UpdateStatementRequest,
};
use tonic::{Request, Response, Status};

use crate::{Api, source_documents, statements};

#[tonic::async_trait]
impl StatementService for Api {
    async fn get_statement(
        &self,
        request: Request<GetStatementRequest>,
    ) -> Result<Response<Statement>, Status> {
        statements::get_statement(self, request).await
    }

    async fn batch_get_statements(
        &self,
        request: Request<BatchGetStatementsRequest>,
    ) -> Result<Response<BatchGetStatementsResponse>, Status> {
        statements::batch_get_statements(self, request).await
    }

    async fn list_statements(
        &self,
        request: Request<ListStatementsRequest>,
    ) -> Result<Response<ListStatementsResponse>, Status> {
        statements::list_statements(self, request).await
    }

    async fn create_statement(
        &self,
        request: Request<CreateStatementRequest>,
    ) -> Result<Response<Statement>, Status> {
        statements::create_statement(self, request).await
    }

    async fn update_statement(
        &self,
        request: Request<UpdateStatementRequest>,
    ) -> Result<Response<Statement>, Status> {
        statements::update_statement(self, request).await
    }

    async fn delete_statement(
        &self,
        request: Request<DeleteStatementRequest>,
    ) -> Result<Response<()>, Status> {
        statements::delete_statement(self, request).await
    }

    async fn create_source_document(
        &self,
        request: Request<CreateSourceDocumentRequest>,
    ) -> Result<Response<SourceDocument>, Status> {
        source_documents::create_source_document(self, request).await
    }

    async fn get_source_document(
        &self,
        request: Request<GetSourceDocumentRequest>,
    ) -> Result<Response<SourceDocument>, Status> {
        source_documents::get_source_document(self, request).await
    }

    async fn list_source_documents(
        &self,
        request: Request<ListSourceDocumentsRequest>,
    ) -> Result<Response<ListSourceDocumentsResponse>, Status> {
        source_documents::list_source_documents(self, request).await
    }

    async fn batch_get_source_documents(
        &self,
        request: Request<BatchGetSourceDocumentsRequest>,
    ) -> Result<Response<BatchGetSourceDocumentsResponse>, Status> {
        source_documents::batch_get_source_documents(self, request).await
    }

    async fn update_source_document(
        &self,
        request: Request<UpdateSourceDocumentRequest>,
    ) -> Result<Response<SourceDocument>, Status> {
        source_documents::update_source_document(self, request).await
    }

    async fn delete_source_document(
        &self,
        request: Request<DeleteSourceDocumentRequest>,
    ) -> Result<Response<()>, Status> {
        source_documents::delete_source_document(self, request).await
    }
}
