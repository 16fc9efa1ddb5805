-- Every service ticket keeps its status history: the creation and each status change become a
-- row in service_ticket_events, whoever makes the change (API, operator SQL, CRM sync). A
-- transaction may explain the change with `SET LOCAL stanok.ticket_comment = '...'`.
CREATE FUNCTION service_ticket_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO service_ticket_events (ticket_id, status, comment)
        VALUES (NEW.id, NEW.status, coalesce(current_setting('stanok.ticket_comment', true), ''));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER service_ticket_history AFTER INSERT OR UPDATE OF status ON service_tickets
    FOR EACH ROW EXECUTE FUNCTION service_ticket_history();

-- Closed tickets carry their closing time; reopening clears it.
CREATE FUNCTION service_ticket_closed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('done', 'cancelled') THEN
        NEW.closed_at := coalesce(NEW.closed_at, now());
    ELSE
        NEW.closed_at := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER service_ticket_closed_at BEFORE INSERT OR UPDATE OF status ON service_tickets
    FOR EACH ROW EXECUTE FUNCTION service_ticket_closed_at();

-- Existing tickets get their current status as the first history row.
INSERT INTO service_ticket_events (ticket_id, status, at)
SELECT t.id, t.status, t.created_at FROM service_tickets t
WHERE NOT EXISTS (SELECT 1 FROM service_ticket_events e WHERE e.ticket_id = t.id);
