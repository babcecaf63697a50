-- Delivery state of the lifecycle outbox (job_events) for webhooks: how many attempts were
-- made, and when the next may start. Claiming an event moves not_before ahead, so two servers
-- never send the same event at once, and a server that dies mid-send leaves it to another.
ALTER TABLE job_events ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_events ADD COLUMN not_before BIGINT NOT NULL DEFAULT 0;
CREATE INDEX job_events_ready ON job_events (not_before, created_at);
