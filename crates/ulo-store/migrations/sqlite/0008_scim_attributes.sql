-- SCIM service provider: the attributes a SCIM client last wrote for a user or group, kept so
-- the SCIM representation answers them back faithfully (sub-attributes ulo's profile has no
-- place for, e.g. emails[].type); ulo's own profile stays the source of truth for what it uses.
CREATE TABLE scim_attributes (
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    attributes TEXT NOT NULL,
    PRIMARY KEY (resource_type, resource_id)
);
