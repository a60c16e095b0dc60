-- A new admin token: its digest only, with its role and expiry.
INSERT INTO access.api_tokens (token_id, token_hash, role_name, label, expires_at)
VALUES (%(token_id)s, %(token_hash)s, %(role)s, %(label)s, %(expires_at)s)
