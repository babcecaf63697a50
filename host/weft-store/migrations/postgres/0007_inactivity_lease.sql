-- A tenant's inactivity lease (milliseconds): a live cluster with no job started for this long
-- is deleted by the janitor, as when its lease ends. NULL: never.
ALTER TABLE tenants ADD COLUMN inactivity_lease BIGINT;
