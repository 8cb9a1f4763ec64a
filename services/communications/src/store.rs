//! Storage of communications on SQLite or PostgreSQL (see `chancery_runtime::db`).
//!
//! Each communication is stored whole, status log included, as the encoded message served to
//! clients, beside the columns its filters and constraints need: kind, computed lifecycle and
//! verification, the bounds of its date, its previous communication, and two side tables of
//! participants and topics. Every write runs in one transaction that checks the local
//! references (`previous_in_series`, the communications topics name), keeps the side tables in
//! step with the body and records the request id, so a write is all or nothing and a retry is
//! answered from the record. Actor
//! references are checked by the caller *before* a write transaction opens: no transaction is
//! ever held across a call to another service.

use std::collections::HashMap;

use chancery_proto::communications::v1::{Communication, StatusAssertion};
use chancery_runtime::db::{
    Database, QueryBuilder, decode_body as decode, etag, fetch_bodies, fetch_body,
};
use chancery_runtime::errors::Violations;
use chancery_runtime::idempotency::{RequestKey, record_response, replay, settle_create};
use chancery_runtime::metrics::time_store;
use chancery_runtime::time::{now_micros, timestamp_from_micros};
use prost::Message;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{self, Cursor, ListFilter, MAX_STATUS_LOG};
use chancery_runtime::errors::{Error, Result};

/// A listed communication with its sort key.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The sort key.
    pub key: Cursor,
    /// The communication as served.
    pub communication: Communication,
}

/// The store of the communications service.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

impl Store {
    /// A store on an opened, migrated database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// One communication by id.
    pub async fn get_communication(&self, id: &str) -> Result<Option<Communication>> {
        time_store("get_communication", async {
            fetch_body(&self.db.pool, "communications", id).await
        })
        .await
    }

