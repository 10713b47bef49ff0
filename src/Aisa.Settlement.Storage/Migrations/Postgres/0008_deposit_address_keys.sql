-- An agent may have several addresses on one rail: one per key that ever derived its address there. When a chain's
-- xpub changes, the addresses handed out before stay watched (their payments still credit their agents) and agents
-- are handed the address of the new key from then on. key_id names the key (a hash of the xpub, not the key itself);
-- rows written before this have none.
ALTER TABLE deposit_addresses DROP CONSTRAINT deposit_addresses_rail_agent_id_key;
ALTER TABLE deposit_addresses ADD COLUMN key_id text;
CREATE INDEX ix_deposit_addresses_agent ON deposit_addresses (rail, agent_id);
