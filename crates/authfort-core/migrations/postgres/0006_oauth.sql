-- OAuth sign-ins in progress. Only the SHA-256 of `state` and of the browser-binding cookie
-- value are stored; the PKCE verifier and the nonce never leave the server. A row is consumed
-- by one conditional UPDATE (single use, exactly one winner).
CREATE TABLE authfort_oauth_states (
    id            UUID         PRIMARY KEY,
    state_hash    VARCHAR(64)  NOT NULL,
    binding_hash  VARCHAR(64)  NOT NULL,
    provider      VARCHAR(50)  NOT NULL,
    pkce_verifier VARCHAR(128) NOT NULL,
    nonce         VARCHAR(128) NOT NULL,
    redirect_to   TEXT,
    mode          VARCHAR(20),
    expires_at    TIMESTAMPTZ  NOT NULL,
    created_at    TIMESTAMPTZ  NOT NULL,
    consumed_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX ix_authfort_oauth_states_state_hash ON authfort_oauth_states (state_hash);
CREATE INDEX ix_authfort_oauth_states_expires_at ON authfort_oauth_states (expires_at);
