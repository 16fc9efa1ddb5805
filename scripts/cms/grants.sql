-- The CMS's database role: it reads the catalog, edits the content tables, keeps Directus's
-- own tables in the `directus` schema, and has no right on anything else (leads, clients,
-- CRM tokens, Telegram users, attachments, orders...). Run by a superuser in the app's
-- database, idempotently, every time scripts/cms.sh starts Directus (so tables added by later
-- migrations get their grants). psql variables: cms_role, app_role.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"cms_role";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM :"cms_role";
REVOKE CREATE ON SCHEMA public FROM :"cms_role";
GRANT USAGE ON SCHEMA public TO :"cms_role";
CREATE SCHEMA IF NOT EXISTS directus AUTHORIZATION :"cms_role";
ALTER SCHEMA directus OWNER TO :"cms_role";

-- Read only: the import owns these rows (see migrations/0008_cms.sql).
GRANT SELECT ON catalog_items, catalog_documents TO :"cms_role";
-- Content the CMS owns.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    articles, seo_meta, seo_templates, catalog_filters, search_synonyms, catalog_item_content
    TO :"cms_role";
GRANT USAGE, SELECT ON SEQUENCE articles_id_seq, catalog_filters_id_seq, search_synonyms_id_seq
    TO :"cms_role";

-- The server resolves uploaded images through Directus's file table (read only; nothing else
-- of Directus's, whose tables hold its users' password hashes).
GRANT USAGE ON SCHEMA directus TO :"app_role";
SELECT format('GRANT SELECT ON directus.directus_files TO %I', :'app_role')
WHERE to_regclass('directus.directus_files') IS NOT NULL \gexec
