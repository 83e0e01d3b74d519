-- One-time tokens (magic links; later reset / verify-email), stored only as SHA-256.
-- user_id is NULL for a passwordless-signup link: the account is created when it is redeemed.
CREATE TABLE authfort_verification_tokens (
    id          BLOB    PRIMARY KEY NOT NULL,
    user_id     BLOB    REFERENCES authfort_users (id) ON DELETE CASCADE,
    email       TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL,
    redirect_to TEXT,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    consumed_at INTEGER
);
CREATE UNIQUE INDEX ix_authfort_verification_tokens_hash ON authfort_verification_tokens (token_hash);
CREATE INDEX ix_authfort_verification_tokens_email ON authfort_verification_tokens (purpose, email);

-- Mail to deliver, written in the same transaction as the token it carries.
CREATE TABLE authfort_outbox (
    id              BLOB    PRIMARY KEY NOT NULL,
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT,
    body_text       TEXT,
    body_html       TEXT,
    token_id        BLOB,
    expires_at      INTEGER,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until    INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX ix_authfort_outbox_due ON authfort_outbox (status, next_attempt_at);
CREATE INDEX ix_authfort_outbox_token ON authfort_outbox (token_id);
