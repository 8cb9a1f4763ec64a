//! The database every service keeps its own data in: SQLite (embedded default) or PostgreSQL,
//! behind one `sqlx::AnyPool`. Stores write portable SQL with `$1`-style parameters, which both
//! backends accept; only the migrations differ per backend.
//!
//! SQLite runs in WAL mode with `synchronous=FULL` (an acknowledged write survives power loss),
//! foreign keys on, and a busy timeout so concurrent writers wait instead of failing.
//!
//! On PostgreSQL a service can keep its tables in a schema of its own, named by the URL's
//! `schema` query parameter (`postgres://db/chancery?schema=actors`, see [`with_schema`]): the
//! schema is created when missing and every connection of the pool gets
//! `SET search_path TO "actors"`, so the same unqualified SQL (and sqlx's `_sqlx_migrations`
//! table) lands in it. Several services can so share one database. Migrations are safe when
//! several replicas start together: sqlx's PostgreSQL migrator holds a session advisory lock
//! (`pg_advisory_lock`, keyed on the database's name) while it applies them, and schema creation
//! runs under a transaction advisory lock.

use std::path::Path;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::errors::Error;

/// Longest wait for a PostgreSQL connection from the pool, reconnecting included. Well under
/// request deadlines, so while the server is down or unreachable a request fails UNAVAILABLE
/// ("the database is unavailable") in about this long instead of running into its deadline.
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file or in-memory database.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A service's migrations, one set per backend, embedded in the binary with `include_str!`
/// (see [`EmbeddedMigration`]): no proc macro reads the migration folders at build time.
pub struct Migrations {
    /// Applied on SQLite, in version order.
    pub sqlite: &'static [EmbeddedMigration],
    /// Applied on PostgreSQL, in version order.
    pub postgres: &'static [EmbeddedMigration],
}

/// One migration compiled into the binary: the number and description its file name carries
/// (`0002_related_communications.sql` is version 2, "related communications", as sqlx names
/// them) and its SQL. sqlx records each applied migration's version and a checksum of its SQL,
/// so a migration must never change once it has shipped: add a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedMigration {
    /// The version, the number the file name starts with.
    pub version: i64,
    /// The description, the rest of the file name with `_` as spaces.
    pub description: &'static str,
    /// The SQL, as `include_str!` reads the file.
    pub sql: &'static str,
}

impl EmbeddedMigration {
    /// A migration of `version` described as `description` running `sql`.
    pub const fn new(version: i64, description: &'static str, sql: &'static str) -> Self {
        Self {
            version,
            description,
            sql,
        }
    }
}

