-- An org has one desktop-mfa app: the database enforces it, so concurrent creates cannot race.
CREATE UNIQUE INDEX apps_one_desktop_mfa ON apps(app_type) WHERE app_type = 'desktop-mfa';
