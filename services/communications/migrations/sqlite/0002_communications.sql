-- Communications. Each is kept whole, status log included, as its encoded protobuf message in
-- `body`; the columns beside it are projections that filters, ordering and constraints need.
-- An empty string means "none" in reference columns, so every column is NOT NULL.

CREATE TABLE communications (
    id            TEXT    NOT NULL PRIMARY KEY,
    kind          INTEGER NOT NULL,
    -- computed from the status log on every write
    lifecycle     INTEGER NOT NULL,
    verification  INTEGER NOT NULL,
    -- bounds of the communication's date (`occurred`, else `planned`), microseconds since the
    -- epoch, inclusive; lists are ordered by (date_earliest, date_latest, id)
    date_earliest INTEGER NOT NULL,
    date_latest   INTEGER NOT NULL,
    previous_id   TEXT    NOT NULL,
    revision      INTEGER NOT NULL,
    create_time   INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
    body          BLOB    NOT NULL
);
CREATE INDEX communications_by_date ON communications (date_earliest, date_latest, id);
CREATE INDEX communications_by_kind ON communications (kind, date_earliest, date_latest, id);
CREATE INDEX communications_by_lifecycle ON communications (lifecycle, date_earliest, date_latest, id);
CREATE INDEX communications_by_verification ON communications (verification, date_earliest, date_latest, id);
CREATE INDEX communications_by_previous ON communications (previous_id);

-- Who takes part in which communication, for the participant and pair filters.
CREATE TABLE communication_participants (
    communication_id TEXT    NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
    actor_id         TEXT    NOT NULL,
    PRIMARY KEY (communication_id, actor_id)
);
CREATE INDEX communication_participants_by_actor ON communication_participants (actor_id, communication_id);

-- Which topics each communication treats, for the topic filter.
CREATE TABLE communication_topics (
    communication_id TEXT    NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
    topic_id         TEXT    NOT NULL,
    PRIMARY KEY (communication_id, topic_id)
);
CREATE INDEX communication_topics_by_topic ON communication_topics (topic_id, communication_id);
