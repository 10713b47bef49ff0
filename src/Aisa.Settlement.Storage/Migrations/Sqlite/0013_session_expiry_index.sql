-- Sessions past their expiry are deleted on a schedule (the prune job); this index finds them.
CREATE INDEX ix_sessions_expires ON sessions (expires_at);
