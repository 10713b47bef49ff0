-- A publisher's rules charge only once it has shown it controls its domain. A domain is unique among the publishers
-- that proved it, not among those that merely claim it: a squatter's claim no longer keeps the owner out.
-- Publishers registered before domain proof existed keep charging (verified_by 'before-domain-proof', which operators see).
ALTER TABLE publishers DROP CONSTRAINT publishers_domain_key;
-- What the publisher serves at https://<domain>/.well-known/aisa-publisher.txt.
ALTER TABLE publishers ADD COLUMN domain_token text;
ALTER TABLE publishers ADD COLUMN domain_verified_at bigint;
-- well-known, operator, unchecked (Publishers:DomainVerification none) or before-domain-proof.
ALTER TABLE publishers ADD COLUMN domain_verified_by text;
UPDATE publishers SET domain_verified_at = created_at, domain_verified_by = 'before-domain-proof';

CREATE UNIQUE INDEX publishers_proven_domain ON publishers (domain) WHERE domain_verified_at IS NOT NULL;
CREATE INDEX publishers_by_domain ON publishers (domain);
