-- An agent may have several addresses on one rail: one per key that ever derived its address there. When a chain's
-- xpub changes, the addresses handed out before stay watched (their payments still credit their agents) and agents
-- are handed the address of the new key from then on. key_id names the key (a hash of the xpub, not the key itself);
-- rows written before this have none.
-- SQLite cannot drop a UNIQUE constraint: the table is rebuilt as its documentation prescribes (foreign keys are off
-- while migrations run, and checked before they commit). Ids are kept: watchers load addresses in id order.
CREATE TABLE deposit_addresses_rebuilt (
    id               INTEGER PRIMARY KEY,
    rail             TEXT    NOT NULL,
    address          TEXT    NOT NULL,
    agent_id         INTEGER NOT NULL REFERENCES agents (id),
    derivation_index INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    key_id           TEXT,
    UNIQUE (rail, address)
);
INSERT INTO deposit_addresses_rebuilt (id, rail, address, agent_id, derivation_index, created_at)
    SELECT id, rail, address, agent_id, derivation_index, created_at FROM deposit_addresses;
DROP TABLE deposit_addresses;
ALTER TABLE deposit_addresses_rebuilt RENAME TO deposit_addresses;
CREATE INDEX ix_deposit_addresses_agent ON deposit_addresses (rail, agent_id);
