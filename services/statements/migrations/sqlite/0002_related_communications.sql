-- The further communications a statement is about (`related_communications`), beyond the one
-- in `statements.communication_id`: listing by a communication matches either. Ids of another
-- service, checked on write, never constrained by a foreign key.
CREATE TABLE statement_related_communications (
    statement_id     TEXT NOT NULL REFERENCES statements (id) ON DELETE CASCADE,
    communication_id TEXT NOT NULL,
    PRIMARY KEY (statement_id, communication_id)
);
CREATE INDEX statement_related_communications_by_communication
    ON statement_related_communications (communication_id, statement_id);

-- From this migration on, `statement_actors.role` also records the speakers and addressees of
-- speech a statement relays (`relayed_speaker`, `relayed_addressee`, at any level); a speaker
-- filter matches only `speaker` and `co_speaker`.