    /// Many communications by id, in one query; missing ids are absent from the map.
    pub async fn batch_get_communications(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, Communication>> {
        time_store("get_communications", async {
            fetch_bodies(&self.db.pool, "communications", ids.iter().copied()).await
        })
        .await
    }

    /// A page of communications ordered by (earliest, latest, id) of their date, after `after`;
    /// at most `limit` of them.
    pub async fn list_communications(
        &self,
        filter: &ListFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<Listed>> {
        time_store("list_communications", async {
        let mut query = QueryBuilder::new(
            "SELECT c.id, c.date_earliest, c.date_latest, c.body FROM communications c WHERE 1 = 1",
        );
        for actor_id in [&filter.participant_id, &filter.counterpart_id] {
            if !actor_id.is_empty() {
                let actor = query.arg(actor_id.as_str());
                query.push(&format!(
                    " AND EXISTS (SELECT 1 FROM communication_participants p \
                     WHERE p.communication_id = c.id AND p.actor_id = {actor})"
                ));
            }
        }
        if !filter.topic_id.is_empty() {
            let topic = query.arg(filter.topic_id.as_str());
            query.push(&format!(
                " AND EXISTS (SELECT 1 FROM communication_topics t \
                 WHERE t.communication_id = c.id AND t.topic_id = {topic})"
            ));
        }
        for (column, value) in [
            ("kind", filter.kind),
            ("lifecycle", filter.lifecycle),
            ("verification", filter.verification),
        ] {
            if value != 0 {
                let value = query.arg(i64::from(value));
                query.push(&format!(" AND c.{column} = {value}"));
            }
        }
        if let Some(from) = filter.from {
            let from = query.arg(from);
            query.push(&format!(" AND c.date_latest >= {from}"));
        }
        if let Some(to) = filter.to {
            let to = query.arg(to);
            query.push(&format!(" AND c.date_earliest <= {to}"));
        }
        if let Some(after) = after {
            let (earliest, latest, id) = (
                query.arg(after.earliest),
                query.arg(after.latest),
                query.arg(after.id.as_str()),
            );
            query.push(&format!(
                " AND (c.date_earliest, c.date_latest, c.id) > ({earliest}, {latest}, {id})"
            ));
        }
        let limit = query.arg(limit as i64);
        query.push(&format!(
            " ORDER BY c.date_earliest, c.date_latest, c.id LIMIT {limit}"
        ));
        let rows = query.build().fetch_all(&self.db.pool).await?;
        rows.iter().map(listed).collect()
        })
        .await
    }

    /// The recorded response of a request already served, read outside any write: a retry is
    /// answered without asking other services again. `None` when the request is new.
    pub async fn replayed(&self, request: Option<&RequestKey>) -> Result<Option<Communication>> {
        time_store("replayed", async {
            if request.is_none() {
                return Ok(None);
            }
            let mut connection = self.db.pool.acquire().await?;
            replay(&mut connection, request).await
        })
        .await
    }

    /// Creates a communication whose own fields and actor references were checked;
    /// `violations` holds what those checks found. Checks the id and `previous_in_series` in
    /// the same transaction, and fails with every problem at once.
    pub async fn create_communication(
        &self,
        id: &str,
        communication: Communication,
        violations: Violations,
        request: Option<&RequestKey>,
    ) -> Result<Communication> {
        time_store("create_communication", async {
            let outcome = self
                .try_create_communication(id, communication, violations, request)
                .await;
            settle_create(
                &self.db.pool,
                outcome,
                request,
                format!("communications/{id}"),
            )
            .await
        })
        .await
    }

    async fn try_create_communication(
        &self,
        id: &str,
        mut communication: Communication,
        mut violations: Violations,
        request: Option<&RequestKey>,
    ) -> Result<Communication> {
        let mut tx = self.db.begin_write().await?;
        if let Some(replayed) = replay(&mut tx, request).await? {
            return Ok(replayed);
        }
        let name = format!("communications/{id}");
        if exists(&mut tx, id).await? {
            return Err(Error::AlreadyExists {
                name,
                detail: String::new(),
            });
        }
        check_previous(&mut tx, &mut violations, id, &communication).await?;
        check_topic_communications(&mut tx, &mut violations, id, &communication).await?;
        violations.into_result()?;

        let now = now_micros();
        let stamp = Some(timestamp_from_micros(now));
        communication.name = name;
        communication.create_time = stamp;
        communication.update_time = stamp;
        communication.etag = etag(1);
        for status in &mut communication.status_log {
            status.create_time = stamp;
        }
        domain::recompute(&mut communication);
        let projection = domain::project(&communication);
        sqlx::query(
            "INSERT INTO communications (id, kind, lifecycle, verification, date_earliest, date_latest, \
             previous_id, revision, create_time, update_time, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9)",
        )
        .bind(id)
        .bind(projection.kind)
        .bind(projection.lifecycle)
        .bind(projection.verification)
        .bind(projection.earliest)
        .bind(projection.latest)
        .bind(projection.previous_id.as_str())
        .bind(now)
        .bind(communication.encode_to_vec())
        .execute(&mut *tx)
        .await?;
        insert_side_rows(&mut tx, id, &projection).await?;
        record_response(&mut tx, request, &communication).await?;
        tx.commit().await?;
        Ok(communication)
    }

    /// Replaces a communication with `change(current, violations)`, which merges and validates
    /// (recording what is wrong in `violations`, which already holds the problems the caller
    /// found); then checks `previous_in_series`, the communications the topics name when
    /// `topics_replaced` (the update replaces the topics), and recomputes the status. A
    /// non-empty `expected_etag` must match the stored one.
    pub async fn update_communication(
        &self,
        id: &str,
        expected_etag: &str,
        mut violations: Violations,
        topics_replaced: bool,
        change: impl FnOnce(Communication, &mut Violations) -> Communication,
    ) -> Result<Communication> {
        time_store("update_communication", async {
            let mut tx = self.db.begin_write().await?;
            let name = format!("communications/{id}");
            let (revision, current) = read_current(&mut tx, id, expected_etag).await?;
            let mut communication = change(current, &mut violations);
            check_previous(&mut tx, &mut violations, id, &communication).await?;
            if topics_replaced {
                check_topic_communications(&mut tx, &mut violations, id, &communication).await?;
            }
            violations.into_result()?;

            let now = now_micros();
            communication.name = name;
            communication.update_time = Some(timestamp_from_micros(now));
            communication.etag = etag(revision + 1);
            domain::recompute(&mut communication);
            let projection = domain::project(&communication);
            write_back(&mut tx, id, revision, now, &communication, &projection).await?;
            sqlx::query("DELETE FROM communication_participants WHERE communication_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM communication_topics WHERE communication_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_side_rows(&mut tx, id, &projection).await?;
            tx.commit().await?;
            Ok(communication)
        })
        .await
    }

    /// Appends a validated status assertion whose actor reference was checked (`violations`
    /// holds what that check found), recomputes the status and bumps the etag. A retry with the
    /// same request id returns the first answer and appends nothing. An entry whose `id` is
    /// already logged appends nothing either: the communication is returned unchanged when the
    /// logged entry is the same (client-set fields compared), and ALREADY_EXISTS otherwise.
    pub async fn append_status(
        &self,
        id: &str,
        expected_etag: &str,
        status: StatusAssertion,
        violations: Violations,
        request: Option<&RequestKey>,
    ) -> Result<Communication> {
        time_store("append_status", async {
            let outcome = self
                .try_append_status(id, expected_etag, status, violations, request)
                .await;
            settle_create(
                &self.db.pool,
                outcome,
                request,
                format!("communications/{id}"),
            )
            .await
        })
        .await
    }

    async fn try_append_status(
        &self,
        id: &str,
        expected_etag: &str,
        mut status: StatusAssertion,
        mut violations: Violations,
        request: Option<&RequestKey>,
    ) -> Result<Communication> {
        let mut tx = self.db.begin_write().await?;
        if let Some(replayed) = replay(&mut tx, request).await? {
            return Ok(replayed);
        }
        let (revision, mut communication) = read_current(&mut tx, id, expected_etag).await?;
        if let Some(logged) = domain::logged_status(&communication.status_log, &status.id) {
            if !domain::same_status(logged, &status) {
                return Err(Error::AlreadyExists {
                    name: format!(
                        "status entry {:?} of {}",
                        status.id, communication.name
                    ),
                    detail: " with other content; a logged entry is never changed: append it under another id"
                        .to_owned(),
                });
            }
            // Already logged as sent: nothing to append, the communication as it stands (same
            // etag) is the answer, and a retry with the request id gets it again. Nothing is
            // written, so an actor deleted since the entry was logged does not matter.
            record_response(&mut tx, request, &communication).await?;
            tx.commit().await?;
            return Ok(communication);
        }
        if communication.status_log.len() >= MAX_STATUS_LOG {
            violations.add(
                "status",
                format!(
                    "cannot be appended: {} already holds {MAX_STATUS_LOG} status entries, the most a log may hold",
                    communication.name
                ),
            );
        }
        violations.into_result()?;

        let now = now_micros();
        status.create_time = Some(timestamp_from_micros(now));
        communication.status_log.push(status);
        communication.update_time = Some(timestamp_from_micros(now));
        communication.etag = etag(revision + 1);
        domain::recompute(&mut communication);
        let projection = domain::project(&communication);
        write_back(&mut tx, id, revision, now, &communication, &projection).await?;
        record_response(&mut tx, request, &communication).await?;
        tx.commit().await?;
        Ok(communication)
    }

    /// Deletes a communication and its status log, unless another communication names it in
    /// `previous_in_series`. A non-empty `expected_etag` must match the stored one.
    pub async fn delete_communication(&self, id: &str, expected_etag: &str) -> Result<()> {
        time_store("delete_communication", async {
            let mut tx = self.db.begin_write().await?;
            let name = format!("communications/{id}");
            let revision: i64 = sqlx::query("SELECT revision FROM communications WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::NotFound(name.clone()))?
                .try_get("revision")?;
            if !expected_etag.is_empty() && expected_etag != etag(revision) {
                return Err(Error::EtagMismatch(name));
            }
            let next = sqlx::query(
                "SELECT id FROM communications WHERE previous_id = $1 ORDER BY id LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(next) = next {
                let next: String = next.try_get("id")?;
                return Err(Error::InUse {
                    name,
                    by: format!("communications/{next} (its previous_in_series)"),
                });
            }
            for sql in [
                "DELETE FROM communication_participants WHERE communication_id = $1",
                "DELETE FROM communication_topics WHERE communication_id = $1",
                "DELETE FROM communications WHERE id = $1",
            ] {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}

fn listed(row: &AnyRow) -> Result<Listed> {
    Ok(Listed {
        key: Cursor {
            earliest: row.try_get("date_earliest")?,
            latest: row.try_get("date_latest")?,
            id: row.try_get("id")?,
        },
        communication: decode(row)?,
    })
}

async fn exists(connection: &mut AnyConnection, id: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM communications WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *connection)
        .await?
        .is_some())
}

/// Reads a communication for a write: NOT_FOUND when missing, ABORTED when `expected_etag` is
/// set and stale. Returns its revision and body.
async fn read_current(
    connection: &mut AnyConnection,
    id: &str,
    expected_etag: &str,
) -> Result<(i64, Communication)> {
    let name = format!("communications/{id}");
    let row = sqlx::query("SELECT revision, body FROM communications WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *connection)
        .await?
        .ok_or_else(|| Error::NotFound(name.clone()))?;
    let revision: i64 = row.try_get("revision")?;
    if !expected_etag.is_empty() && expected_etag != etag(revision) {
        return Err(Error::EtagMismatch(name));
    }
    Ok((revision, decode(&row)?))
}

/// Writes a changed communication over revision `revision`.
async fn write_back(
    connection: &mut AnyConnection,
    id: &str,
    revision: i64,
    now: i64,
    communication: &Communication,
    projection: &domain::Projection,
) -> Result<()> {
    let updated = sqlx::query(
        "UPDATE communications SET kind = $1, lifecycle = $2, verification = $3, date_earliest = $4, \
         date_latest = $5, previous_id = $6, revision = $7, update_time = $8, body = $9 \
         WHERE id = $10 AND revision = $11",
    )
    .bind(projection.kind)
    .bind(projection.lifecycle)
    .bind(projection.verification)
    .bind(projection.earliest)
    .bind(projection.latest)
    .bind(projection.previous_id.as_str())
    .bind(revision + 1)
    .bind(now)
    .bind(communication.encode_to_vec())
    .bind(id)
    .bind(revision)
    .execute(&mut *connection)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(Error::EtagMismatch(format!("communications/{id}")));
    }
    Ok(())
}

async fn insert_side_rows(
    connection: &mut AnyConnection,
    id: &str,
    projection: &domain::Projection,
) -> Result<()> {
    for actor_id in &projection.participant_ids {
        sqlx::query(
            "INSERT INTO communication_participants (communication_id, actor_id) VALUES ($1, $2)",
        )
        .bind(id)
        .bind(actor_id.as_str())
        .execute(&mut *connection)
        .await?;
    }
    for topic_id in &projection.topic_ids {
        sqlx::query(
            "INSERT INTO communication_topics (communication_id, topic_id) VALUES ($1, $2)",
        )
        .bind(id)
        .bind(topic_id.as_str())
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Each communication a topic names (`topics[].communication`) must exist; validation has already
/// refused the communication itself. Checked in the write's transaction, like
/// `previous_in_series`.
async fn check_topic_communications(
    connection: &mut AnyConnection,
    violations: &mut Violations,
    id: &str,
    communication: &Communication,
) -> Result<()> {
    let mut known: HashMap<&str, bool> = HashMap::new();
    for (i, topic) in communication.topics.iter().enumerate() {
        let Some(other) = chancery_runtime::names::parse(&topic.communication, "communications")
        else {
            continue;
        };
        let field = format!("communication.topics[{i}].communication");
        if other == id {
            // Validation refuses it already (the id is known before the store is asked).
            continue;
        }
        let found = match known.get(other) {
            Some(&found) => found,
            None => {
                let found = exists(connection, other).await?;
                known.insert(other, found);
                found
            }
        };
        if !found {
            violations.add(field, format!("{} does not exist", topic.communication));
        }
    }
    Ok(())
}

/// `previous_in_series` must exist, must not be the communication itself, and following the
/// series back from it must never reach the communication (which would close a cycle).
async fn check_previous(
    connection: &mut AnyConnection,
    violations: &mut Violations,
    id: &str,
    communication: &Communication,
) -> Result<()> {
    const FIELD: &str = "communication.previous_in_series";
    let previous = &communication.previous_in_series;
    let Some(previous_id) = chancery_runtime::names::parse(previous, "communications") else {
        return Ok(());
    };
    if previous_id == id {
        violations.add(FIELD, "must not be the communication itself");
        return Ok(());
    }
    if !exists(connection, previous_id).await? {
        violations.add(FIELD, format!("{previous} does not exist"));
        return Ok(());
    }
    // Walks the series back from the new previous one. UNION (not UNION ALL) drops ids already
    // seen, so the walk ends even on data that somehow holds a cycle.
    let cycle = sqlx::query(
        "WITH RECURSIVE series(id) AS ( \
             SELECT CAST($1 AS TEXT) \
             UNION \
             SELECT c.previous_id FROM communications c JOIN series s ON c.id = s.id \
             WHERE c.previous_id <> '' \
         ) \
         SELECT 1 FROM series WHERE id = $2 LIMIT 1",
    )
    .bind(previous_id)
    .bind(id)
    .fetch_optional(&mut *connection)
    .await?;
    if cycle.is_some() {
        violations.add(
            FIELD,
            format!(
                "{previous} would close a cycle: following previous_in_series from it comes back to communications/{id}"
            ),
        );
    }
    Ok(())
}
