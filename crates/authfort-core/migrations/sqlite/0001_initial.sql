-- Ids are UUIDs (16-byte BLOBs); times are integer microseconds since the Unix epoch (UTC).
CREATE TABLE authfort_users (
    id             BLOB    PRIMARY KEY NOT NULL,
    email          TEXT    NOT NULL,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    name           TEXT,
    avatar_url     TEXT,
    phone          TEXT,
    password_hash  TEXT,
    token_version  INTEGER NOT NULL DEFAULT 0,
    banned         BOOLEAN NOT NULL DEFAULT FALSE,
    is_deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at     INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX ix_authfort_users_email ON authfort_users (email);

CREATE TABLE authfort_accounts (
    id                  BLOB PRIMARY KEY NOT NULL,
    user_id             BLOB NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    provider            TEXT NOT NULL,
    provider_account_id TEXT,
    access_token        TEXT,
    refresh_token       TEXT,
    expires_at          INTEGER,
    created_at          INTEGER NOT NULL,
    UNIQUE (provider, provider_account_id)
);
CREATE INDEX ix_authfort_accounts_user_id ON authfort_accounts (user_id);

CREATE TABLE authfort_user_roles (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, role)
);

CREATE TABLE authfort_sessions (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    amr        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX ix_authfort_sessions_user_id ON authfort_sessions (user_id);
CREATE INDEX ix_authfort_sessions_expires_at ON authfort_sessions (expires_at);

CREATE TABLE authfort_refresh_tokens (
    id          BLOB    PRIMARY KEY NOT NULL,
    user_id     BLOB    NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    session_id  BLOB    NOT NULL REFERENCES authfort_sessions (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked     BOOLEAN NOT NULL DEFAULT FALSE,
    revoked_at  INTEGER,
    replaced_by BLOB
);
CREATE UNIQUE INDEX ix_authfort_refresh_tokens_token_hash ON authfort_refresh_tokens (token_hash);
CREATE INDEX ix_authfort_refresh_tokens_session_id ON authfort_refresh_tokens (session_id);
CREATE INDEX ix_authfort_refresh_tokens_user_id_revoked ON authfort_refresh_tokens (user_id, revoked);

CREATE TABLE authfort_signing_keys (
    id          BLOB    PRIMARY KEY NOT NULL,
    kid         TEXT    NOT NULL,
    private_key TEXT    NOT NULL,
    public_key  TEXT    NOT NULL,
    algorithm   TEXT    NOT NULL,
    is_current  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
);
CREATE UNIQUE INDEX ix_authfort_signing_keys_kid ON authfort_signing_keys (kid);
-- At most one current key, so processes racing at first start agree on one.
CREATE UNIQUE INDEX ux_authfort_signing_keys_current ON authfort_signing_keys (is_current) WHERE is_current = TRUE;
