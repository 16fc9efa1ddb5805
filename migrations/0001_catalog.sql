-- Catalog: machines (kind = 'product') and spare parts (kind = 'spare_part') in one table,
-- so search, compatibility and change capture treat them alike.
CREATE TYPE catalog_kind AS ENUM ('product', 'spare_part');

CREATE TABLE catalog_items (
    id                text PRIMARY KEY CHECK (id <> '' AND length(id) <= 128),
    kind              catalog_kind NOT NULL,
    sku               text NOT NULL DEFAULT '',
    name              text NOT NULL CHECK (name <> ''),
    brand             text NOT NULL DEFAULT '',
    model             text NOT NULL DEFAULT '',
    category          text NOT NULL DEFAULT '',
    description       text NOT NULL DEFAULT '',
    attributes        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
    compatible_models text[] NOT NULL DEFAULT '{}',
    price_rub         numeric(14, 2) CHECK (price_rub IS NULL OR price_rub >= 0),
    in_stock          integer NOT NULL DEFAULT 0 CHECK (in_stock >= 0),
    -- sha256 of the canonical record; the import compares it to tell "unchanged" from "updated".
    record_hash       text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_items_kind_idx ON catalog_items (kind);
CREATE INDEX catalog_items_model_idx ON catalog_items (model);
CREATE INDEX catalog_items_compat_idx ON catalog_items USING gin (compatible_models);

-- Embeddings cached per document text: keyed by model id and the hash of the exact text that
-- was embedded, so unchanged text is never embedded twice (also across reindexes).
CREATE TABLE embedding_cache (
    model_id      text NOT NULL,
    content_hash  text NOT NULL,
    dim           integer NOT NULL CHECK (dim > 0),
    vector        bytea NOT NULL,          -- little-endian f32 x dim, L2-normalised
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, content_hash)
);

-- Change capture: any writer (import, admin API, CMS, psql) appends here through the trigger.
-- The sequence order is the truth for the indexer; NOTIFY is only a wake-up.
CREATE TABLE catalog_changes (
    seq         bigserial PRIMARY KEY,
    doc_id      text NOT NULL,
    op          text NOT NULL CHECK (op IN ('upsert', 'delete')),
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION catalog_capture_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_seq bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO catalog_changes (doc_id, op) VALUES (OLD.id, 'delete') RETURNING seq INTO new_seq;
    ELSE
        IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
            INSERT INTO catalog_changes (doc_id, op) VALUES (OLD.id, 'delete');
        END IF;
        INSERT INTO catalog_changes (doc_id, op) VALUES (NEW.id, 'upsert') RETURNING seq INTO new_seq;
    END IF;
    PERFORM pg_notify('catalog_changes', new_seq::text);
    RETURN NULL;
END $$;

-- UPDATEs that change nothing (re-import of the same row) produce no change entry.
CREATE TRIGGER catalog_items_change_ins AFTER INSERT ON catalog_items
    FOR EACH ROW EXECUTE FUNCTION catalog_capture_change();
CREATE TRIGGER catalog_items_change_upd AFTER UPDATE ON catalog_items
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION catalog_capture_change();
CREATE TRIGGER catalog_items_change_del AFTER DELETE ON catalog_items
    FOR EACH ROW EXECUTE FUNCTION catalog_capture_change();

-- Each running indexer replica records what it has applied, so pruning the change log never
-- removes entries a replica still needs.
CREATE TABLE indexer_replicas (
    replica_id    text PRIMARY KEY,
    applied_seq   bigint NOT NULL DEFAULT 0,
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);
