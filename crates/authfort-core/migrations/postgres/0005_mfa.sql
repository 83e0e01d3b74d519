-- TOTP multi-factor authentication. One row per user: pending (enabled = false) between
-- enable_mfa_init and enable_mfa_confirm, then enabled. The TOTP secret is stored only
-- encrypted (ChaCha20-Poly1305 under a key derived from the server's secret_key, which is not
-- in the database; the user id is the associated data). last_step is the highest accepted
-- TOTP time step: a code is accepted only for a strictly greater step (one conditional
-- UPDATE), so an accepted code is refused for its whole validity window and one of N
-- concurrent uses wins. failed_attempts / locked_until are the persisted lockout.
CREATE TABLE authfort_user_mfa (
    user_id         UUID        PRIMARY KEY REFERENCES authfort_users (id) ON DELETE CASCADE,
    secret_enc      TEXT        NOT NULL,
    enabled         BOOLEAN     NOT NULL DEFAULT FALSE,
    last_step       BIGINT      NOT NULL DEFAULT -1,
    failed_attempts INTEGER     NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    enabled_at      TIMESTAMPTZ
);

-- Backup codes: only HMAC-SHA256(secret_key, user ‖ normalised code) is stored; each is
-- consumed by one conditional UPDATE (used_at IS NULL).
CREATE TABLE authfort_mfa_backup_codes (
    id         UUID        PRIMARY KEY,
    user_id    UUID        NOT NULL REFERENCES authfort_users (id) ON DELETE CASCADE,
    code_hmac  VARCHAR(64) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE UNIQUE INDEX ux_authfort_mfa_backup_codes_user_code ON authfort_mfa_backup_codes (user_id, code_hmac);
