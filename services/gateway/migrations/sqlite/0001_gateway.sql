-- Episodes. Each is kept whole as its encoded protobuf message in `body`; `episode_members`
-- lists its members, actors of interest and tags so ListEpisodes can filter on them.

CREATE TABLE episodes (
    id          TEXT    NOT NULL PRIMARY KEY,
    revision    INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    body        BLOB    NOT NULL
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
    response    BLOB    NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (method, request_id)
);