/// Embedded migrations as sqlx reads migrations from a folder.
#[derive(Debug)]
struct EmbeddedSource(&'static [EmbeddedMigration]);

impl sqlx::migrate::MigrationSource<'static> for EmbeddedSource {
    fn resolve(
        self,
    ) -> futures::future::BoxFuture<
        'static,
        Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>,
    > {
        let mut migrations: Vec<sqlx::migrate::Migration> = self
            .0
            .iter()
            .map(|embedded| {
                sqlx::migrate::Migration::new(
                    embedded.version,
                    embedded.description.into(),
                    sqlx::migrate::MigrationType::Simple,
                    embedded.sql.into(),
                    embedded.sql.starts_with("-- no-transaction"),
                )
            })
            .collect();
        migrations.sort_by_key(|migration| migration.version);
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

/// Applies `migrations` (those not yet applied, in version order) on `pool`.
async fn migrate(
    pool: &sqlx::AnyPool,
    migrations: &'static [EmbeddedMigration],
) -> Result<(), sqlx::migrate::MigrateError> {
    Migrator::new(EmbeddedSource(migrations))
        .await?
        .run(pool)
        .await
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database refused or could not be reached.
    #[error("cannot open database {url}: {source}")]
    Connect {
        /// The URL, with any password removed.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("cannot migrate database {url}: {source}")]
    Migrate {
        /// The URL, with any password removed.
        url: String,
        /// The migrator's error.
        source: sqlx::migrate::MigrateError,
    },
    /// The URL's `schema` parameter is not a plain lower-case identifier.
    #[error(
        "invalid schema {schema:?} in database URL {url}: use lower-case letters, digits and _"
    )]
    Schema {
        /// The URL, with any password removed.
        url: String,
        /// The schema asked for.
        schema: String,
    },
    /// The directory of a SQLite file could not be created.
    #[error("cannot create directory {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Database {
    /// The pool; stores run their queries on it.
    pub pool: AnyPool,
    /// The backend behind the pool.
    pub backend: Backend,
    /// The queue of this process's writers: see [`Database::begin_write`].
    writers: Arc<tokio::sync::Mutex<()>>,
}

impl Database {
    /// A database on `pool`, whose writers have not started queuing yet.
    fn new(pool: AnyPool, backend: Backend) -> Self {
        Self {
            pool,
            backend,
            writers: Arc::default(),
        }
    }
}

/// A transaction from [`Database::begin_write`]: the connection it runs on (use it as
/// `&mut tx` or `&mut *tx` wherever an `AnyConnection` goes) and this writer's turn, held
/// until [`commit`](Self::commit) or drop (which rolls back).
#[derive(Debug)]
pub struct WriteTransaction {
    // Declared first so it ends (commits or starts its rollback) before the turn passes on.
    transaction: sqlx::Transaction<'static, sqlx::Any>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTransaction {
    /// Commits, then hands the turn to the next writer.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.transaction.commit().await
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.transaction
    }
}

impl std::ops::DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.transaction
    }
}

impl Database {
    /// Starts a transaction that will write, holding the service's write lock until it ends:
    /// writers of one service run one at a time, so the checks a store makes before writing
    /// (ids free, references present, no cycle, nothing referring to a deleted row) still hold
    /// when it writes. On SQLite that is `BEGIN IMMEDIATE`, which takes the database's write lock
    /// at once (a read-then-write transaction waits for other writers instead of failing when it
    /// upgrades). On PostgreSQL, whose `READ COMMITTED` transactions would otherwise interleave,
    /// it is `BEGIN` and a transaction advisory lock keyed on the schema (`current_schema()`), so
    /// every replica of the service queues on the same lock and other services do not. Reads
    /// never wait for it.
    ///
    /// Before that, the writers of this process queue in turn (first come, first served) on an
    /// async lock, holding no connection while they wait. Without it, each waiting writer held
    /// a pool connection while SQLite's busy handler polled for the lock (sleeping up to 100 ms
    /// between tries, so the lock sat idle and a writer could lose every race until
    /// `busy_timeout` failed it), and a burst of writers took every connection of the pool, so
    /// reads waited too.
    pub async fn begin_write(&self) -> Result<WriteTransaction, sqlx::Error> {
        let turn = self.writers.clone().lock_owned().await;
        let transaction = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut transaction = self.pool.begin().await?;
                // The two-key form: a key space of its own, apart from single-key locks such
                // as the migrator's.
                sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))")
                    .bind(WRITE_LOCK_CLASS)
                    .execute(&mut *transaction)
                    .await?;
                transaction
            }
        };
        Ok(WriteTransaction {
            transaction,
            _turn: turn,
        })
    }
}

/// First key of the PostgreSQL advisory lock that [`Database::begin_write`] takes ("CHNC").
const WRITE_LOCK_CLASS: i32 = 0x4348_4e43;

/// A value bound to a dynamically built query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Int(value)
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(value.to_owned())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(value)
    }
}

/// A query assembled from optional parts (the filters a request sets), with numbered `$n`
/// parameters so it runs on both backends.
#[derive(Debug, Clone, Default)]
pub struct QueryBuilder {
    sql: String,
    args: Vec<Arg>,
}

