//! Storage of statements and source documents on SQLite or PostgreSQL (see
//! `chancery_runtime::db`).
//!
//! Each resource is stored whole, as the encoded message served to clients, beside the columns
//! its filters and ordering need; the actors a statement names (with the part each plays, relayed
//! speakers included), its topics, its documents and its related communications go to side
//! tables kept in step in the same transaction. Every write runs in one transaction that also
//! checks the references held in this database (documents, the statement answered, the
//! statements of the same utterance) and records the request id of a create, so a write is all
//! or nothing and a retried create is answered from the record. References held by other
//! services are checked by the caller before the transaction opens, and their problems passed
//! in, so no transaction waits on the network.

use std::collections::{BTreeSet, HashMap};

use chancery_proto::statements::v1::{SourceDocument, Statement};
use chancery_runtime::backends::Reference;
use chancery_runtime::db::{
    Database, QueryBuilder, decode_body as decode, etag, fetch_bodies, fetch_body,
};
use chancery_runtime::errors::Violations;
use chancery_runtime::idempotency::{RequestKey, record_response, replay, settle_create};
use chancery_runtime::metrics::time_store;
use chancery_runtime::names;
use chancery_runtime::time::{now_micros, timestamp_from_micros};
use prost::Message;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{
    ActorRole, StatementFilter, StatementKey, StatementProjection, StatementReferences,
    ValidDocument, ValidStatement,
};
use chancery_runtime::errors::{Error, Result};

/// A stored statement with its sort key.
#[derive(Debug, Clone)]
pub struct ListedStatement {
    /// Where it sorts.
    pub key: StatementKey,
    /// The statement as served.
    pub statement: Statement,
}

/// The store of the statements service.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

impl Store {
    /// A store on an opened, migrated database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The response recorded for a create with this request id, when the same request was
    /// served before; [`Error::RequestIdReused`] when the id came with another request. Lets a
    /// retry be answered before any reference is checked again.
    pub async fn replayed<M: Message + Default>(
        &self,
        request: Option<&RequestKey>,
    ) -> Result<Option<M>> {
        time_store("replayed", async {
            if request.is_none() {
                return Ok(None);
            }
            let mut connection = self.db.pool.acquire().await?;
            replay(&mut connection, request).await
        })
        .await
    }

    /// One statement by id.
    pub async fn get_statement(&self, id: &str) -> Result<Option<Statement>> {
        time_store("get_statement", async {
            fetch_body(&self.db.pool, "statements", id).await
        })
        .await
    }

