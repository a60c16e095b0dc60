-- Transaction-scoped locks on batch files, taken in the order given (sorted by the caller):
-- two runs locking overlapping groups in the same order cannot deadlock.
SELECT pg_advisory_xact_lock(hashtextextended(path, 0))
FROM unnest(%(paths)b::text[]) WITH ORDINALITY AS locks (path, position)
ORDER BY position
