//! Storage of episodes on SQLite or PostgreSQL (see `chancery_runtime::db`). An episode is kept
//! whole in `body`; `episode_members` mirrors its members and tags for filtering, rewritten in
//! the same transaction as every write.
//!
//! One method per RPC it serves, named after it: [`Store::get_episode`] (`GetEpisode`, and
//! the reads of the other RPCs), [`Store::list_episodes`], [`Store::create_episode`] (with
//! [`Store::replayed`] for retried creates), [`Store::update_episode`] (`UpdateEpisode`,
//! `AddEpisodeMembers` and `RemoveEpisodeMembers`, which differ only in the change they
//! apply), [`Store::delete_episode`], and [`Store::put_episode`] for `ImportBundle`.

use chancery_proto::gateway::v1::Episode;
use chancery_runtime::db::{Database, QueryBuilder, decode_body, etag, fetch_body};
use chancery_runtime::errors::{Error, Result};
use chancery_runtime::idempotency::{RequestKey, record_response, replay, settle_create};
use chancery_runtime::metrics::time_store;
use chancery_runtime::time::{now_micros, timestamp_from_micros};
use prost::Message;
use sqlx::{AnyConnection, Row};

/// What a write did to an episode, for imports that count their effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The episode did not exist and was created.
    Created,
    /// The episode existed exactly as given.
    Unchanged,
    /// The episode existed and was replaced.
    Updated,
}

/// The store of the gateway.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

/// The rows of `episode_members` for an episode: every member name and `tag:{tag}`.
fn members_of(episode: &Episode) -> Vec<String> {
    let mut members: Vec<String> = episode
        .communications
        .iter()
        .chain(&episode.statements)
        .chain(&episode.actors_of_interest)
        .chain(&episode.other_actors)
        .cloned()
        .chain(episode.tags.iter().map(|tag| format!("tag:{tag}")))
        .collect();
    members.sort();
    members.dedup();
    members
}

