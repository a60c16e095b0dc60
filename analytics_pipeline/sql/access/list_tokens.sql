SELECT token_id, role_name, label, created_at, expires_at, revoked_at
FROM access.api_tokens
ORDER BY created_at, token_id
