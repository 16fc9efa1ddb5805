-- Orders from amoCRM deals, carrier tracking, and the notification outbox the bot speaks from.

-- A deal of ours in amoCRM is one order, whatever its status: in work, won or lost. Orders
-- typed in by hand keep crm_deal_id NULL. `category` splits the director's spend.
ALTER TABLE orders
    ADD COLUMN crm_deal_id  bigint UNIQUE,
    ADD COLUMN crm_status   text CHECK (crm_status IN ('in_work', 'won', 'lost')),
    ADD COLUMN category     text NOT NULL DEFAULT 'parts' CHECK (category IN ('equipment', 'parts')),
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now();

-- Tracking: the carrier's own event code keeps a polled event from being stored twice.
ALTER TABLE shipments
    ADD COLUMN last_polled_at  timestamptz,
    ADD COLUMN poll_error      text;
ALTER TABLE shipment_events
    ADD COLUMN code         text,
    ADD COLUMN description  text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX shipment_events_code_idx ON shipment_events (shipment_id, code, at)
    WHERE code IS NOT NULL;
CREATE INDEX shipments_poll_idx ON shipments (carrier, last_polled_at)
    WHERE tracking_no IS NOT NULL AND status <> 'delivered';

-- An offer reaches the director when it is published (now, or at a time set in the CMS).
ALTER TABLE personal_offers ADD COLUMN published_at timestamptz DEFAULT now();
UPDATE personal_offers SET published_at = now() WHERE published_at IS NULL;

-- Per-user settings: every kind is on unless switched off; quiet hours in Moscow time.
CREATE TYPE notification_kind AS ENUM ('ticket_status', 'shipment', 'new_machine', 'offer');
ALTER TABLE telegram_users
    ADD COLUMN quiet_from  smallint CHECK (quiet_from BETWEEN 0 AND 23),
    ADD COLUMN quiet_to    smallint CHECK (quiet_to BETWEEN 0 AND 23),
    ADD COLUMN blocked_at  timestamptz,
    ADD CONSTRAINT telegram_users_quiet_check CHECK ((quiet_from IS NULL) = (quiet_to IS NULL));
CREATE TABLE notification_prefs (
    telegram_id  bigint NOT NULL REFERENCES telegram_users (telegram_id) ON DELETE CASCADE,
    kind         notification_kind NOT NULL,
    enabled      boolean NOT NULL,
    PRIMARY KEY (telegram_id, kind)
);

-- The outbox: one row per (recipient, kind, source row), so a change is announced once to
-- each person however often it is seen. Rows are written by the triggers below, in the
-- transaction that made the change; the server's notifier sends them.
CREATE TABLE notifications (
    id               bigserial PRIMARY KEY,
    telegram_id      bigint NOT NULL,
    client_id        bigint NOT NULL,
    kind             notification_kind NOT NULL,
    source_id        bigint NOT NULL,
    payload          jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'skipped', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    locked_until     timestamptz,
    last_error       text,
    message_id       bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    UNIQUE (telegram_id, kind, source_id)
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE state = 'pending';

-- Telegram allows about one message a second per chat: each send reserves the chat's next slot.
CREATE TABLE notification_chats (
    telegram_id  bigint PRIMARY KEY,
    next_at      timestamptz NOT NULL
);

-- Queues `kind` about `source_id` for the people of `client` in `roles` who did not switch
-- it off and have not blocked the bot.
CREATE FUNCTION notify_client(client bigint, roles telegram_role[], k notification_kind,
                              source bigint, payload jsonb, due timestamptz DEFAULT now())
RETURNS void LANGUAGE sql AS $$
    INSERT INTO notifications (telegram_id, client_id, kind, source_id, payload, next_attempt_at)
    SELECT t.telegram_id, client, k, source, payload, greatest(due, now())
    FROM telegram_users t
    WHERE t.client_id = client AND t.role = ANY (roles) AND t.blocked_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM notification_prefs p
                      WHERE p.telegram_id = t.telegram_id AND p.kind = k AND NOT p.enabled)
    ON CONFLICT (telegram_id, kind, source_id) DO NOTHING