async fn write_members(connection: &mut AnyConnection, id: &str, episode: &Episode) -> Result<()> {
    sqlx::query("DELETE FROM episode_members WHERE episode_id = $1")
        .bind(id)
        .execute(&mut *connection)
        .await?;
    for member in members_of(episode) {
        sqlx::query("INSERT INTO episode_members (episode_id, member) VALUES ($1, $2)")
            .bind(id)
            .bind(member)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// The fields a client sets: an episode without its output-only fields, for comparisons.
pub fn client_fields(episode: &Episode) -> Episode {
    Episode {
        name: String::new(),
        create_time: None,
        update_time: None,
        etag: String::new(),
        ..episode.clone()
    }
}

impl Store {
    /// A store on an opened, migrated database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// `GetEpisode`: one episode by id.
    pub async fn get_episode(&self, id: &str) -> Result<Option<Episode>> {
        time_store("get_episode", async {
            fetch_body(&self.db.pool, "episodes", id).await
        })
        .await
    }

    /// `ListEpisodes`: a page of episodes ordered by id that have every one of `members`
    /// (resource names or `tag:{tag}`); all episodes when `members` is empty.
    pub async fn list_episodes(
        &self,
        members: &[&str],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Episode>> {
        time_store("list_episodes", async {
            let mut query = QueryBuilder::new("SELECT body FROM episodes WHERE 1 = 1");
            for member in members {
                let member = query.arg(*member);
                query.push(&format!(
                    " AND id IN (SELECT episode_id FROM episode_members WHERE member = {member})"
                ));
            }
            query.page_by_id(after, limit);
            let rows = query.build().fetch_all(&self.db.pool).await?;
            rows.iter().map(decode_body).collect()
        })
        .await
    }

    /// The response recorded for a create with this request id, when the same request was
    /// served before; [`Error::RequestIdReused`] when the id came with another request. Lets a
    /// retry be answered before the members are checked again.
    pub async fn replayed(&self, request: Option<&RequestKey>) -> Result<Option<Episode>> {
        time_store("replayed", async {
            if request.is_none() {
                return Ok(None);
            }
            let mut connection = self.db.pool.acquire().await?;
            replay(&mut connection, request).await
        })
        .await
    }

    /// `CreateEpisode`: creates an episode whose fields and members were checked.
    pub async fn create_episode(
        &self,
        id: &str,
        episode: Episode,
        request: Option<&RequestKey>,
    ) -> Result<Episode> {
        time_store("create_episode", async {
            let outcome = self.try_create_episode(id, episode, request).await;
            settle_create(&self.db.pool, outcome, request, format!("episodes/{id}")).await
        })
        .await
    }

    async fn try_create_episode(
        &self,
        id: &str,
        mut episode: Episode,
        request: Option<&RequestKey>,
    ) -> Result<Episode> {
        let mut tx = self.db.begin_write().await?;
        if let Some(replayed) = replay(&mut tx, request).await? {
            return Ok(replayed);
        }
        let name = format!("episodes/{id}");
        if sqlx::query("SELECT 1 FROM episodes WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some()
        {
            return Err(Error::AlreadyExists {
                name,
                detail: String::new(),
            });
        }
        let now = now_micros();
        episode.name = name;
        episode.create_time = Some(timestamp_from_micros(now));
        episode.update_time = episode.create_time;
        episode.etag = etag(1);
        sqlx::query("INSERT INTO episodes (id, revision, create_time, update_time, body) VALUES ($1, 1, $2, $2, $3)")
            .bind(id)
            .bind(now)
            .bind(episode.encode_to_vec())
            .execute(&mut *tx)
            .await?;
        write_members(&mut tx, id, &episode).await?;
        record_response(&mut tx, request, &episode).await?;
        tx.commit().await?;
        Ok(episode)
    }

    /// `UpdateEpisode`, `AddEpisodeMembers`, `RemoveEpisodeMembers`: replaces an episode with
    /// `change(current)`; a non-empty `expected_etag` must match.
    /// `change` returns `None` to leave the episode as it is (nothing is written).
    pub async fn update_episode(
        &self,
        id: &str,
        expected_etag: &str,
        change: impl FnOnce(Episode) -> Result<Option<Episode>>,
    ) -> Result<Episode> {
        time_store("update_episode", async {
        let mut tx = self.db.begin_write().await?;
        let name = format!("episodes/{id}");
        let row = sqlx::query("SELECT revision, body FROM episodes WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::NotFound(name.clone()))?;
        let revision: i64 = row.try_get("revision")?;
        if !expected_etag.is_empty() && expected_etag != etag(revision) {
            return Err(Error::EtagMismatch(name));
        }
        let current: Episode = decode_body(&row)?;
        let Some(mut episode) = change(current.clone())? else {
            return Ok(current);
        };
        let now = now_micros();
        episode.name = name.clone();
        episode.create_time = current.create_time;
        episode.update_time = Some(timestamp_from_micros(now));
        episode.etag = etag(revision + 1);
        let updated = sqlx::query(
            "UPDATE episodes SET revision = $1, update_time = $2, body = $3 WHERE id = $4 AND revision = $5",
        )
        .bind(revision + 1)
        .bind(now)
        .bind(episode.encode_to_vec())
        .bind(id)
        .bind(revision)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(Error::EtagMismatch(name));
        }
        write_members(&mut tx, id, &episode).await?;
        tx.commit().await?;
        Ok(episode)
        })
        .await
    }

    /// `ImportBundle`: creates the episode, or replaces it when it differs; reports which.
    pub async fn put_episode(&self, id: &str, episode: Episode) -> Result<(Episode, Outcome)> {
        time_store("put_episode", async {
            match self.get_episode(id).await? {
                None => {
                    let created = self.create_episode(id, episode, None).await?;
                    Ok((created, Outcome::Created))
                }
                Some(current) if client_fields(&current) == client_fields(&episode) => {
                    Ok((current, Outcome::Unchanged))
                }
                Some(current) => {
                    let updated = self
                        .update_episode(id, &current.etag, |_| Ok(Some(client_fields(&episode))))
                        .await?;
                    Ok((updated, Outcome::Updated))
                }
            }
        })
        .await
    }

    /// `DeleteEpisode`: deletes an episode; a non-empty `expected_etag` must match.
    pub async fn delete_episode(&self, id: &str, expected_etag: &str) -> Result<()> {
        time_store("delete_episode", async {
            let mut tx = self.db.begin_write().await?;
            let name = format!("episodes/{id}");
            let revision: i64 = sqlx::query("SELECT revision FROM episodes WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::NotFound(name.clone()))?
                .try_get("revision")?;
            if !expected_etag.is_empty() && expected_etag != etag(revision) {
                return Err(Error::EtagMismatch(name));
            }
            for sql in [
                "DELETE FROM episode_members WHERE episode_id = $1",
                "DELETE FROM episodes WHERE id = $1",
            ] {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_cover_every_list_and_the_tags_once() {
        let episode = Episode {
            communications: vec!["communications/b".into(), "communications/a".into()],
            statements: vec!["statements/s".into()],
            actors_of_interest: vec!["actors/x".into(), "actors/x".into()],
            tags: vec!["ukraine".into()],
            ..Default::default()
        };
        assert_eq!(
            members_of(&episode),
            [
                "actors/x",
                "communications/a",
                "communications/b",
                "statements/s",
                "tag:ukraine"
            ]
        );
    }
}
