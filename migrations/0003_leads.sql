-- Leads: every customer action, queued here (outbox) and synced to amoCRM by a worker.
CREATE TYPE lead_source AS ENUM ('site', 'bot', 'tma');
CREATE TYPE lead_kind AS ENUM ('cart', 'sos', 'invoice', 'quote', 'callback');
CREATE TYPE lead_sync_state AS ENUM ('pending', 'lead_created', 'synced', 'failed');

CREATE TABLE leads (
    id               bigserial PRIMARY KEY,
    source           lead_source NOT NULL,
    kind             lead_kind NOT NULL,
    client_id        bigint REFERENCES clients (id) ON DELETE SET NULL,
    contact_name     text NOT NULL DEFAULT '',
    contact_phone    text CHECK (contact_phone IS NULL OR contact_phone ~ '^\+[1-9][0-9]{7,14}$'),
    contact_email    text,
    payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
    idempotency_key  text UNIQUE,
    crm_lead_id      bigint,
    crm_contact_id   bigint,
    crm_note_ids     bigint[] NOT NULL DEFAULT '{}',
    sync_state       lead_sync_state NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    synced_at        timestamptz
);
CREATE INDEX leads_sync_idx ON leads (next_attempt_at) WHERE sync_state IN ('pending', 'lead_created');

CREATE TABLE lead_sync_attempts (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    step        text NOT NULL,
    ok          boolean NOT NULL,
    http_status integer,
    error       text
);

-- Files are stored once by content hash under DATA_DIR; this table holds their metadata.
CREATE TABLE lead_attachments (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    file_name   text NOT NULL,
    mime_type   text NOT NULL,
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (lead_id, sha256)
);

-- OAuth2 tokens for amoCRM; refresh tokens rotate, so the new pair is stored before use.
CREATE TABLE crm_tokens (
    account        text PRIMARY KEY,
    access_token   text NOT NULL,
    refresh_token  text,
    expires_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Incoming amoCRM webhooks, stored durably before the 200 and processed by a worker.
CREATE TABLE crm_webhook_events (
    id            bigserial PRIMARY KEY,
    crm_lead_id   bigint NOT NULL,
    status_id     bigint NOT NULL,
    pipeline_id   bigint,
    raw           jsonb NOT NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'ignored', 'review')),
    note          text,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    UNIQUE (crm_lead_id, status_id)
);
