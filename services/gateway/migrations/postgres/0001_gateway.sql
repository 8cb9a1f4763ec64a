-- Episodes. Each is kept whole as its encoded protobuf message in `body`; `episode_members`
-- lists its members, actors of interest and tags so ListEpisodes can filter on them.

CREATE TABLE episodes (
    id          TEXT    NOT NULL PRIMARY KEY,
    revision    BIGINT  NOT NULL,
    create_time BIGINT  NOT NULL,
    update_time BIGINT  NOT NULL,
    body        BYTEA   NOT NULL
);

-- member: a resource name (`communications/…`, `statements/…`, `actors/…`) or `tag:{tag}`.
CREATE TABLE episode_members (
    episode_id TEXT NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    member     TEXT NOT NULL,
    PRIMARY KEY (episode_id, member)
);
CREATE INDEX episode_members_by_member ON episode_members (member, episode_id);

-- Creates that carried a request id, with the response they got: a retry gets the same answer.
CREATE TABLE create_requests (
    method      TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    response    BYTEA   NOT NULL,
    create_time BIGINT  NOT NULL,
    PRIMARY KEY (method, request_id)
);
