-- A publisher's rules charge only once it has shown it controls its domain. A domain is unique among the publishers
-- that proved it, not among those that merely claim it: a squatter's claim no longer keeps the owner out.
-- Publishers registered before domain proof existed keep charging (verified_by 'before-domain-proof', which operators see).
-- SQLite cannot drop a UNIQUE: the table is rebuilt as its documentation prescribes (foreign keys are off while
-- migrations run, and checked before they commit).
CREATE TABLE publishers_rebuilt (
    id                 INTEGER PRIMARY KEY,
    email              TEXT    NOT NULL UNIQUE,
    password_hash      TEXT    NOT NULL,
    name               TEXT,
    domain             TEXT    NOT NULL,
    payable_account_id INTEGER NOT NULL UNIQUE REFERENCES accounts (id),
    created_at         INTEGER NOT NULL,
    -- What the publisher serves at https://<domain>/.well-known/aisa-publisher.txt.
    domain_token       TEXT,
    domain_verified_at INTEGER,
    -- well-known, operator, unchecked (Publishers:DomainVerification none) or before-domain-proof.
    domain_verified_by TEXT
);
INSERT INTO publishers_rebuilt (id, email, password_hash, name, domain, payable_account_id, created_at, domain_verified_at, domain_verified_by)
    SELECT id, email, password_hash, name, domain, payable_account_id, created_at, created_at, 'before-domain-proof' FROM publishers;
DROP TABLE publishers;
ALTER TABLE publishers_rebuilt RENAME TO publishers;

CREATE UNIQUE INDEX publishers_proven_domain ON publishers (domain) WHERE domain_verified_at IS NOT NULL;
CREATE INDEX publishers_by_domain ON publishers (domain);
