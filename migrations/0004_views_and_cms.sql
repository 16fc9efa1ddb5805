-- What the director and procurement views read.
CREATE TYPE order_status AS ENUM ('new', 'confirmed', 'paid', 'shipped', 'delivered', 'cancelled');

CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    number      text NOT NULL UNIQUE,
    client_id   bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    lead_id     bigint REFERENCES leads (id) ON DELETE SET NULL,
    status      order_status NOT NULL DEFAULT 'new',
    total_rub   numeric(14, 2) NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_client_idx ON orders (client_id, created_at);

CREATE TABLE order_lines (
    id          bigserial PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    item_id     text REFERENCES catalog_items (id) ON DELETE SET NULL,
    sku         text NOT NULL,
    name        text NOT NULL,
    qty         integer NOT NULL CHECK (qty > 0),
    price_rub   numeric(14, 2) NOT NULL CHECK (price_rub >= 0)
);

-- Maintenance spend is derived from service_tickets.cost_rub; this table holds other service
-- spend (contracts, visits) the director sees.
CREATE TABLE maintenance_spend (
    id                   bigserial PRIMARY KEY,
    client_id            bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    machine_instance_id  bigint REFERENCES machine_instances (id) ON DELETE SET NULL,
    ticket_id            bigint REFERENCES service_tickets (id) ON DELETE SET NULL,
    amount_rub           numeric(14, 2) NOT NULL CHECK (amount_rub >= 0),
    spent_on             date NOT NULL,
    note                 text NOT NULL DEFAULT ''
);
CREATE INDEX maintenance_spend_client_idx ON maintenance_spend (client_id, spent_on);

CREATE TABLE modernization_projects (
    id           bigserial PRIMARY KEY,
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    title        text NOT NULL,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('proposed', 'active', 'done', 'cancelled')),
    budget_rub   numeric(14, 2),
    progress_pct integer NOT NULL DEFAULT 0 CHECK (progress_pct BETWEEN 0 AND 100),
    starts_on    date,
    due_on       date,
    description  text NOT NULL DEFAULT ''
);

CREATE TABLE personal_offers (
    id           bigserial PRIMARY KEY,
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    title        text NOT NULL,
    body         text NOT NULL DEFAULT '',
    item_id      text REFERENCES catalog_items (id) ON DELETE SET NULL,
    discount_pct numeric(5, 2) CHECK (discount_pct IS NULL OR discount_pct BETWEEN 0 AND 100),
    valid_until  date
);

CREATE TYPE shipment_status AS ENUM ('preparing', 'handed_to_carrier', 'in_transit', 'arrived', 'delivered', 'problem');

CREATE TABLE shipments (
    id            bigserial PRIMARY KEY,
    order_id      bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    carrier       text NOT NULL DEFAULT '',
    tracking_no   text,
    status        shipment_status NOT NULL DEFAULT 'preparing',
    eta           date,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shipment_events (
    id           bigserial PRIMARY KEY,
    shipment_id  bigint NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    status       shipment_status NOT NULL,
    location     text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kb_documents (
    id           bigserial PRIMARY KEY,
    title        text NOT NULL,
    doc_type     text NOT NULL CHECK (doc_type IN ('manual', 'drawing', 'schematic', 'instruction')),
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    file_name    text NOT NULL,
    mime_type    text NOT NULL,
    size_bytes   bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kb_document_models (
    document_id  bigint NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
    model        text NOT NULL,
    PRIMARY KEY (document_id, model)
);
CREATE INDEX kb_document_models_model_idx ON kb_document_models (model);

-- Content the CMS manages.
CREATE TABLE articles (
    id            bigserial PRIMARY KEY,
    slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]+$'),
    title         text NOT NULL,
    body          text NOT NULL DEFAULT '',
    published_at  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE seo_meta (
    path         text PRIMARY KEY,
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    keywords     text[] NOT NULL DEFAULT '{}',
    canonical    text
);

CREATE TABLE catalog_filters (
    id          bigserial PRIMARY KEY,
    field       text NOT NULL CHECK (field IN ('kind', 'category', 'brand', 'compatible_with', 'in_stock', 'price')),
    label       text NOT NULL,
    position    integer NOT NULL DEFAULT 0,
    enabled     boolean NOT NULL DEFAULT true,
    UNIQUE (field)
);

-- Search synonyms the engine expands at query time ('швп' -> 'шарико-винтовая пара').
CREATE TABLE search_synonyms (
    id        bigserial PRIMARY KEY,
    term      text NOT NULL,
    synonyms  text[] NOT NULL CHECK (cardinality(synonyms) > 0),
    UNIQUE (term)
);