    /// One statement by id, with its revision.
    pub async fn get_statement_revision(&self, id: &str) -> Result<Option<(Statement, i64)>> {
        time_store("get_statement_revision", async {
            let row = sqlx::query("SELECT revision, body FROM statements WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
            row.map(|row| Ok((decode(&row)?, row.try_get("revision")?)))
                .transpose()
        })
        .await
    }

    /// Many statements by id, in one query; missing ids are absent from the map.
    pub async fn batch_get_statements(&self, ids: &[&str]) -> Result<HashMap<String, Statement>> {
        time_store("batch_get_statements", async {
            fetch_bodies(&self.db.pool, "statements", ids.iter().copied()).await
        })
        .await
    }

    /// A page of statements ordered by the bounds of `said` and id, after `after`; at most
    /// `limit` of them.
    pub async fn list_statements(
        &self,
        filter: &StatementFilter,
        after: Option<&StatementKey>,
        limit: usize,
    ) -> Result<Vec<ListedStatement>> {
        time_store("list_statements", async {
            let mut query = QueryBuilder::new(
                "SELECT s.id, s.said_earliest, s.said_latest, s.body FROM statements s WHERE 1 = 1",
            );
            filter_by_actors(&mut query, filter);
            filter_by_communication(&mut query, filter);
            filter_by_columns(&mut query, filter);
            page_by_said(&mut query, after, limit);
            let rows = query.build().fetch_all(&self.db.pool).await?;
            rows.iter().map(listed_statement).collect()
        })
        .await
    }

    /// Creates a statement whose own fields are valid. `remote` holds the problems already found
    /// with its references to other services; its documents and the statement it answers are
    /// checked here, and every problem is reported together.
    pub async fn create_statement(
        &self,
        id: &str,
        valid: ValidStatement,
        remote: Violations,
        request: Option<&RequestKey>,
    ) -> Result<Statement> {
        time_store("create_statement", async {
            let outcome = self.try_create_statement(id, valid, remote, request).await;
            settle_create(&self.db.pool, outcome, request, format!("statements/{id}")).await
        })
        .await
    }

    async fn try_create_statement(
        &self,
        id: &str,
        valid: ValidStatement,
        remote: Violations,
        request: Option<&RequestKey>,
    ) -> Result<Statement> {
        let mut tx = self.db.begin_write().await?;
        if let Some(replayed) = replay(&mut tx, request).await? {
            return Ok(replayed);
        }
        let name = format!("statements/{id}");
        if exists(&mut tx, "SELECT 1 FROM statements WHERE id = $1", id).await? {
            return Err(Error::AlreadyExists {
                name,
                detail: String::new(),
            });
        }
        let ValidStatement {
            mut statement,
            projection,
            references,
        } = valid;
        check_local_references(&mut tx, remote, &references).await?;

        let now = now_micros();
        statement.name = name;
        statement.create_time = Some(timestamp_from_micros(now));
        statement.update_time = statement.create_time;
        statement.etag = etag(1);
        sqlx::query(
            "INSERT INTO statements (id, speaker_id, communication_id, readout_issuer_id, in_reply_to_id, \
             speech_act, channel, content_mode, said_earliest, said_latest, revision, create_time, update_time, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11, $12)",
        )
        .bind(id)
        .bind(projection.speaker_id.as_str())
        .bind(projection.communication_id.as_str())
        .bind(projection.readout_issuer_id.as_str())
        .bind(projection.in_reply_to_id.as_str())
        .bind(i64::from(projection.speech_act))
        .bind(i64::from(projection.channel))
        .bind(i64::from(projection.content_mode))
        .bind(projection.said.0)
        .bind(projection.said.1)
        .bind(now)
        .bind(statement.encode_to_vec())
        .execute(&mut *tx)
        .await?;
        insert_side_rows(&mut tx, id, &projection).await?;
        record_response(&mut tx, request, &statement).await?;
        tx.commit().await?;
        Ok(statement)
    }

    /// Replaces a statement with `valid`, provided it is still at `expected_revision` (else
    /// [`Error::EtagMismatch`]). `remote` holds the problems already found with references to
    /// other services; local references are checked here.
    pub async fn update_statement(
        &self,
        id: &str,
        expected_revision: i64,
        valid: ValidStatement,
        remote: Violations,
    ) -> Result<Statement> {
        time_store("update_statement", async {
        let mut tx = self.db.begin_write().await?;
        let name = format!("statements/{id}");
        let row = sqlx::query("SELECT revision, body FROM statements WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::NotFound(name.clone()))?;
        let revision: i64 = row.try_get("revision")?;
        if revision != expected_revision {
            return Err(Error::EtagMismatch(name));
        }
        let current: Statement = decode(&row)?;
        let ValidStatement {
            mut statement,
            projection,
            references,
        } = valid;
        check_local_references(&mut tx, remote, &references).await?;

        let now = now_micros();
        statement.name = name.clone();
        statement.create_time = current.create_time;
        statement.update_time = Some(timestamp_from_micros(now));
        statement.etag = etag(revision + 1);
        let updated = sqlx::query(
            "UPDATE statements SET speaker_id = $1, communication_id = $2, readout_issuer_id = $3, \
             in_reply_to_id = $4, speech_act = $5, channel = $6, content_mode = $7, said_earliest = $8, \
             said_latest = $9, revision = $10, update_time = $11, body = $12 WHERE id = $13 AND revision = $14",
        )
        .bind(projection.speaker_id.as_str())
        .bind(projection.communication_id.as_str())
        .bind(projection.readout_issuer_id.as_str())
        .bind(projection.in_reply_to_id.as_str())
        .bind(i64::from(projection.speech_act))
        .bind(i64::from(projection.channel))
        .bind(i64::from(projection.content_mode))
        .bind(projection.said.0)
        .bind(projection.said.1)
        .bind(revision + 1)
        .bind(now)
        .bind(statement.encode_to_vec())
        .bind(id)
        .bind(revision)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(Error::EtagMismatch(name));
        }
        delete_side_rows(&mut tx, id).await?;
        insert_side_rows(&mut tx, id, &projection).await?;
        tx.commit().await?;
        Ok(statement)
        })
        .await
    }

    /// Deletes a statement no other statement answers. A non-empty `expected_etag` must match.
    pub async fn delete_statement(&self, id: &str, expected_etag: &str) -> Result<()> {
        time_store("delete_statement", async {
            let mut tx = self.db.begin_write().await?;
            let name = format!("statements/{id}");
            let revision: i64 = sqlx::query("SELECT revision FROM statements WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::NotFound(name.clone()))?
                .try_get("revision")?;
            if !expected_etag.is_empty() && expected_etag != etag(revision) {
                return Err(Error::EtagMismatch(name));
            }
            let answer = sqlx::query(
                "SELECT id FROM statements WHERE in_reply_to_id = $1 ORDER BY id LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(answer) = answer {
                let answer: String = answer.try_get("id")?;
                return Err(Error::InUse {
                    name,
                    by: format!("statements/{answer} (its in_reply_to)"),
                });
            }
            delete_side_rows(&mut tx, id).await?;
            sqlx::query("DELETE FROM statements WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// One source document by id.
    pub async fn get_source_document(&self, id: &str) -> Result<Option<SourceDocument>> {
        time_store("get_source_document", async {
            fetch_body(&self.db.pool, "documents", id).await
        })
        .await
    }

    /// One source document by id, with its revision.
    pub async fn get_source_document_revision(
        &self,
        id: &str,
    ) -> Result<Option<(SourceDocument, i64)>> {
        time_store("get_source_document_revision", async {
            let row = sqlx::query("SELECT revision, body FROM documents WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
            row.map(|row| Ok((decode(&row)?, row.try_get("revision")?)))
                .transpose()
        })
        .await
    }

    /// Replaces a source document with `valid`, provided it is still at `expected_revision`
    /// (else [`Error::EtagMismatch`]), rewriting its publisher column in the same transaction.
    /// `remote` holds the problems already found with the actors it names.
    pub async fn update_source_document(
        &self,
        id: &str,
        expected_revision: i64,
        valid: ValidDocument,
        remote: Violations,
    ) -> Result<SourceDocument> {
        time_store("update_source_document", async {
            let mut tx = self.db.begin_write().await?;
            let name = format!("documents/{id}");
            let row = sqlx::query("SELECT revision, body FROM documents WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::NotFound(name.clone()))?;
            let revision: i64 = row.try_get("revision")?;
            if revision != expected_revision {
                return Err(Error::EtagMismatch(name));
            }
            let current: SourceDocument = decode(&row)?;
            remote.into_result()?;
            let mut document = valid.document;
            document.name = name.clone();
            document.create_time = current.create_time;
            document.etag = etag(revision + 1);
            let updated = sqlx::query(
                "UPDATE documents SET publisher_id = $1, revision = $2, body = $3 \
                 WHERE id = $4 AND revision = $5",
            )
            .bind(valid.publisher_id.as_str())
            .bind(revision + 1)
            .bind(document.encode_to_vec())
            .bind(id)
            .bind(revision)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(Error::EtagMismatch(name));
            }
            tx.commit().await?;
            Ok(document)
        })
        .await
    }

    /// Deletes a source document no statement cites, in its chain or its readout. A non-empty
    /// `expected_etag` must match.
    pub async fn delete_source_document(&self, id: &str, expected_etag: &str) -> Result<()> {
        time_store("delete_source_document", async {
            let mut tx = self.db.begin_write().await?;
            let name = format!("documents/{id}");
            let revision: i64 = sqlx::query("SELECT revision FROM documents WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::NotFound(name.clone()))?
                .try_get("revision")?;
            if !expected_etag.is_empty() && expected_etag != etag(revision) {
                return Err(Error::EtagMismatch(name));
            }
            let citing = sqlx::query(
                "SELECT statement_id FROM statement_documents WHERE document_id = $1 \
                 ORDER BY statement_id LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(citing) = citing {
                let citing: String = citing.try_get("statement_id")?;
                return Err(Error::InUse {
                    name,
                    by: format!("statements/{citing} (its attribution chain or readout)"),
                });
            }
            sqlx::query("DELETE FROM documents WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Many source documents by id, in one query; missing ids are absent from the map.
    pub async fn batch_get_source_documents(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, SourceDocument>> {
        time_store("batch_get_source_documents", async {
            fetch_bodies(&self.db.pool, "documents", ids.iter().copied()).await
        })
        .await
    }

    /// A page of source documents ordered by id, after `after`; at most `limit` of them.
    pub async fn list_source_documents(
        &self,
        publisher_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SourceDocument>> {
        time_store("list_source_documents", async {
            let mut query = QueryBuilder::new("SELECT body FROM documents WHERE 1 = 1");
            if !publisher_id.is_empty() {
                let publisher = query.arg(publisher_id);
                query.push(&format!(" AND publisher_id = {publisher}"));
            }
            query.page_by_id(after, limit);
            let rows = query.build().fetch_all(&self.db.pool).await?;
            rows.iter().map(decode).collect()
        })
        .await
    }

    /// Records a source document whose own fields are valid; `remote` holds the problems found
    /// with the actors it names.
    pub async fn create_source_document(
        &self,
        id: &str,
        valid: ValidDocument,
        remote: Violations,
        request: Option<&RequestKey>,
    ) -> Result<SourceDocument> {
        time_store("create_source_document", async {
            let outcome = self
                .try_create_source_document(id, valid, remote, request)
                .await;
            settle_create(&self.db.pool, outcome, request, format!("documents/{id}")).await
        })
        .await
    }

    async fn try_create_source_document(
        &self,
        id: &str,
        valid: ValidDocument,
        remote: Violations,
        request: Option<&RequestKey>,
    ) -> Result<SourceDocument> {
        let mut tx = self.db.begin_write().await?;
        if let Some(replayed) = replay(&mut tx, request).await? {
            return Ok(replayed);
        }
        let name = format!("documents/{id}");
        if exists(&mut tx, "SELECT 1 FROM documents WHERE id = $1", id).await? {
            return Err(Error::AlreadyExists {
                name,
                detail: String::new(),
            });
        }
        remote.into_result()?;
        let now = now_micros();
        let mut document = valid.document;
        document.name = name;
        document.create_time = Some(timestamp_from_micros(now));
        document.etag = etag(1);
        sqlx::query(
            "INSERT INTO documents (id, publisher_id, revision, create_time, body) \
             VALUES ($1, $2, 1, $3, $4)",
        )
        .bind(id)
        .bind(valid.publisher_id.as_str())
        .bind(now)
        .bind(document.encode_to_vec())
        .execute(&mut *tx)
        .await?;
        record_response(&mut tx, request, &document).await?;
        tx.commit().await?;
        Ok(document)
    }
}

/// Keeps the statements whose speakers (speaker or co-speakers) and whose actors spoken about
/// include the filter's actors.
fn filter_by_actors(query: &mut QueryBuilder, filter: &StatementFilter) {
    if !filter.speaker_id.is_empty() {
        filter_by_actor(
            query,
            &filter.speaker_id,
            &[ActorRole::Speaker, ActorRole::CoSpeaker],
        );
    }
    if !filter.about_actor_id.is_empty() {
        filter_by_actor(query, &filter.about_actor_id, &[ActorRole::About]);
    }
}

/// Keeps the statements that name `actor_id` in one of `roles`.
fn filter_by_actor(query: &mut QueryBuilder, actor_id: &str, roles: &[ActorRole]) {
    let actor = query.arg(actor_id);
    let roles = query.args(roles.iter().map(|r| r.as_str()));
    query.push(&format!(
        " AND EXISTS (SELECT 1 FROM statement_actors a WHERE a.statement_id = s.id \
         AND a.actor_id = {actor} AND a.role IN ({roles}))"
    ));
}

/// Keeps the statements about the filter's communication: their own communication, or one of
/// their related communications.
fn filter_by_communication(query: &mut QueryBuilder, filter: &StatementFilter) {
    if filter.communication_id.is_empty() {
        return;
    }
    let own = query.arg(filter.communication_id.as_str());
    let related = query.arg(filter.communication_id.as_str());
    query.push(&format!(
        " AND (s.communication_id = {own} OR EXISTS (SELECT 1 FROM \
         statement_related_communications r WHERE r.statement_id = s.id \
         AND r.communication_id = {related}))"
    ));
}

/// Keeps the statements matching the filter's readout issuer, topic, enums and `said` range.
fn filter_by_columns(query: &mut QueryBuilder, filter: &StatementFilter) {
    if !filter.readout_issuer_id.is_empty() {
        let issuer = query.arg(filter.readout_issuer_id.as_str());
        query.push(&format!(" AND s.readout_issuer_id = {issuer}"));
    }
    if !filter.topic.is_empty() {
        let topic = query.arg(filter.topic.as_str());
        query.push(&format!(
            " AND EXISTS (SELECT 1 FROM statement_topics t WHERE t.statement_id = s.id \
             AND t.topic_id = {topic})"
        ));
    }
    for (column, value) in [
        ("speech_act", filter.speech_act),
        ("channel", filter.channel),
        ("content_mode", filter.content_mode),
    ] {
        if value != 0 {
            let value = query.arg(i64::from(value));
            query.push(&format!(" AND s.{column} = {value}"));
        }
    }
    if let Some(from) = filter.said_from {
        let from = query.arg(from);
        query.push(&format!(" AND s.said_latest >= {from}"));
    }
    if let Some(to) = filter.said_to {
        let to = query.arg(to);
        query.push(&format!(" AND s.said_earliest <= {to}"));
    }
}

/// Orders by the bounds of `said` and id, resumes after `after`, and takes at most `limit`.
fn page_by_said(query: &mut QueryBuilder, after: Option<&StatementKey>, limit: usize) {
    if let Some((earliest, latest, id)) = after {
        let (earliest, latest, id) = (
            query.arg(*earliest),
            query.arg(*latest),
            query.arg(id.as_str()),
        );
        query.push(&format!(
            " AND (s.said_earliest, s.said_latest, s.id) > ({earliest}, {latest}, {id})"
        ));
    }
    let limit = query.arg(limit as i64);
    query.push(&format!(
        " ORDER BY s.said_earliest, s.said_latest, s.id LIMIT {limit}"
    ));
}

/// A listed row: its sort key and the statement it stores.
fn listed_statement(row: &AnyRow) -> Result<ListedStatement> {
    Ok(ListedStatement {
        key: (
            row.try_get("said_earliest")?,
            row.try_get("said_latest")?,
            row.try_get("id")?,
        ),
        statement: decode(row)?,
    })
}

async fn exists(connection: &mut AnyConnection, sql: &str, id: &str) -> Result<bool> {
    Ok(sqlx::query(sql)
        .bind(id)
        .fetch_optional(&mut *connection)
        .await?
        .is_some())
}

/// Adds to `violations` (the problems found by other services) the documents, the answered
/// statement and the statements of the same utterance that do not exist, and fails when there
/// is any problem.
async fn check_local_references(
    connection: &mut AnyConnection,
    mut violations: Violations,
    references: &StatementReferences,
) -> Result<()> {
    let ids: BTreeSet<&str> = references
        .documents
        .iter()
        .filter_map(|r| names::parse(&r.name, "documents"))
        .collect();
    if !ids.is_empty() {
        let mut query = QueryBuilder::new("SELECT id FROM documents WHERE id IN (");
        let list = query.args(ids.iter().copied());
        query.push(&list).push(")");
        let found: BTreeSet<String> = query
            .build()
            .fetch_all(&mut *connection)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?;
        for reference in &references.documents {
            if !found.contains(names::id_of(&reference.name)) {
                missing(&mut violations, reference);
            }
        }
    }
    if let Some(reference) = &references.in_reply_to {
        let id = names::id_of(&reference.name);
        if !exists(connection, "SELECT 1 FROM statements WHERE id = $1", id).await? {
            missing(&mut violations, reference);
        }
    }
    let ids: BTreeSet<&str> = references
        .same_utterance_as
        .iter()
        .map(|r| names::id_of(&r.name))
        .collect();
    if !ids.is_empty() {
        let mut query = QueryBuilder::new("SELECT id FROM statements WHERE id IN (");
        let list = query.args(ids.iter().copied());
        query.push(&list).push(")");
        let found: BTreeSet<String> = query
            .build()
            .fetch_all(&mut *connection)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?;
        for reference in &references.same_utterance_as {
            if !found.contains(names::id_of(&reference.name)) {
                missing(&mut violations, reference);
            }
        }
    }
    violations.into_result()?;
    Ok(())
}

fn missing(violations: &mut Violations, reference: &Reference) {
    violations.add(
        &reference.field,
        format!("{} does not exist", reference.name),
    );
}

async fn insert_side_rows(
    connection: &mut AnyConnection,
    id: &str,
    projection: &StatementProjection,
) -> Result<()> {
    for (actor_id, role) in &projection.actors {
        sqlx::query(
            "INSERT INTO statement_actors (statement_id, actor_id, role) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(actor_id.as_str())
        .bind(role.as_str())
        .execute(&mut *connection)
        .await?;
    }
    for topic in &projection.topics {
        sqlx::query("INSERT INTO statement_topics (statement_id, topic_id) VALUES ($1, $2)")
            .bind(id)
            .bind(topic.as_str())
            .execute(&mut *connection)
            .await?;
    }
    for document in &projection.documents {
        sqlx::query("INSERT INTO statement_documents (statement_id, document_id) VALUES ($1, $2)")
            .bind(id)
            .bind(document.as_str())
            .execute(&mut *connection)
            .await?;
    }
    for communication in &projection.related_communications {
        sqlx::query(
            "INSERT INTO statement_related_communications (statement_id, communication_id) \
             VALUES ($1, $2)",
        )
        .bind(id)
        .bind(communication.as_str())
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

async fn delete_side_rows(connection: &mut AnyConnection, id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM statement_actors WHERE statement_id = $1",
        "DELETE FROM statement_topics WHERE statement_id = $1",
        "DELETE FROM statement_documents WHERE statement_id = $1",
        "DELETE FROM statement_related_communications WHERE statement_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *connection).await?;
    }
    Ok(())
}
