-- One-time tokens (magic links; later reset / verify-email), stored only as SHA-256.
-- user_id is NULL for a passwordless-signup link: the account is created when it is redeemed.
CREATE TABLE authfort_verification_tokens (
    id          UUID         PRIMARY KEY,
    user_id     UUID         REFERENCES authfort_users (id) ON DELETE CASCADE,
    email       VARCHAR(255) NOT NULL,
    purpose     VARCHAR(20)  NOT NULL,
    token_hash  VARCHAR(64)  NOT NULL,
    redirect_to TEXT,
    expires_at  TIMESTAMPTZ  NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL,
    consumed_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX ix_authfort_verification_tokens_hash ON authfort_verification_tokens (token_hash);
CREATE INDEX ix_authfort_verification_tokens_email ON authfort_verification_tokens (purpose, email);

-- Mail to deliver, written in the same transaction as the token it carries.
CREATE TABLE authfort_outbox (
    id              UUID         PRIMARY KEY,
    kind            VARCHAR(40)  NOT NULL,
    recipient       VARCHAR(255) NOT NULL,
    subject         TEXT,
    body_text       TEXT,
    body_html       TEXT,
    token_id        UUID,
    expires_at      TIMESTAMPTZ,
    status          VARCHAR(10)  NOT NULL DEFAULT 'pending',
    attempts        INTEGER      NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ  NOT NULL,
    locked_until    TIMESTAMPTZ,
    last_error      TEXT,
    created_at      TIMESTAMPTZ  NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX ix_authfort_outbox_due ON authfort_outbox (status, next_attempt_at);
CREATE INDEX ix_authfort_outbox_token ON authfort_outbox (token_id);
