-- The key ring of ASP.NET Core Data Protection (it signs and encrypts the operator's login cookie and the antiforgery
-- tokens), shared by every instance and kept across restarts. A key is as secret as the rest of this database.
CREATE TABLE data_protection_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    friendly_name text   NOT NULL UNIQUE,
    xml           text   NOT NULL,
    created_at    bigint NOT NULL
);
