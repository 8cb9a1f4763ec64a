//! Storage of actors, posts and tenures on SQLite or PostgreSQL (see `chancery_runtime::db`).
//!
//! Each resource is stored whole, as the encoded message served to clients, beside the columns
//! its filters and constraints need. Every write runs in one transaction that also checks the
//! references it makes (a parent actor, a post's organization) and records the request id of a
//! create, so a write is all or nothing and a retried create is answered from the record.
//!
//! The public methods are named after the RPCs they serve (`create_actor`, `batch_get_actors`,
//! `resolve_offices`…), and each is timed under its name (`chancery_store_seconds`). The three
//! updates share one private read–merge–write step (`Store::update_revision`), and the three
//! deletes one read of the revision they replace (`read_revision`).

use std::collections::{HashMap, HashSet};

use chancery_proto::actors::v1::{Actor, Post, Tenure};
use chancery_runtime::db::{
    Database, QueryBuilder, decode_body as decode, escape_like, etag, fetch_bodies, fetch_body,
};
use chancery_runtime::errors::Violations;
use chancery_runtime::idempotency::{RequestKey, record_response, replay, settle_create};
use chancery_runtime::metrics::time_store;
use chancery_runtime::time::{now_micros, timestamp_from_micros};
use prost::Message;
use sqlx::any::{AnyQueryResult, AnyRow};
use sqlx::{AnyConnection, Row};

use crate::domain::{ActorFilter, ActorReferences, PostFilter, ValidTenure};
use chancery_runtime::errors::{Error, Result};

/// Longest chain of parents followed when looking for a cycle.
const MAX_PARENT_DEPTH: usize = 64;

/// A stored tenure with the columns office resolution needs.
#[derive(Debug, Clone)]
pub struct StoredTenure {
    /// The actor who held the post.
    pub actor_id: String,
    /// The post held.
    pub post_id: String,
    /// Start bounds, microseconds ([`crate::domain::UNKNOWN_START`] when the source does not
    /// give it).
    pub start: (i64, i64),
    /// End bounds, microseconds ([`crate::domain::OPEN_END`] while open).
    pub end: (i64, i64),
    /// The tenure as served.
    pub tenure: Tenure,
}

/// What [`Store::resolve_offices`] found.
#[derive(Debug, Clone, Default)]
pub struct Offices {
    /// The ids, of those asked, of the actors that exist.
    pub existing: HashSet<String>,
    /// Every tenure of the actors asked, ordered by start.
    pub tenures: Vec<StoredTenure>,
    /// The posts those tenures hold, by id.
    pub posts: HashMap<String, Post>,
}

/// Where an update or a delete finds the resource it replaces: its name (for NOT_FOUND and
/// ABORTED), the query of its revision (and body, for an update) and the query's arguments.
struct StoredAt<'a> {
    name: String,
    select: &'static str,
    keys: &'a [&'a str],
}

/// The revision an update replaces, as [`Store::update_revision`] hands it to the write.
struct Revision {
    /// The resource's name.
    name: String,
    /// The stored revision.
    number: i64,
}

impl Revision {
    /// The revision the write stores.
    fn next(&self) -> i64 {
        self.number + 1
    }

    /// `updated` replaced the revision read (one row), or someone else wrote it first.
    fn check_written(&self, updated: &AnyQueryResult) -> Result<()> {
        if updated.rows_affected() != 1 {
            return Err(Error::EtagMismatch(self.name.clone()));
        }
        Ok(())
    }
}

/// The store of the actors service.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

impl Store {
    /// A store on an opened, migrated database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// One actor by id.
    pub async fn get_actor(&self, id: &str) -> Result<Option<Actor>> {
        time_store("get_actor", async {
            fetch_body(&self.db.pool, "actors", id).await
        })
        .await
    }

    /// Many actors by id, in one query; missing ids are absent from the map.
    pub async fn batch_get_actors(&self, ids: &[&str]) -> Result<HashMap<String, Actor>> {
        time_store("batch_get_actors", async {
            fetch_bodies(&self.db.pool, "actors", ids.iter().copied()).await
        })
        .await
    }