impl QueryBuilder {
    /// Starts a query with `sql`.
    pub fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Adds a parameter and returns its placeholder (`$n`) to splice into the SQL.
    pub fn arg(&mut self, value: impl Into<Arg>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    /// Adds parameters for an `IN (…)` list and returns the placeholders, comma-separated.
    pub fn args<T: Into<Arg>>(&mut self, values: impl IntoIterator<Item = T>) -> String {
        values
            .into_iter()
            .map(|v| self.arg(v))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Ends a listing ordered by `id`: only ids after `after` (the page token's cursor), at
    /// most `limit` rows.
    pub fn page_by_id(&mut self, after: Option<&str>, limit: usize) -> &mut Self {
        if let Some(after) = after {
            let after = self.arg(after);
            self.push(&format!(" AND id > {after}"));
        }
        let limit = self.arg(limit as i64);
        self.push(&format!(" ORDER BY id LIMIT {limit}"))
    }

    /// The SQL so far.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The query, ready to run.
    pub fn build(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut query = sqlx::query(&self.sql);
        for arg in &self.args {
            query = match arg {
                Arg::Int(value) => query.bind(*value),
                Arg::Text(value) => query.bind(value.as_str()),
            };
        }
        query
    }
}

/// Decodes the `body` column of a row: every store keeps each resource whole, as the encoded
/// message it serves.
pub fn decode_body<M: prost::Message + Default>(row: &sqlx::any::AnyRow) -> Result<M, Error> {
    use sqlx::Row;
    let body: Vec<u8> = row.try_get("body")?;
    Ok(M::decode(body.as_slice())?)
}

/// Reads the resource with `id` from `table` (which has `id` and `body` columns).
pub async fn fetch_body<M: prost::Message + Default>(
    pool: &AnyPool,
    table: &str,
    id: &str,
) -> Result<Option<M>, Error> {
    let row = sqlx::query(&format!("SELECT body FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode_body).transpose()
}

/// Reads many resources of `table` by id in one query; missing ids are absent from the map.
pub async fn fetch_bodies<M: prost::Message + Default>(
    pool: &AnyPool,
    table: &str,
    ids: impl IntoIterator<Item = &str>,
) -> Result<std::collections::HashMap<String, M>, Error> {
    use sqlx::Row;
    let unique: std::collections::BTreeSet<&str> = ids.into_iter().collect();
    if unique.is_empty() {
        return Ok(Default::default());
    }
    let mut query = QueryBuilder::new(&format!("SELECT id, body FROM {table} WHERE id IN ("));
    let list = query.args(unique);
    query.push(&list).push(")");
    let rows = query.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("id")?, decode_body(row)?)))
        .collect()
}

/// The etag of a stored revision.
pub fn etag(revision: i64) -> String {
    revision.to_string()
}

/// `$first, $first+1, …` for `count` parameters, to build `IN (…)` lists.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Removes the password from a URL for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..scheme_end], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Opens the database at `url` and applies the service's migrations. A `sqlite://PATH` file and
/// its directory are created when missing; `sqlite::memory:` gives a private in-memory database.
pub async fn connect(url: &str, migrations: &Migrations) -> Result<Database, DbError> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);

