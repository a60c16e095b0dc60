-- Revoke by the key itself (its digest) or by its id.
UPDATE access.write_keys SET revoked_at = now()
WHERE (key_id = %(key)s OR key_hash = %(key_hash)s) AND revoked_at IS NULL
