-- Facts about this relay instance. Later migrations add accounts, threads,
-- envelopes and the audit log; this one gives a fresh database a schema
-- version the health check can report.
CREATE TABLE relay_info (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

INSERT INTO relay_info (key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