    let redacted = redact(url);
    let connect_error = |source| DbError::Connect {
        url: redacted.clone(),
        source,
    };
    let (database, migrator) = if url.starts_with("sqlite:") {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let url = if in_memory {
            url.to_owned()
        } else {
            prepare_sqlite_file(url)?
        };
        // One connection for an in-memory database: each connection would otherwise get its own.
        let options = AnyPoolOptions::new()
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|connection, _meta| {
                Box::pin(async move {
                    connection
                        .execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    Ok(())
                })
            });
        let pool = options.connect(&url).await.map_err(connect_error)?;
        (Database::new(pool, Backend::Sqlite), migrations.sqlite)
    } else {
        let (url, schema) = split_schema(url);
        let mut options = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT);
        if let Some(schema) = schema {
            if !is_plain_identifier(&schema) {
                return Err(DbError::Schema {
                    url: redacted.clone(),
                    schema,
                });
            }
            create_schema(&url, &schema).await.map_err(connect_error)?;
            let set_search_path = format!("SET search_path TO \"{schema}\"");
            options = options.after_connect(move |connection, _meta| {
                let set_search_path = set_search_path.clone();
                Box::pin(async move {
                    connection.execute(set_search_path.as_str()).await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await.map_err(connect_error)?;
        (Database::new(pool, Backend::Postgres), migrations.postgres)
    };
    migrate(&database.pool, migrator)
        .await
        .map_err(|source| DbError::Migrate {
            url: redacted.clone(),
            source,
        })?;
    Ok(database)
}

/// The query parameter of a PostgreSQL URL that names the schema a service keeps its tables in.
pub const SCHEMA_PARAMETER: &str = "schema";

/// `url` with its tables in `schema`: adds (or replaces) the `schema` query parameter of a
/// PostgreSQL URL. SQLite URLs are returned unchanged: each SQLite database is its own file.
pub fn with_schema(url: &str, schema: &str) -> String {
    if url.starts_with("sqlite:") {
        return url.to_owned();
    }
    let (base, _) = split_schema(url);
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{SCHEMA_PARAMETER}={schema}")
}

/// Splits the `schema` query parameter off a PostgreSQL URL (the driver does not know it).
fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((SCHEMA_PARAMETER, value)) => schema = Some(value.to_owned()),
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (url, schema)
}

/// Whether `name` can be a schema without quoting tricks: `[a-z_][a-z0-9_]*`, at most 63 bytes.
fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63
}

/// Creates `schema` in the database at `url` unless it exists. An existing schema needs no
/// privilege beyond USAGE (an operator may create it beforehand); creation runs under a
/// transaction advisory lock, as concurrent `CREATE SCHEMA IF NOT EXISTS` can otherwise fail
/// on PostgreSQL's unique index.
async fn create_schema(url: &str, schema: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    /// Key of the advisory lock taken while creating a schema ("chancery" in ASCII).
    const SCHEMA_LOCK: i64 = 0x6368_616e_6365_7279;
    let exists = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1";
    let mut connection = sqlx::AnyConnection::connect(url).await?;
    let found = sqlx::query(exists)
        .bind(schema)
        .fetch_optional(&mut connection)
        .await?;
    if found.is_none() {
        let mut transaction = connection.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *transaction)
            .await?;
        let found = sqlx::query(exists)
            .bind(schema)
            .fetch_optional(&mut *transaction)
            .await?;
        if found.is_none() {
            transaction
                .execute(format!("CREATE SCHEMA \"{schema}\"").as_str())
                .await?;
        }
        transaction.commit().await?;
    }
    connection.close().await
}

/// Creates the directory of a SQLite file and asks SQLite to create the file when missing.
fn prepare_sqlite_file(url: &str) -> Result<String, DbError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| DbError::Directory {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Whether an error means the database itself is out of reach (pool exhausted, connection lost),
/// which callers report as UNAVAILABLE rather than INTERNAL.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed
    ) || matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("5") || db.code().as_deref() == Some("57P01"))
}

