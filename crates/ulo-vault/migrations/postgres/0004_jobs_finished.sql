-- When a job finished (done or dead), as ulo's jobs table keeps it: both stores record an
-- attempt's end with the same statements (ulo_sql::jobs).
ALTER TABLE jobs ADD COLUMN finished BIGINT;
