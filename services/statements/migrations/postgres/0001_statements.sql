-- Statements and the source documents they were read in. Each resource is kept whole as its
-- encoded protobuf message in `body`; the columns beside it are projections that filters,
-- ordering and constraints need. An empty string means "none" in reference columns, so every
-- column is NOT NULL. Actors and communications live in other services: their ids here are
-- checked on write, never constrained by foreign keys.

CREATE TABLE documents (
    id           TEXT    NOT NULL PRIMARY KEY,
    publisher_id TEXT    NOT NULL,
    revision     BIGINT  NOT NULL,
    create_time  BIGINT  NOT NULL,
    body         BYTEA   NOT NULL
);
CREATE INDEX documents_by_publisher ON documents (publisher_id, id);

-- `said_earliest` and `said_latest` are the bounds of the fuzzy date `said`, in microseconds
-- since the epoch; lists are ordered by (said_earliest, said_latest, id).
CREATE TABLE statements (
    id                TEXT    NOT NULL PRIMARY KEY,
    speaker_id        TEXT    NOT NULL,
    communication_id  TEXT    NOT NULL,
    readout_issuer_id TEXT    NOT NULL,
    in_reply_to_id    TEXT    NOT NULL,
    speech_act        BIGINT  NOT NULL,
    channel           BIGINT  NOT NULL,
    content_mode      BIGINT  NOT NULL,
    said_earliest     BIGINT  NOT NULL,
    said_latest       BIGINT  NOT NULL,
    revision          BIGINT  NOT NULL,
    create_time       BIGINT  NOT NULL,
    update_time       BIGINT  NOT NULL,
    body              BYTEA   NOT NULL
);
CREATE INDEX statements_by_said ON statements (said_earliest, said_latest, id);
CREATE INDEX statements_by_communication
    ON statements (communication_id, readout_issuer_id, said_earliest, said_latest, id);
CREATE INDEX statements_by_readout_issuer ON statements (readout_issuer_id);
CREATE INDEX statements_by_in_reply_to ON statements (in_reply_to_id);

-- Every actor a statement names, with the part it plays: speaker, co_speaker, on_behalf_of,
-- addressee, about, readout_issuer or reporter.
CREATE TABLE statement_actors (
    statement_id TEXT NOT NULL REFERENCES statements (id) ON DELETE CASCADE,
    actor_id     TEXT NOT NULL,
    role         TEXT NOT NULL,
    PRIMARY KEY (statement_id, actor_id, role)
);
CREATE INDEX statement_actors_by_actor ON statement_actors (actor_id, role, statement_id);

CREATE TABLE statement_topics (
    statement_id TEXT NOT NULL REFERENCES statements (id) ON DELETE CASCADE,
    topic_id     TEXT NOT NULL,
    PRIMARY KEY (statement_id, topic_id)
);
CREATE INDEX statement_topics_by_topic ON statement_topics (topic_id, statement_id);

-- The documents of a statement's attribution chain and readout.
CREATE TABLE statement_documents (
    statement_id TEXT NOT NULL REFERENCES statements (id) ON DELETE CASCADE,
    document_id  TEXT NOT NULL REFERENCES documents (id),
    PRIMARY KEY (statement_id, document_id)
);
CREATE INDEX statement_documents_by_document ON statement_documents (document_id);

-- Creates that carried a request id, with the response they got: a retry gets the same answer.
CREATE TABLE create_requests (
    method      TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    response    BYTEA   NOT NULL,
    create_time BIGINT  NOT NULL,
    PRIMARY KEY (method, request_id)
);
