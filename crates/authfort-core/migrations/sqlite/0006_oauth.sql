-- OAuth sign-ins in progress. Only the SHA-256 of `state` and of the browser-binding cookie
-- value are stored; the PKCE verifier and the nonce never leave the server. A row is consumed
-- by one conditional UPDATE (single use, exactly one winner).
CREATE TABLE authfort_oauth_states (
    id            BLOB    PRIMARY KEY NOT NULL,
    state_hash    TEXT    NOT NULL,
    binding_hash  TEXT    NOT NULL,
    provider      TEXT    NOT NULL,
    pkce_verifier TEXT    NOT NULL,
    nonce         TEXT    NOT NULL,
    redirect_to   TEXT,
    mode          TEXT,
    expires_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    consumed_at   INTEGER
);
CREATE UNIQUE INDEX ix_authfort_oauth_states_state_hash ON authfort_oauth_states (state_hash);
CREATE INDEX ix_authfort_oauth_states_expires_at ON authfort_oauth_states (expires_at);
