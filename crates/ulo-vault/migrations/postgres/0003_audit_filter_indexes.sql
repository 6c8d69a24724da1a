-- Audit filters compare strings ignoring ASCII case and page by id (a keyset cursor): the
-- common ones (jti, type, target id) are answered from these indexes instead of a scan.

DROP INDEX audit_events_jti;
DROP INDEX audit_events_type;
CREATE INDEX audit_events_jti_ci ON audit_events (LOWER(jti), id);
CREATE INDEX audit_events_type_ci ON audit_events (LOWER(event_type), id);
CREATE INDEX audit_events_target_ci ON audit_events (LOWER(target_id), id);
