-- Content managers edit in the CMS (Directus, see scripts/cms.sh), read by the server.
--
-- Ownership rule: `catalog_items` belongs to the import (the ERP/1C export) and the CMS never
-- writes it (its database role may only read it). A manager's product text lives in
-- `catalog_item_content`, one row per item; a non-empty field there wins over the imported
-- one wherever the catalog is shown or searched (the `catalog_documents` view). The import's
-- unchanged-row check compares only imported fields, so re-importing never touches a CMS
-- edit, and a CMS edit never hides a later change of the imported price or stock.
--
-- Directus introspects these tables as they are: no arrays (it cannot edit them), single-
-- column primary keys, file references as uuid columns holding `directus_files.id`.

-- Journal articles: Markdown body, visible once published and its date has come.
ALTER TABLE articles
    ADD COLUMN status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
    ADD COLUMN summary         text NOT NULL DEFAULT '',
    ADD COLUMN cover           uuid,
    ADD COLUMN seo_title       text NOT NULL DEFAULT '',
    ADD COLUMN seo_description text NOT NULL DEFAULT '',
    ADD COLUMN created_at      timestamptz NOT NULL DEFAULT now();
CREATE INDEX articles_published_idx ON articles (published_at DESC) WHERE status = 'published';

CREATE FUNCTION articles_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Publishing without a date means "now"; every edit moves updated_at (sitemap lastmod).
    IF NEW.status = 'published' AND NEW.published_at IS NULL THEN
        NEW.published_at := now();
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER articles_stamp BEFORE INSERT OR UPDATE ON articles
    FOR EACH ROW EXECUTE FUNCTION articles_stamp();

-- SEO meta for one exact path ('/', '/p/<id>', '/c/<category>', '/journal/<slug>').
ALTER TABLE seo_meta ALTER COLUMN keywords DROP DEFAULT;
ALTER TABLE seo_meta ALTER COLUMN keywords TYPE text USING array_to_string(keywords, ', ');
ALTER TABLE seo_meta ALTER COLUMN keywords SET DEFAULT '';
ALTER TABLE seo_meta
    ADD COLUMN image   uuid,
    ADD COLUMN noindex boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT seo_meta_path_check CHECK (path ~ '^/');

-- SEO meta per page type, with placeholders ({name}, {sku}, {brand}, {model}, {category},
-- {price}, {title}); a seo_meta row for the exact path wins, generated text is the fallback.
CREATE TABLE seo_templates (
    page_type    text PRIMARY KEY CHECK (page_type IN ('home', 'product', 'spare_part', 'category', 'journal', 'article')),
    title        text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT ''
);

-- Synonyms as one comma-separated text (Directus edits it as tags).
ALTER TABLE search_synonyms DROP CONSTRAINT search_synonyms_synonyms_check;
ALTER TABLE search_synonyms ALTER COLUMN synonyms TYPE text USING array_to_string(synonyms, ', ');
ALTER TABLE search_synonyms ADD CONSTRAINT search_synonyms_synonyms_check CHECK (btrim(synonyms, ' ,') <> '');
ALTER TABLE search_synonyms ADD CONSTRAINT search_synonyms_term_check CHECK (btrim(term) <> '');

-- A manager's product text and picture; empty fields fall back to the imported ones.
CREATE TABLE catalog_item_content (
    item_id          text PRIMARY KEY REFERENCES catalog_items (id) ON DELETE CASCADE,
    name             text NOT NULL DEFAULT '',
    description      text NOT NULL DEFAULT '',
    seo_title        text NOT NULL DEFAULT '',
    seo_description  text NOT NULL DEFAULT '',
    image            uuid,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- What search, the site and the leads read: imported rows with the CMS texts applied.
CREATE VIEW catalog_documents AS
SELECT i.id, i.kind, i.sku,
       coalesce(nullif(btrim(c.name), ''), i.name) AS name,
       i.brand, i.model, i.category,
       coalesce(nullif(btrim(c.description), ''), i.description) AS description,
       i.attributes, i.compatible_models, i.price_rub, i.in_stock,
       c.image
FROM catalog_items i
LEFT JOIN catalog_item_content c ON c.item_id = i.id;

-- A CMS text edit is a catalog change like any other: the indexer re-reads the item. The
-- function runs as its owner, so the CMS role needs no right on the change log.
CREATE FUNCTION catalog_content_capture_change() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    new_seq bigint;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO catalog_changes (doc_id, op) VALUES (OLD.item_id, 'upsert') RETURNING seq INTO new_seq;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR OLD.item_id <> NEW.item_id) THEN
        INSERT INTO catalog_changes (doc_id, op) VALUES (NEW.item_id, 'upsert') RETURNING seq INTO new_seq;
    END IF;
    PERFORM pg_notify('catalog_changes', new_seq::text);
    RETURN NULL;
END $$;
CREATE TRIGGER catalog_item_content_change AFTER INSERT OR UPDATE OR DELETE ON catalog_item_content
    FOR EACH ROW EXECUTE FUNCTION catalog_content_capture_change();

CREATE FUNCTION catalog_content_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER catalog_item_content_stamp BEFORE UPDATE ON catalog_item_content
    FOR EACH ROW EXECUTE FUNCTION catalog_content_stamp();

-- Content edits wake the server's content cache (SEO, filters, synonyms) on channel
-- 'cms_changes' with the table's name as payload.
CREATE FUNCTION cms_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cms_changes', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER articles_notify AFTER INSERT OR UPDATE OR DELETE ON articles
    FOR EACH STATEMENT EXECUTE FUNCTION cms_notify();
CREATE TRIGGER seo_meta_notify AFTER INSERT OR UPDATE OR DELETE ON seo_meta
    FOR EACH STATEMENT EXECUTE FUNCTION cms_notify();
CREATE TRIGGER seo_templates_notify AFTER INSERT OR UPDATE OR DELETE ON seo_templates
    FOR EACH STATEMENT EXECUTE FUNCTION cms_notify();
CREATE TRIGGER catalog_filters_notify AFTER INSERT OR UPDATE OR DELETE ON catalog_filters
    FOR EACH STATEMENT EXECUTE FUNCTION cms_notify();
CREATE TRIGGER search_synonyms_notify AFTER INSERT OR UPDATE OR DELETE ON search_synonyms
    FOR EACH STATEMENT EXECUTE FUNCTION cms_notify();
