-- Actors, posts and tenures. Each resource is kept whole as its encoded protobuf message in
-- `body`; the columns beside it are projections that filters, ordering and constraints need.
-- An empty string means "none" in reference columns, so every column is NOT NULL.

CREATE TABLE actors (
    id             TEXT    NOT NULL PRIMARY KEY,
    kind           INTEGER NOT NULL,
    country        TEXT    NOT NULL,
    parent_id      TEXT    NOT NULL,
    affiliation_id TEXT    NOT NULL,
    -- display name, every other name and the anonymous descriptor, case- and accent-folded,
    -- separated by U+001F so a search never matches across two names
    search_text    TEXT    NOT NULL,
    revision       INTEGER NOT NULL,
    create_time    INTEGER NOT NULL,
    update_time    INTEGER NOT NULL,
    body           BLOB    NOT NULL
);
CREATE INDEX actors_by_kind ON actors (kind, id);
CREATE INDEX actors_by_country ON actors (country, id);
CREATE INDEX actors_by_parent ON actors (parent_id, id);
CREATE INDEX actors_by_affiliation ON actors (affiliation_id);

-- An external id (scheme, value) names one actor only.
CREATE TABLE actor_external_ids (
    scheme   INTEGER NOT NULL,
    value    TEXT    NOT NULL,
    actor_id TEXT    NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    PRIMARY KEY (scheme, value)
);
CREATE INDEX actor_external_ids_by_actor ON actor_external_ids (actor_id);

CREATE TABLE posts (
    id              TEXT    NOT NULL PRIMARY KEY,
    post_class      INTEGER NOT NULL,
    organization_id TEXT    NOT NULL,
    country         TEXT    NOT NULL,
    revision        INTEGER NOT NULL,
    create_time     INTEGER NOT NULL,
    body            BLOB    NOT NULL
);
CREATE INDEX posts_by_organization ON posts (organization_id, id);
CREATE INDEX posts_by_class ON posts (post_class, id);

-- Bounds are microseconds since the epoch; an open end is stored as the largest integer.
CREATE TABLE tenures (
    actor_id        TEXT    NOT NULL REFERENCES actors (id),
    id              TEXT    NOT NULL,
    post_id         TEXT    NOT NULL REFERENCES posts (id),
    on_behalf_of_id TEXT    NOT NULL,
    start_earliest  INTEGER NOT NULL,
    start_latest    INTEGER NOT NULL,
    end_earliest    INTEGER NOT NULL,
    end_latest      INTEGER NOT NULL,
    revision        INTEGER NOT NULL,
    create_time     INTEGER NOT NULL,
    body            BLOB    NOT NULL,
    PRIMARY KEY (actor_id, id)
);
CREATE INDEX tenures_by_actor_start ON tenures (actor_id, start_earliest, id);
CREATE INDEX tenures_by_start ON tenures (start_earliest, actor_id, id);
CREATE INDEX tenures_by_post ON tenures (post_id);
CREATE INDEX tenures_by_on_behalf_of ON tenures (on_behalf_of_id);

-- Creates that carried a request id, with the response they got: a retry gets the same answer.
CREATE TABLE create_requests (
    method      TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    response    BLOB    NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (method, request_id)
);
