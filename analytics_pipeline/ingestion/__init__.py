"""Landing zone → raw schema: validation, tokenization, org resolution, dedupe, ledgers."""
