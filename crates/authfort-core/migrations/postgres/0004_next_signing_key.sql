-- The next signing key is published in the JWKS before it signs anything, so verifiers and
-- caches already hold it when a rotation promotes it. A pending key has is_current = FALSE
-- and no expiry; at most one exists.
ALTER TABLE authfort_signing_keys ADD COLUMN activated_at TIMESTAMPTZ;
UPDATE authfort_signing_keys SET activated_at = created_at WHERE is_current = TRUE;
CREATE UNIQUE INDEX ux_authfort_signing_keys_next ON authfort_signing_keys (is_current)
    WHERE is_current = FALSE AND expires_at IS NULL;