    /// A page of actors ordered by id, after `after`; at most `limit` of them.
    pub async fn list_actors(
        &self,
        filter: &ActorFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Actor>> {
        time_store("list_actors", async {
            let mut query = QueryBuilder::new("SELECT body FROM actors WHERE 1 = 1");
            if filter.kind != 0 {
                let kind = query.arg(i64::from(filter.kind));
                query.push(&format!(" AND kind = {kind}"));
            }
            if !filter.country.is_empty() {
                let country = query.arg(filter.country.as_str());
                query.push(&format!(" AND country = {country}"));
            }
            if !filter.parent_id.is_empty() {
                let parent = query.arg(filter.parent_id.as_str());
                query.push(&format!(" AND parent_id = {parent}"));
            }
            if !filter.name_folded.is_empty() {
                let pattern = query.arg(format!("%{}%", escape_like(&filter.name_folded)));
                query.push(&format!(" AND search_text LIKE {pattern} ESCAPE '\\'"));
            }
            query.page_by_id(after, limit);
            let rows = query.build().fetch_all(&self.db.pool).await?;
            rows.iter().map(decode).collect()
        })
        .await
    }

    /// Creates an actor whose own fields are valid; checks its references, its id and its
    /// external ids in the same transaction.
    pub async fn create_actor(
        &self,
        id: &str,
        actor: Actor,
        references: &ActorReferences,
        request: Option<&RequestKey>,
    ) -> Result<Actor> {
        time_store("create_actor", async {
            let outcome = self.try_create_actor(id, actor, references, request).await;
            settle_create(&self.db.pool, outcome, request, format!("actors/{id}")).await
        })
        .await
    }

    async fn try_create_actor(
        &self,
        id: &str,
        mut actor: Actor,
        references: &ActorReferences,
        request: Option<&RequestKey>,
    ) -> Result<Actor> {
        let mut tx = self.db.begin_write().await?;
        if let Some(replayed) = replay(&mut tx, request).await? {
            return Ok(replayed);
        }
        let name = format!("actors/{id}");
        if exists(&mut tx, "SELECT 1 FROM actors WHERE id = $1", &[id]).await? {
            return Err(Error::AlreadyExists {
                name,
                detail: String::new(),
            });
        }
        check_actor_references(&mut tx, id, references).await?;
        check_external_ids_free(&mut tx, id, &actor).await?;

        let now = now_micros();
        actor.name = name;
        actor.create_time = Some(timestamp_from_micros(now));
        actor.update_time = actor.create_time;
        actor.etag = etag(1);
        sqlx::query(
            "INSERT INTO actors (id, kind, country, parent_id, affiliation_id, search_text, revision, create_time, update_time, body) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8)",
        )
        .bind(id)
        .bind(i64::from(actor.kind))
        .bind(actor.country.as_str())
        .bind(references.parent_id.as_str())
        .bind(references.affiliation_id.as_str())
        .bind(crate::domain::search_text(&actor))
        .bind(now)
        .bind(actor.encode_to_vec())
        .execute(&mut *tx)
        .await?;
        insert_external_ids(&mut tx, id, &actor).await?;
        record_response(&mut tx, request, &actor).await?;
        tx.commit().await?;
        Ok(actor)
    }

    /// Replaces an actor with `change(current)`, which merges and validates; then checks the
    /// references, cycles and external ids of the result. A non-empty `expected_etag` must
    /// match the stored one.
    pub async fn update_actor(
        &self,
        id: &str,
        expected_etag: &str,
        change: impl FnOnce(Actor) -> Result<(Actor, ActorReferences)>,
    ) -> Result<Actor> {
        let stored = StoredAt {
            name: format!("actors/{id}"),
            select: "SELECT revision, body FROM actors WHERE id = $1",
            keys: &[id],
        };
        let write = async |tx: &mut AnyConnection,
                           (mut actor, references): (Actor, ActorReferences),
                           revision: &Revision| {
            check_actor_references(tx, id, &references).await?;
            check_external_ids_free(tx, id, &actor).await?;
            let now = now_micros();
            actor.name = revision.name.clone();
            actor.update_time = Some(timestamp_from_micros(now));
            actor.etag = etag(revision.next());
            let updated = sqlx::query(
                "UPDATE actors SET kind = $1, country = $2, parent_id = $3, affiliation_id = $4, search_text = $5, \
                 revision = $6, update_time = $7, body = $8 WHERE id = $9 AND revision = $10",
            )
            .bind(i64::from(actor.kind))
            .bind(actor.country.as_str())
            .bind(references.parent_id.as_str())
            .bind(references.affiliation_id.as_str())
            .bind(crate::domain::search_text(&actor))
            .bind(revision.next())
            .bind(now)
            .bind(actor.encode_to_vec())
            .bind(id)
            .bind(revision.number)
            .execute(&mut *tx)
            .await?;
            revision.check_written(&updated)?;
            sqlx::query("DELETE FROM actor_external_ids WHERE actor_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_external_ids(tx, id, &actor).await?;
            Ok(actor)
        };
        time_store(
            "update_actor",
            self.update_revision(stored, expected_etag, change, write),
        )
        .await
    }

    /// Deletes an actor that nothing refers to; with `force`, its tenures go too.
    pub async fn delete_actor(&self, id: &str, expected_etag: &str, force: bool) -> Result<()> {
        time_store("delete_actor", async {
        let mut tx = self.db.begin_write().await?;
        let name = format!("actors/{id}");
        let stored = StoredAt {
            name: name.clone(),
            select: "SELECT revision FROM actors WHERE id = $1",
            keys: &[id],
        };
        read_revision(&mut tx, &stored, expected_etag).await?;
        let referrers: [(&str, &str); 4] = [
            (
                "SELECT id AS referrer FROM actors WHERE parent_id = $1 LIMIT 1",
                "actors/",
            ),
            (
                "SELECT id AS referrer FROM actors WHERE affiliation_id = $1 LIMIT 1",
                "actors/",
            ),
            (
                "SELECT id AS referrer FROM posts WHERE organization_id = $1 LIMIT 1",
                "posts/",
            ),
            (
                "SELECT actor_id || '/tenures/' || id AS referrer FROM tenures WHERE on_behalf_of_id = $1 LIMIT 1",
                "actors/",
            ),
        ];
        for (sql, prefix) in referrers {
            if let Some(row) = sqlx::query(sql).bind(id).fetch_optional(&mut *tx).await? {
                let referrer: String = row.try_get("referrer")?;
                return Err(Error::InUse {
                    name,
                    by: format!("{prefix}{referrer}"),
                });
            }
        }
        let has_tenures =
            exists(&mut tx, "SELECT 1 FROM tenures WHERE actor_id = $1", &[id]).await?;
        if has_tenures && !force {
            return Err(Error::InUse {
                name,
                by: "its own tenures (set force to delete them too)".into(),
            });
        }
        for sql in [
            "DELETE FROM tenures WHERE actor_id = $1",
            "DELETE FROM actor_external_ids WHERE actor_id = $1",
            "DELETE FROM actors WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
        })
        .await
    }

    /// Creates a post whose own fields are valid; checks its organization exists.
    pub async fn create_post(
        &self,
        id: &str,
        post: Post,
        organization_id: &str,
        request: Option<&RequestKey>,
    ) -> Result<Post> {
        time_store("create_post", async {
            let outcome = self
                .try_create_post(id, post, organization_id, request)
                .await;
            settle_create(&self.db.pool, outcome, request, format!("posts/{id}")).await
        })
        .await
    }

    async fn try_create_post(
        &self,
        id: &str,
        mut post: Post,
        organization_id: &str,
        request: Option<&RequestKey>,
    ) -> Result<Post> {
        let mut tx = self.db.begin_write().await?;
        if let Some(replayed) = replay(&mut tx, request).await? {
            return Ok(replayed);
        }
        let name = format!("posts/{id}");
        if exists(&mut tx, "SELECT 1 FROM posts WHERE id = $1", &[id]).await? {
            return Err(Error::AlreadyExists {
                name,
                detail: String::new(),
            });
        }
        let mut violations = Violations::default();
        check_actor_exists(
            &mut tx,
            &mut violations,
            "post.organization",
            organization_id,
        )
        .await?;
        violations.into_result()?;
        let now = now_micros();
        post.name = name;
        post.create_time = Some(timestamp_from_micros(now));
        post.etag = etag(1);
        sqlx::query(
            "INSERT INTO posts (id, post_class, organization_id, country, revision, create_time, body) \
             VALUES ($1, $2, $3, $4, 1, $5, $6)",
        )
        .bind(id)
        .bind(i64::from(post.post_class))
        .bind(organization_id)
        .bind(post.country.as_str())
        .bind(now)
        .bind(post.encode_to_vec())
        .execute(&mut *tx)
        .await?;
        record_response(&mut tx, request, &post).await?;
        tx.commit().await?;
        Ok(post)
    }

    /// One post by id.
    pub async fn get_post(&self, id: &str) -> Result<Option<Post>> {
        time_store("get_post", async {
            fetch_body(&self.db.pool, "posts", id).await
        })
        .await
    }

    /// A page of posts ordered by id.
    pub async fn list_posts(
        &self,
        filter: &PostFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Post>> {
        time_store("list_posts", async {
            let mut query = QueryBuilder::new("SELECT body FROM posts WHERE 1 = 1");
            if !filter.organization_id.is_empty() {
                let organization = query.arg(filter.organization_id.as_str());
                query.push(&format!(" AND organization_id = {organization}"));
            }
            if filter.post_class != 0 {
                let class = query.arg(i64::from(filter.post_class));
                query.push(&format!(" AND post_class = {class}"));
            }
            if !filter.country.is_empty() {
                let country = query.arg(filter.country.as_str());
                query.push(&format!(" AND country = {country}"));
            }
            query.page_by_id(after, limit);
            let rows = query.build().fetch_all(&self.db.pool).await?;
            rows.iter().map(decode).collect()
        })
        .await
    }

    /// Replaces a post with `change(current)`, which merges and validates and returns the id of
    /// the merged post's organization; then checks that organization exists. A non-empty
    /// `expected_etag` must match the stored one.
    pub async fn update_post(
        &self,
        id: &str,
        expected_etag: &str,
        change: impl FnOnce(Post) -> Result<(Post, String)>,
    ) -> Result<Post> {
        let stored = StoredAt {
            name: format!("posts/{id}"),
            select: "SELECT revision, body FROM posts WHERE id = $1",
            keys: &[id],
        };
        let write = async |tx: &mut AnyConnection,
                           (mut post, organization_id): (Post, String),
                           revision: &Revision| {
            let mut violations = Violations::default();
            check_actor_exists(tx, &mut violations, "post.organization", &organization_id).await?;
            violations.into_result()?;
            post.name = revision.name.clone();
            post.etag = etag(revision.next());
            let updated = sqlx::query(
                "UPDATE posts SET post_class = $1, organization_id = $2, country = $3, revision = $4, body = $5 \
                 WHERE id = $6 AND revision = $7",
            )
            .bind(i64::from(post.post_class))
            .bind(organization_id.as_str())
            .bind(post.country.as_str())
            .bind(revision.next())
            .bind(post.encode_to_vec())
            .bind(id)
            .bind(revision.number)
            .execute(&mut *tx)
            .await?;
            revision.check_written(&updated)?;
            Ok(post)
        };
        time_store(
            "update_post",
            self.update_revision(stored, expected_etag, change, write),
        )
        .await
    }

    /// Deletes a post no tenure holds. A non-empty `expected_etag` must match the stored one.
    pub async fn delete_post(&self, id: &str, expected_etag: &str) -> Result<()> {
        time_store("delete_post", async {
            let mut tx = self.db.begin_write().await?;
            let name = format!("posts/{id}");
            let stored = StoredAt {
                name: name.clone(),
                select: "SELECT revision FROM posts WHERE id = $1",
                keys: &[id],
            };
            read_revision(&mut tx, &stored, expected_etag).await?;
            let holder = sqlx::query(
                "SELECT actor_id || '/tenures/' || id AS referrer FROM tenures WHERE post_id = $1 \
                 ORDER BY actor_id, id LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = holder {
                let referrer: String = row.try_get("referrer")?;
                return Err(Error::InUse {
                    name,
                    by: format!("actors/{referrer}"),
                });
            }
            sqlx::query("DELETE FROM posts WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Records a tenure of `actor_id`; the actor must exist (else NOT_FOUND), and so must the
    /// post and the actor it was held on behalf of (else field violations).
    pub async fn create_tenure(
        &self,
        actor_id: &str,
        id: &str,
        valid: ValidTenure,
        request: Option<&RequestKey>,
    ) -> Result<Tenure> {
        time_store("create_tenure", async {
            let outcome = self.try_create_tenure(actor_id, id, valid, request).await;
            settle_create(
                &self.db.pool,
                outcome,
                request,
                format!("actors/{actor_id}/tenures/{id}"),
            )
            .await
        })
        .await
    }

    async fn try_create_tenure(
        &self,
        actor_id: &str,
        id: &str,
        valid: ValidTenure,
        request: Option<&RequestKey>,
    ) -> Result<Tenure> {
        let mut tx = self.db.begin_write().await?;
        if let Some(replayed) = replay(&mut tx, request).await? {
            return Ok(replayed);
        }
        if !exists(&mut tx, "SELECT 1 FROM actors WHERE id = $1", &[actor_id]).await? {
            return Err(Error::NotFound(format!("actors/{actor_id}")));
        }
        let name = format!("actors/{actor_id}/tenures/{id}");
        if exists(
            &mut tx,
            "SELECT 1 FROM tenures WHERE actor_id = $1 AND id = $2",
            &[actor_id, id],
        )
        .await?
        {
            return Err(Error::AlreadyExists {
                name,
                detail: String::new(),
            });
        }
        check_tenure_references(&mut tx, &valid).await?;

        let now = now_micros();
        let mut tenure = valid.tenure;
        tenure.name = name;
        tenure.create_time = Some(timestamp_from_micros(now));
        tenure.etag = etag(1);
        sqlx::query(
            "INSERT INTO tenures (actor_id, id, post_id, on_behalf_of_id, start_earliest, start_latest, end_earliest, \
             end_latest, revision, create_time, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10)",
        )
        .bind(actor_id)
        .bind(id)
        .bind(valid.post_id.as_str())
        .bind(valid.on_behalf_of_id.as_str())
        .bind(valid.start.0)
        .bind(valid.start.1)
        .bind(valid.end.0)
        .bind(valid.end.1)
        .bind(now)
        .bind(tenure.encode_to_vec())
        .execute(&mut *tx)
        .await?;
        record_response(&mut tx, request, &tenure).await?;
        tx.commit().await?;
        Ok(tenure)
    }

    /// One tenure.
    pub async fn get_tenure(&self, actor_id: &str, id: &str) -> Result<Option<Tenure>> {
        time_store("get_tenure", async {
            let row = sqlx::query("SELECT body FROM tenures WHERE actor_id = $1 AND id = $2")
                .bind(actor_id)
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
            row.as_ref().map(decode).transpose()
        })
        .await
    }

    /// Replaces a tenure of `actor_id` with `change(current)`, which merges, validates and
    /// normalizes; then checks that its post and the actor it is held on behalf of exist, and
    /// rewrites the projection columns (post, bounds) with the body in the same transaction. A
    /// non-empty `expected_etag` must match the stored one.
    pub async fn update_tenure(
        &self,
        actor_id: &str,
        id: &str,
        expected_etag: &str,
        change: impl FnOnce(Tenure) -> Result<ValidTenure>,
    ) -> Result<Tenure> {
        let stored = StoredAt {
            name: format!("actors/{actor_id}/tenures/{id}"),
            select: "SELECT revision, body FROM tenures WHERE actor_id = $1 AND id = $2",
            keys: &[actor_id, id],
        };
        let write = async |tx: &mut AnyConnection, valid: ValidTenure, revision: &Revision| {
            check_tenure_references(tx, &valid).await?;
            let mut tenure = valid.tenure;
            tenure.name = revision.name.clone();
            tenure.etag = etag(revision.next());
            let updated = sqlx::query(
                "UPDATE tenures SET post_id = $1, on_behalf_of_id = $2, start_earliest = $3, start_latest = $4, \
                 end_earliest = $5, end_latest = $6, revision = $7, body = $8 \
                 WHERE actor_id = $9 AND id = $10 AND revision = $11",
            )
            .bind(valid.post_id.as_str())
            .bind(valid.on_behalf_of_id.as_str())
            .bind(valid.start.0)
            .bind(valid.start.1)
            .bind(valid.end.0)
            .bind(valid.end.1)
            .bind(revision.next())
            .bind(tenure.encode_to_vec())
            .bind(actor_id)
            .bind(id)
            .bind(revision.number)
            .execute(&mut *tx)
            .await?;
            revision.check_written(&updated)?;
            Ok(tenure)
        };
        time_store(
            "update_tenure",
            self.update_revision(stored, expected_etag, change, write),
        )
        .await
    }

    /// Deletes a tenure. A non-empty `expected_etag` must match the stored one.
    pub async fn delete_tenure(&self, actor_id: &str, id: &str, expected_etag: &str) -> Result<()> {
        time_store("delete_tenure", async {
            let mut tx = self.db.begin_write().await?;
            let stored = StoredAt {
                name: format!("actors/{actor_id}/tenures/{id}"),
                select: "SELECT revision FROM tenures WHERE actor_id = $1 AND id = $2",
                keys: &[actor_id, id],
            };
            read_revision(&mut tx, &stored, expected_etag).await?;
            sqlx::query("DELETE FROM tenures WHERE actor_id = $1 AND id = $2")
                .bind(actor_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// A page of tenures, of one actor or all (`actor_id` None), ordered by start, actor, id.
    /// Returns each tenure with its sort key.
    pub async fn list_tenures(
        &self,
        actor_id: Option<&str>,
        post_id: &str,
        after: Option<(i64, &str, &str)>,
        limit: usize,
    ) -> Result<Vec<StoredTenure>> {
        time_store("list_tenures", async {
        let mut query = QueryBuilder::new(
            "SELECT actor_id, post_id, start_earliest, start_latest, end_earliest, end_latest, body FROM tenures WHERE 1 = 1",
        );
        if let Some(actor_id) = actor_id {
            let actor = query.arg(actor_id);
            query.push(&format!(" AND actor_id = {actor}"));
        }
        if !post_id.is_empty() {
            let post = query.arg(post_id);
            query.push(&format!(" AND post_id = {post}"));
        }
        if let Some((start, actor, id)) = after {
            let (start, actor, id) = (query.arg(start), query.arg(actor), query.arg(id));
            query.push(&format!(
                " AND (start_earliest, actor_id, id) > ({start}, {actor}, {id})"
            ));
        }
        let limit = query.arg(limit as i64);
        query.push(&format!(
            " ORDER BY start_earliest, actor_id, id LIMIT {limit}"
        ));
        let rows = query.build().fetch_all(&self.db.pool).await?;
        rows.iter().map(stored_tenure).collect()
        })
        .await
    }

    /// What office resolution needs about `actor_ids`: which of them exist, all their tenures
    /// (ordered by start) and the posts those tenures hold; one query each.
    pub async fn resolve_offices(&self, actor_ids: &HashSet<&str>) -> Result<Offices> {
        time_store("resolve_offices", async {
            let existing = self.existing_actor_ids(actor_ids).await?;
            let tenures = self.tenures_of(actor_ids).await?;
            let post_ids: HashSet<&str> = tenures.iter().map(|t| t.post_id.as_str()).collect();
            let posts = self.get_posts(&post_ids).await?;
            Ok(Offices {
                existing,
                tenures,
                posts,
            })
        })
        .await
    }

    /// The read, merge and write of an update, in one write transaction: reads the revision
    /// and body at `stored` (NOT_FOUND when there is none) and checks a non-empty
    /// `expected_etag` against it ([`read_revision`]); merges with `change`; lets `write`
    /// check the result's references and store it as the next revision (it calls
    /// [`Revision::check_written`]); commits.
    async fn update_revision<T, V>(
        &self,
        stored: StoredAt<'_>,
        expected_etag: &str,
        change: impl FnOnce(T) -> Result<V>,
        write: impl AsyncFnOnce(&mut AnyConnection, V, &Revision) -> Result<T>,
    ) -> Result<T>
    where
        T: Message + Default,
    {
        let mut tx = self.db.begin_write().await?;
        let (revision, row) = read_revision(&mut tx, &stored, expected_etag).await?;
        let merged = change(decode(&row)?)?;
        let revision = Revision {
            name: stored.name,
            number: revision,
        };
        let written = write(&mut tx, merged, &revision).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Every tenure of the given actors, in one query, ordered by start.
    async fn tenures_of(&self, actor_ids: &HashSet<&str>) -> Result<Vec<StoredTenure>> {
        if actor_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(
            "SELECT actor_id, post_id, start_earliest, start_latest, end_earliest, end_latest, body FROM tenures WHERE actor_id IN (",
        );
        let list = query.args(actor_ids.iter().copied());
        query
            .push(&list)
            .push(") ORDER BY start_earliest, actor_id, id");
        let rows = query.build().fetch_all(&self.db.pool).await?;
        rows.iter().map(stored_tenure).collect()
    }

    /// Which of the given actor ids exist, in one query.
    async fn existing_actor_ids(&self, ids: &HashSet<&str>) -> Result<HashSet<String>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let mut query = QueryBuilder::new("SELECT id FROM actors WHERE id IN (");
        let list = query.args(ids.iter().copied());
        query.push(&list).push(")");
        let rows = query.build().fetch_all(&self.db.pool).await?;
        rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
    }

    /// Many posts by id, in one query.
    async fn get_posts(&self, ids: &HashSet<&str>) -> Result<HashMap<String, Post>> {
        fetch_bodies(&self.db.pool, "posts", ids.iter().copied()).await
    }
}

/// The stored revision at `stored` and its row (with whatever else `stored.select` asks),
/// NOT_FOUND when there is none; a non-empty `expected_etag` must match the revision (else
/// ABORTED).
async fn read_revision(
    connection: &mut AnyConnection,
    stored: &StoredAt<'_>,
    expected_etag: &str,
) -> Result<(i64, AnyRow)> {
    let mut query = sqlx::query(stored.select);
    for key in stored.keys {
        query = query.bind(*key);
    }
    let row = query
        .fetch_optional(&mut *connection)
        .await?
        .ok_or_else(|| Error::NotFound(stored.name.clone()))?;
    let revision: i64 = row.try_get("revision")?;
    if !expected_etag.is_empty() && expected_etag != etag(revision) {
        return Err(Error::EtagMismatch(stored.name.clone()));
    }
    Ok((revision, row))
}

fn stored_tenure(row: &AnyRow) -> Result<StoredTenure> {
    Ok(StoredTenure {
        actor_id: row.try_get("actor_id")?,
        post_id: row.try_get("post_id")?,
        start: (row.try_get("start_earliest")?, row.try_get("start_latest")?),
        end: (row.try_get("end_earliest")?, row.try_get("end_latest")?),
        tenure: decode(row)?,
    })
}

async fn exists(connection: &mut AnyConnection, sql: &str, args: &[&str]) -> Result<bool> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = query.bind(*arg);
    }
    Ok(query.fetch_optional(&mut *connection).await?.is_some())
}

async fn check_actor_exists(
    connection: &mut AnyConnection,
    violations: &mut Violations,
    field: &str,
    id: &str,
) -> Result<()> {
    if !id.is_empty() && !exists(connection, "SELECT 1 FROM actors WHERE id = $1", &[id]).await? {
        violations.add(field, format!("actors/{id} does not exist"));
    }
    Ok(())
}

/// The post a tenure holds and the actor it is held on behalf of must exist; each missing one
/// is a violation on its field.
async fn check_tenure_references(
    connection: &mut AnyConnection,
    valid: &ValidTenure,
) -> Result<()> {
    let mut violations = Violations::default();
    if !exists(
        connection,
        "SELECT 1 FROM posts WHERE id = $1",
        &[&valid.post_id],
    )
    .await?
    {
        violations.add(
            "tenure.post",
            format!("posts/{} does not exist", valid.post_id),
        );
    }
    check_actor_exists(
        connection,
        &mut violations,
        "tenure.on_behalf_of",
        &valid.on_behalf_of_id,
    )
    .await?;
    violations.into_result()?;
    Ok(())
}

/// The parent and affiliation must exist, and following parents from the new parent must never
/// reach the actor itself.
async fn check_actor_references(
    connection: &mut AnyConnection,
    id: &str,
    references: &ActorReferences,
) -> Result<()> {
    let mut violations = Violations::default();
    if references.parent_id == id {
        violations.add("actor.parent", "must not be the actor itself");
    } else if !references.parent_id.is_empty() {
        let mut ancestor = references.parent_id.clone();
        let mut depth = 0;
        loop {
            let row = sqlx::query("SELECT parent_id FROM actors WHERE id = $1")
                .bind(ancestor.as_str())
                .fetch_optional(&mut *connection)
                .await?;
            let Some(row) = row else {
                if depth == 0 {
                    violations.add("actor.parent", format!("actors/{ancestor} does not exist"));
                }
                break;
            };
            let next: String = row.try_get("parent_id")?;
            depth += 1;
            if next == id {
                violations.add(
                    "actor.parent",
                    format!(
                        "actors/{} would make a cycle of parents",
                        references.parent_id
                    ),
                );
                break;
            }
            if next.is_empty() || depth >= MAX_PARENT_DEPTH {
                break;
            }
            ancestor = next;
        }
    }
    if references.affiliation_id == id {
        violations.add(
            "actor.anonymous.affiliation",
            "must not be the actor itself",
        );
    } else {
        check_actor_exists(
            connection,
            &mut violations,
            "actor.anonymous.affiliation",
            &references.affiliation_id,
        )
        .await?;
    }
    violations.into_result()?;
    Ok(())
}

async fn check_external_ids_free(
    connection: &mut AnyConnection,
    id: &str,
    actor: &Actor,
) -> Result<()> {
    for external in &actor.external_ids {
        let row = sqlx::query("SELECT actor_id FROM actor_external_ids WHERE scheme = $1 AND value = $2 AND actor_id <> $3")
            .bind(i64::from(external.scheme))
            .bind(external.value.as_str())
            .bind(id)
            .fetch_optional(&mut *connection)
            .await?;
        if let Some(row) = row {
            let owner: String = row.try_get("actor_id")?;
            let scheme = chancery_proto::common::v1::ExternalIdScheme::try_from(external.scheme)
                .map(|s| s.as_str_name())
                .unwrap_or("EXTERNAL_ID_SCHEME_UNSPECIFIED");
            return Err(Error::AlreadyExists {
                name: format!("external id {scheme} {}", external.value),
                detail: format!(": it belongs to actors/{owner}"),
            });
        }
    }
    Ok(())
}

async fn insert_external_ids(
    connection: &mut AnyConnection,
    id: &str,
    actor: &Actor,
) -> Result<()> {
    for external in &actor.external_ids {
        sqlx::query("INSERT INTO actor_external_ids (scheme, value, actor_id) VALUES ($1, $2, $3)")
            .bind(i64::from(external.scheme))
            .bind(external.value.as_str())
            .bind(id)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}
