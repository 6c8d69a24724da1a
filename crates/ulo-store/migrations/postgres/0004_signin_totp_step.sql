-- The last TOTP time step accepted for a user: a code is accepted once (RFC 6238 §5.2).
ALTER TABLE sign_in_state ADD COLUMN totp_last_step BIGINT;
