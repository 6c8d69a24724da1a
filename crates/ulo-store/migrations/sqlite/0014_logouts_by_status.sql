-- Receipts listed by status (`GET /api/v1/logouts?status=IN_PROGRESS`): the few in progress
-- are found without walking every completed one.
CREATE INDEX logouts_status ON logouts(status, id);
