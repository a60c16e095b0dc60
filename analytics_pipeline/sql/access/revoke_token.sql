-- Revoke by the token itself (its digest) or by its id; the sessions it opened end with it.
UPDATE access.api_tokens SET revoked_at = now()
WHERE (token_id = %(token)s OR token_hash = %(token_hash)s) AND revoked_at IS NULL
