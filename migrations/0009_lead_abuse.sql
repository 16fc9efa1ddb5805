-- Leads under abuse (issue: leads abuse and faults).
--
-- Idempotency keys are scoped to their caller (`anon:…`, `tg{telegram id}:…`), so nobody can
-- take a key another caller will use. Existing keys get the scope of the lead that holds them.
UPDATE leads SET idempotency_key =
    CASE WHEN telegram_id IS NULL THEN 'anon:' ELSE 'tg' || telegram_id || ':' END || idempotency_key
WHERE idempotency_key IS NOT NULL;

-- Files are attached to a lead only with the token its creation answered with (kept in plain
-- text so a replayed creation can answer with it again; it grants nothing but uploads to this
-- lead while they are open). Leads created before this have none and take no more files.
ALTER TABLE leads
    ADD COLUMN upload_token text CHECK (upload_token IS NULL OR upload_token ~ '^[0-9a-f]{64}$'),
    ADD COLUMN uploads_open_until timestamptz;
