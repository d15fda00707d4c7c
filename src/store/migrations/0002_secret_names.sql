-- The names of keyring entries trmctl wrote (`trmctl secret set`, `auth google`), so
-- `trmctl secret list` can show them. Names only: values stay in the keyring.
CREATE TABLE secret_names (
    name       TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL
) STRICT;
