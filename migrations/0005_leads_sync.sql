-- Outbox leases and idempotency for lead sync; retry bookkeeping for webhook events.
ALTER TABLE leads
    ADD COLUMN locked_until  timestamptz,
    ADD COLUMN request_hash  text,
    ADD COLUMN telegram_id   bigint;

ALTER TABLE crm_webhook_events
    ADD COLUMN attempts         integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN locked_until     timestamptz,
    ADD COLUMN last_error       text;
ALTER TABLE crm_webhook_events DROP CONSTRAINT crm_webhook_events_state_check;
ALTER TABLE crm_webhook_events ADD CONSTRAINT crm_webhook_events_state_check
    CHECK (state IN ('pending', 'done', 'ignored', 'review', 'failed'));
CREATE INDEX crm_webhook_events_pending_idx ON crm_webhook_events (next_attempt_at)
    WHERE state = 'pending';
