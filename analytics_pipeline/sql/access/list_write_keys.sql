SELECT key_id, label, org_id, created_at, revoked_at
FROM access.write_keys
ORDER BY created_at, key_id
