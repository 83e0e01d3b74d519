CREATE TABLE authfort_users (
    id             UUID         PRIMARY KEY,
    email          VARCHAR(255) NOT NULL,
    email_verified BOOLEAN      NOT NULL DEFAULT FALSE,
    name           VARCHAR(255),
    avatar_url     TEXT,
    phone          VARCHAR(50),
    password_hash  VARCHAR(255),
    token_version  BIGINT       NOT NULL DEFAULT 0,
    banned         BOOLEAN      NOT NULL DEFAULT FALSE,
    is_deleted     BOOLEAN      NOT NULL DEFAULT FALSE,
    deleted_at     TIMESTAMPTZ,
    created_at     TIMESTAMPTZ  NOT NULL,
    updated_at     TIMESTAMPTZ  NOT NULL
);
CREATE UNIQUE INDEX ix_authfort_users_email ON authfort_users (email);

CREATE TABLE authfort_accounts (
    id                  UUID        PRIMARY KEY,
    user_id             UUID        NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    provider            VARCHAR(50) NOT NULL,
    provider_account_id VARCHAR(255),
    access_token        TEXT,
    refresh_token       TEXT,
    expires_at          TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (provider, provider_account_id)
);
CREATE INDEX ix_authfort_accounts_user_id ON authfort_accounts (user_id);

CREATE TABLE authfort_user_roles (
    id         UUID        PRIMARY KEY,
    user_id    UUID        NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    role       VARCHAR(50) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, role)
);

CREATE TABLE authfort_sessions (
    id         UUID        PRIMARY KEY,
    user_id    UUID        NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    ip_address VARCHAR(45),
    user_agent TEXT,
    amr        TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX ix_authfort_sessions_user_id ON authfort_sessions (user_id);
CREATE INDEX ix_authfort_sessions_expires_at ON authfort_sessions (expires_at);

CREATE TABLE authfort_refresh_tokens (
    id          UUID         PRIMARY KEY,
    user_id     UUID         NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    session_id  UUID         NOT NULL REFERENCES authfort_sessions (id) ON DELETE CASCADE,
    token_hash  VARCHAR(255) NOT NULL,
    expires_at  TIMESTAMPTZ  NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL,
    revoked     BOOLEAN      NOT NULL DEFAULT FALSE,
    revoked_at  TIMESTAMPTZ,
    replaced_by UUID
);
CREATE UNIQUE INDEX ix_authfort_refresh_tokens_token_hash ON authfort_refresh_tokens (token_hash);
CREATE INDEX ix_authfort_refresh_tokens_session_id ON authfort_refresh_tokens (session_id);
CREATE INDEX ix_authfort_refresh_tokens_user_id_revoked ON authfort_refresh_tokens (user_id, revoked);

CREATE TABLE authfort_signing_keys (
    id          UUID         PRIMARY KEY,
    kid         VARCHAR(255) NOT NULL,
    private_key TEXT         NOT NULL,
    public_key  TEXT         NOT NULL,
    algorithm   VARCHAR(10)  NOT NULL,
    is_current  BOOLEAN      NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ  NOT NULL,
    expires_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX ix_authfort_signing_keys_kid ON authfort_signing_keys (kid);
CREATE UNIQUE INDEX ux_authfort_signing_keys_current ON authfort_signing_keys (is_current) WHERE is_current;
