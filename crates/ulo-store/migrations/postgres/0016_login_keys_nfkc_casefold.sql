-- Logins are compared by their NFKC_Casefold form (ulo_core::login_key) instead of lower():
-- `ADMIN@…`, fullwidth `ａｄｍｉｎ@…` and `admin@…` are one login. SQL cannot compute that key,
-- so this marks the stored keys stale and ulo-store recomputes them right after the
-- migrations (`login_keys::rekey`), in one transaction, then removes the mark.
INSERT INTO settings (key, value, updated) VALUES ('login_keys_stale', '"nfkc_casefold"', 0)
ON CONFLICT (key) DO NOTHING;
