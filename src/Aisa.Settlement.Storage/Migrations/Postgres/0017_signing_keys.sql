-- Signed requests (RFC 9421, Web Bot Auth): each crawler's Ed25519 public keys, named by their JWK thumbprint, and the
-- nonces of signatures seen, kept until the signature expires, so a signature is accepted once.

CREATE TABLE signing_keys (
    key_id     text   PRIMARY KEY,
    agent_id   bigint NOT NULL REFERENCES agents (id),
    -- The public key, base64url (the JWK's x).
    public_key text   NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX signing_keys_by_agent ON signing_keys (agent_id);

CREATE TABLE signature_nonces (
    key_id     text   NOT NULL,
    nonce      text   NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX signature_nonces_by_expiry ON signature_nonces (expires_at);
