//! `ImportBundle` and `ExportBundle`: a whole episode written to, or read from, the services.

use chancery_proto::gateway::v1::{
    Bundle, ExportBundleRequest, ImportBundleRequest, ImportBundleResponse,
};
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::Gateway;

/// `ImportBundle`.
pub async fn import(
    _gateway: &Gateway,
    _request: ImportBundleRequest,
    _metadata: &MetadataMap,
) -> Result<ImportBundleResponse, Status> {
    Err(Status::unimplemented("ImportBundle is not implemented yet"))
}

/// `ExportBundle`.
pub async fn export(
    _gateway: &Gateway,
    _request: ExportBundleRequest,
    _metadata: &MetadataMap,
) -> Result<Bundle, Status> {
    Err(Status::unimplemented("ExportBundle is not implemented yet"))
}
