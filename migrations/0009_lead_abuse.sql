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

-- Files reach amoCRM however late they come: each file is assigned to one note (batch 0: the
-- lead's first note; a later batch is named by its first attachment id) *before* that note is
-- posted, so a retry after a crash posts (or finds, by its marker) the same note with the same
-- files, and marks them noted once it exists.
ALTER TABLE lead_attachments
    ADD COLUMN note_batch bigint,
    ADD COLUMN noted boolean NOT NULL DEFAULT false;
-- Files of leads already synced were in their note.
UPDATE lead_attachments a SET note_batch = 0, noted = true
FROM leads l WHERE l.id = a.lead_id AND cardinality(l.crm_note_ids) > 0;

-- Rate limits counted where every server replica sees them: hits per bucket (`lead:ip:…`,
-- `lead:phone:…`, `upload:tg:…`) per fixed window. Unlogged: a crash forgets the counts, which
-- only forgives a few callers once.
CREATE UNLOGGED TABLE rate_limit_hits (
    bucket        text NOT NULL,
    window_start  timestamptz NOT NULL,
    hits          integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX lead_attachments_created_idx ON lead_attachments (created_at);

-- amoCRM allows 7 requests/s per account, whatever number of our replicas call it: each call
-- reserves the next free slot here (one row per account, serialised by its row lock).
CREATE TABLE crm_rate_slots (
    account  text PRIMARY KEY,
    next_at  timestamptz NOT NULL
);

-- (CMS) A product's picture and SEO texts are cached by the server like the rest of the
-- content: their edits notify it too.
CREATE TRIGGER catalog_item_content_notify AFTER INSERT OR UPDATE OR DELETE ON catalog_item_content
    FOR EACH STATEMENT EXECUTE FUNCTION cms_notify();