$$;

-- A ticket's status changed (its creation is confirmed in the dialogue that made it).
CREATE FUNCTION notify_ticket_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    IF NEW.status = 'new' THEN
        RETURN NULL;
    END IF;
    SELECT st.id, st.client_id, m.model, m.serial_number INTO t
    FROM service_tickets st JOIN machine_instances m ON m.id = st.machine_instance_id
    WHERE st.id = NEW.ticket_id;
    PERFORM notify_client(t.client_id, ARRAY['engineer']::telegram_role[], 'ticket_status', NEW.id,
        jsonb_build_object('ticket_id', t.id, 'status', NEW.status, 'comment', NEW.comment,
                           'model', t.model, 'serial', t.serial_number));
    RETURN NULL;
END $$;
CREATE TRIGGER notify_ticket_status AFTER INSERT ON service_ticket_events
    FOR EACH ROW EXECUTE FUNCTION notify_ticket_status();

-- A shipment event, polled or typed in.
CREATE FUNCTION notify_shipment_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s record;
BEGIN
    SELECT o.client_id, o.number, sh.carrier, sh.tracking_no, sh.eta INTO s
    FROM shipments sh JOIN orders o ON o.id = sh.order_id WHERE sh.id = NEW.shipment_id;
    PERFORM notify_client(s.client_id, ARRAY['procurement']::telegram_role[], 'shipment', NEW.id,
        jsonb_build_object('order', s.number, 'carrier', s.carrier, 'tracking_no', s.tracking_no,
                           'status', NEW.status, 'location', NEW.location,
                           'description', NEW.description, 'eta', s.eta,
                           'at', to_char(NEW.at AT TIME ZONE 'Europe/Moscow', 'DD.MM.YYYY HH24:MI')));
    RETURN NULL;
END $$;
CREATE TRIGGER notify_shipment_event AFTER INSERT ON shipment_events
    FOR EACH ROW EXECUTE FUNCTION notify_shipment_event();

-- A machine joined the park (a won deal, or an operator's entry).
CREATE FUNCTION notify_new_machine() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notify_client(NEW.client_id, ARRAY['director', 'engineer']::telegram_role[], 'new_machine', NEW.id,
        jsonb_build_object('machine_id', NEW.id, 'model', NEW.model, 'serial', NEW.serial_number,
                           'name', (SELECT name FROM catalog_items WHERE id = NEW.product_id)));
    RETURN NULL;
END $$;
CREATE TRIGGER notify_new_machine AFTER INSERT ON machine_instances
    FOR EACH ROW EXECUTE FUNCTION notify_new_machine();

-- A personal offer was published (announced at its publication time).
CREATE FUNCTION notify_offer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.published_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.published_at IS NULL) THEN
        PERFORM notify_client(NEW.client_id, ARRAY['director']::telegram_role[], 'offer', NEW.id,
            jsonb_build_object('offer_id', NEW.id, 'title', NEW.title, 'body', NEW.body,
                               'discount_pct', NEW.discount_pct, 'valid_until', NEW.valid_until),
            NEW.published_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER notify_offer AFTER INSERT OR UPDATE OF published_at ON personal_offers
    FOR EACH ROW EXECUTE FUNCTION notify_offer();

-- The end of a user's quiet hours if `at` falls in them (Moscow time), else NULL.
CREATE FUNCTION quiet_until(qf smallint, qt smallint, at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN qf IS NULL OR qf = qt THEN NULL
        WHEN (qf < qt AND h >= qf AND h < qt) OR (qf > qt AND (h >= qf OR h < qt)) THEN
            (date_trunc('day', l) + make_interval(hours => qt)
             + CASE WHEN h >= qt THEN interval '1 day' ELSE interval '0' END) AT TIME ZONE 'Europe/Moscow'
    END
    FROM (SELECT at AT TIME ZONE 'Europe/Moscow' AS l,
                 extract(hour FROM at AT TIME ZONE 'Europe/Moscow')::int AS h) AS x
$$;
