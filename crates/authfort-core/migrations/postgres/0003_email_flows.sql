-- Email one-time codes. Only an HMAC of the code (keyed by the server's secret_key, which is
-- not in the database) is stored; codes are looked up by address, never globally by code.
-- user_id is NULL for a passwordless-signup code: the account is created when it is redeemed.
CREATE TABLE authfort_email_otps (
    id          UUID         PRIMARY KEY,
    user_id     UUID         REFERENCES authfort_users (id) ON DELETE CASCADE,
    email       VARCHAR(255) NOT NULL,
    code_hmac   VARCHAR(64)  NOT NULL,
    attempts    INTEGER      NOT NULL DEFAULT 0,
    expires_at  TIMESTAMPTZ  NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL,
    consumed_at TIMESTAMPTZ
);
CREATE INDEX ix_authfort_email_otps_email ON authfort_email_otps (email, created_at);

-- Recent password hashes, for password_history_count.
CREATE TABLE authfort_password_history (
    id            UUID         PRIMARY KEY,
    user_id       UUID         NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    password_hash VARCHAR(255) NOT NULL,
    created_at    TIMESTAMPTZ  NOT NULL
);
CREATE INDEX ix_authfort_password_history_user ON authfort_password_history (user_id, created_at);

-- Reset and verification tokens are consumed by (hash, purpose, user).
CREATE INDEX ix_authfort_verification_tokens_user ON authfort_verification_tokens (user_id, purpose);
