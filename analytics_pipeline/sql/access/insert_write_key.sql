-- A new write key: its digest only, with the org it is bound to (if any).
INSERT INTO access.write_keys (key_id, key_hash, label, org_id)
VALUES (%(key_id)s, %(key_hash)s, %(label)s, %(org)s)
