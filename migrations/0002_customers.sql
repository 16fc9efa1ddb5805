-- Customers, their Telegram users and their machine park (digital passports).
CREATE TABLE clients (
    id          bigserial PRIMARY KEY,
    company     text NOT NULL DEFAULT '',
    phone       text UNIQUE CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{7,14}$'),  -- E.164
    email       text,
    crm_contact_id bigint,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE telegram_role AS ENUM ('director', 'engineer', 'procurement');

CREATE TABLE telegram_users (
    telegram_id  bigint PRIMARY KEY,
    client_id    bigint REFERENCES clients (id) ON DELETE SET NULL,
    role         telegram_role,
    phone        text CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{7,14}$'),
    first_name   text NOT NULL DEFAULT '',
    username     text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX telegram_users_client_idx ON telegram_users (client_id);

CREATE TABLE machine_instances (
    id                bigserial PRIMARY KEY,
    serial_number     text NOT NULL,
    product_id        text REFERENCES catalog_items (id) ON DELETE SET NULL,
    model             text NOT NULL DEFAULT '',
    client_id         bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    sold_at           date,
    commissioned_at   date,
    crm_deal_id       bigint,
    passport          jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (serial_number, model)
);
CREATE INDEX machine_instances_client_idx ON machine_instances (client_id);
CREATE UNIQUE INDEX machine_instances_deal_serial_idx ON machine_instances (crm_deal_id, serial_number)
    WHERE crm_deal_id IS NOT NULL;

CREATE TYPE ticket_kind AS ENUM ('sos', 'repair', 'maintenance');
CREATE TYPE ticket_status AS ENUM ('new', 'accepted', 'in_progress', 'waiting_parts', 'done', 'cancelled');

CREATE TABLE service_tickets (
    id                   bigserial PRIMARY KEY,
    machine_instance_id  bigint NOT NULL REFERENCES machine_instances (id) ON DELETE CASCADE,
    client_id            bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind                 ticket_kind NOT NULL,
    status               ticket_status NOT NULL DEFAULT 'new',
    description          text NOT NULL DEFAULT '',
    attachments          jsonb NOT NULL DEFAULT '[]'::jsonb,
    cost_rub             numeric(14, 2),
    created_by_telegram  bigint,
    created_at           timestamptz NOT NULL DEFAULT now(),
    closed_at            timestamptz
);
CREATE INDEX service_tickets_client_idx ON service_tickets (client_id, status);

CREATE TABLE service_ticket_events (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES service_tickets (id) ON DELETE CASCADE,
    status      ticket_status NOT NULL,
    comment     text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_ticket_events_ticket_idx ON service_ticket_events (ticket_id, at);