/// Whether an error is a unique-constraint violation.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A database error as the error of a handler or store: a unique-constraint violation is
/// [`Error::Duplicate`], an unreachable database [`Error::Unavailable`], anything else
/// [`Error::Internal`]. It lives here, not in `errors`, so that `errors` stays a leaf module.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if is_unique_violation(&error) {
            Error::Duplicate(error.to_string())
        } else if is_unavailable(&error) {
            Error::Unavailable(error)
        } else {
            Error::Internal(format!("database: {error}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_helpers() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        let mut query = QueryBuilder::new("SELECT 1 FROM t WHERE a = ");
        let a = query.arg(5);
        query.push(&a).push(" AND b IN (");
        let list = query.args(["x", "y"]);
        query.push(&list).push(")");
        assert_eq!(
            query.sql(),
            "SELECT 1 FROM t WHERE a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact("postgres://chancery:s3cret@db:5432/x"),
            "postgres://chancery:***@db:5432/x"
        );
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
        assert_eq!(redact("sqlite://data/actors.db"), "sqlite://data/actors.db");
    }

    #[test]
    fn schemas_are_a_url_parameter() {
        assert_eq!(
            with_schema("postgres://db/chancery", "actors"),
            "postgres://db/chancery?schema=actors"
        );
        assert_eq!(
            with_schema("postgres://db/chancery?sslmode=require&schema=x", "gateway"),
            "postgres://db/chancery?sslmode=require&schema=gateway"
        );
        assert_eq!(with_schema("sqlite://a.db", "actors"), "sqlite://a.db");
        assert_eq!(
            split_schema("postgres://db/c?schema=actors&sslmode=disable"),
            (
                "postgres://db/c?sslmode=disable".to_owned(),
                Some("actors".to_owned())
            )
        );
        assert_eq!(
            split_schema("postgres://db/c"),
            ("postgres://db/c".to_owned(), None)
        );
        assert!(is_plain_identifier("statements_2"));
        assert!(!is_plain_identifier("Actors"));
        assert!(!is_plain_identifier("a\"; DROP"));
        assert!(!is_plain_identifier(""));
        assert!(!is_plain_identifier("1x"));
    }

    /// While one writer holds its transaction and twelve more (more than the pool's eight
    /// connections) queue behind it, a read still gets a connection at once, and the queued
    /// writers then write in the order they came.
    #[tokio::test]
    async fn queued_writers_hold_no_connection_and_write_in_turn() {
        static NONE: [EmbeddedMigration; 0] = [];
        let dir = std::env::temp_dir().join(format!(
            "chancery-db-writers-{}-{}",
            std::process::id(),
            crate::time::now_micros()
        ));
        let url = format!("sqlite://{}/writers.db", dir.display());
        let migrations = Migrations {
            sqlite: &NONE,
            postgres: &NONE,
        };
        let db = connect(&url, &migrations)
            .await
            .expect("a SQLite file opens");
        sqlx::query("CREATE TABLE log (n INTEGER NOT NULL)")
            .execute(&db.pool)
            .await
            .expect("a table");

        let first = db.begin_write().await.expect("the first writer");
        let mut queued = Vec::new();
        for n in 0..12_i64 {
            let db = db.clone();
            queued.push(tokio::spawn(async move {
                let mut tx = db.begin_write().await?;
                sqlx::query("INSERT INTO log (n) VALUES ($1)")
                    .bind(n)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }));
            // Lets this writer take its place in the queue before the next one comes.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let read = tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query("SELECT COUNT(*) AS n FROM log").fetch_one(&db.pool),
        )
        .await;
        match read {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("the read failed: {error}"),
            Err(_) => panic!("a read waited over 2 s for a connection behind queued writers"),
        }

        drop(first);
        for writer in queued {
            writer
                .await
                .expect("a writer task")
                .expect("each queued writer writes");
        }
        let order: Vec<i64> = sqlx::query("SELECT n FROM log ORDER BY rowid")
            .fetch_all(&db.pool)
            .await
            .expect("the log")
            .iter()
            .map(|row| sqlx::Row::get(row, "n"))
            .collect();
        assert_eq!(order, (0..12).collect::<Vec<i64>>());
        db.pool.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn sqlite_files_are_created_when_missing() {
        assert_eq!(
            prepare_sqlite_file("sqlite://x.db").unwrap(),
            "sqlite://x.db?mode=rwc"
        );
        assert_eq!(
            prepare_sqlite_file("sqlite://x.db?cache=private").unwrap(),
            "sqlite://x.db?cache=private&mode=rwc"
        );
        assert_eq!(
            prepare_sqlite_file("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
    }
}
