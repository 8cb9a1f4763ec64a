-- Creates that carried a request id, with the response they got: a retry gets the same answer.
CREATE TABLE create_requests (
    method      TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    response    BLOB    NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (method, request_id)
);
