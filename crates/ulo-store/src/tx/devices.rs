//! Devices: enrollment tokens, devices, who signs in on them, and commands.
//!
//! `devices_methods!` implements `DevicesRead` and `DevicesTx` for a backend's transaction.

/// Implements `DevicesRead` and `DevicesTx` for `$tx` (with `tx` and `woken` fields).
macro_rules! devices_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::DevicesRead for $tx {
            async fn find_enrollment_token(&mut self, hash: &str) -> Result<Option<ulo_core::device::EnrollmentToken>, StoreError> {
                let row: Option<crate::tx::devices::TokenRow> = sqlx::query_as("SELECT id, token_hash, created_by, created, expires, used, device_id FROM device_enrollment_tokens WHERE token_hash=$1")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(crate::tx::devices::token_from_row).transpose()
            }

            async fn get_device(&mut self, id: ulo_core::ids::DeviceId) -> Result<Option<ulo_core::device::Device>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT data FROM devices WHERE id=$1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(|r| crate::tx::devices::from_doc(&r.0, "device")).transpose()
            }

            async fn list_devices(&mut self, page: &Page) -> Result<Vec<ulo_core::device::Device>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT data FROM devices WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(page.after.clone().unwrap_or_default())
                    .bind(i64::from(page.limit.max(1)))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|r| crate::tx::devices::from_doc(&r.0, "device")).collect()
            }

            async fn list_device_users(&mut self, device: ulo_core::ids::DeviceId) -> Result<Vec<ulo_core::device::DeviceUser>, StoreError> {
                let rows: Vec<crate::tx::devices::DeviceUserRow> = sqlx::query_as("SELECT device_id, user_id, os_login, first_seen, last_seen FROM device_users WHERE device_id=$1 ORDER BY last_seen DESC, user_id")
                    .bind(device.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(crate::tx::devices::device_user_from_row).collect()
            }

            async fn list_user_devices(&mut self, user: UserId) -> Result<Vec<(ulo_core::device::Device, ulo_core::device::DeviceUser)>, StoreError> {
                let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as("SELECT d.data, u.device_id, u.user_id, u.os_login, u.first_seen, u.last_seen FROM device_users u JOIN devices d ON d.id = u.device_id WHERE u.user_id=$1 ORDER BY d.id")
                    .bind(user.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter()
                    .map(|(data, device_id, user_id, os_login, first_seen, last_seen)| {
                        Ok((
                            crate::tx::devices::from_doc(&data, "device")?,
                            crate::tx::devices::device_user_from_row((device_id, user_id, os_login, first_seen, last_seen))?,
                        ))
                    })
                    .collect()
            }

            async fn get_device_command(&mut self, id: ulo_core::ids::DeviceCommandId) -> Result<Option<ulo_core::device::DeviceCommand>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT data FROM device_commands WHERE id=$1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(|r| crate::tx::devices::from_doc(&r.0, "device command")).transpose()
            }

            async fn open_device_commands(&mut self, device: ulo_core::ids::DeviceId) -> Result<Vec<ulo_core::device::DeviceCommand>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT data FROM device_commands WHERE device_id=$1 AND status IN ('ISSUED', 'DELIVERED') ORDER BY id")
                    .bind(device.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|r| crate::tx::devices::from_doc(&r.0, "device command")).collect()
            }

            async fn get_device_with_open_commands(&mut self, id: ulo_core::ids::DeviceId) -> Result<Option<(ulo_core::device::Device, Vec<ulo_core::device::DeviceCommand>)>, StoreError> {
                let rows: Vec<(String, Option<String>)> = sqlx::query_as(
                    "SELECT d.data, c.data FROM devices d LEFT JOIN device_commands c ON c.device_id = d.id AND c.status IN ('ISSUED', 'DELIVERED') WHERE d.id=$1 ORDER BY c.id",
                )
                .bind(id.to_string())
                .fetch_all(&mut *self.tx)
                .await
                .map_err(db_err)?;
                let Some((device, _)) = rows.first() else {
                    return Ok(None);
                };
                let device = crate::tx::devices::from_doc(device, "device")?;
                let commands = rows
                    .iter()
                    .filter_map(|(_, c)| c.as_deref())
                    .map(|c| crate::tx::devices::from_doc(c, "device command"))
                    .collect::<Result<_, _>>()?;
                Ok(Some((device, commands)))
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::DevicesTx for $tx {
            async fn insert_enrollment_token(&mut self, t: &ulo_core::device::EnrollmentToken) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO device_enrollment_tokens (id, token_hash, created_by, created, expires, used, device_id) VALUES ($1,$2,$3,$4,$5,$6,$7)")
                    .bind(&t.id)
                    .bind(&t.token_hash)
                    .bind(&t.created_by)
                    .bind(to_millis(t.created))
                    .bind(to_millis(t.expires))
                    .bind(t.used.map(to_millis))
                    .bind(t.device_id.map(|d| d.to_string()))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn consume_enrollment_token(&mut self, id: &str, device: ulo_core::ids::DeviceId, now: OffsetDateTime) -> Result<bool, StoreError> {
                // The `used IS NULL` guard decides: of two concurrent enrollments only one updates.
                let r = sqlx::query("UPDATE device_enrollment_tokens SET used=$3, device_id=$2 WHERE id=$1 AND used IS NULL")
                    .bind(id)
                    .bind(device.to_string())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_device(&mut self, d: &ulo_core::device::Device) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO devices (id, status, created, data) VALUES ($1,$2,$3,$4)")
                    .bind(d.id.to_string())
                    .bind(d.status.as_str())
                    .bind(to_millis(d.created))
                    .bind(crate::tx::devices::doc(d)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_device(&mut self, d: &ulo_core::device::Device) -> Result<(), StoreError> {
                sqlx::query("UPDATE devices SET status=$2, data=$3 WHERE id=$1")
                    .bind(d.id.to_string())
                    .bind(d.status.as_str())
                    .bind(crate::tx::devices::doc(d)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn put_device_user(&mut self, l: &ulo_core::device::DeviceUser) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO device_users (device_id, user_id, os_login, first_seen, last_seen) VALUES ($1,$2,$3,$4,$5) \
                             ON CONFLICT (device_id, user_id) DO UPDATE SET os_login=excluded.os_login, last_seen=excluded.last_seen")
                    .bind(l.device_id.to_string())
                    .bind(l.user_id.to_string())
                    .bind(&l.os_login)
                    .bind(to_millis(l.first_seen))
                    .bind(to_millis(l.last_seen))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn insert_device_commands(&mut self, commands: &[ulo_core::device::DeviceCommand]) -> Result<(), StoreError> {
                for chunk in commands.chunks(crate::tx::ROWS_PER_INSERT) {
                    let sql = format!(
                        "INSERT INTO device_commands (id, device_id, status, expires, data) VALUES {}",
                        crate::tx::values_list(chunk.len(), &["$", "$", "$", "$", "$"])
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
                    for c in chunk {
                        q = q
                            .bind(c.id.to_string())
                            .bind(c.device_id.to_string())
                            .bind(c.status.as_str())
                            .bind(to_millis(c.expires))
                            .bind(crate::tx::devices::doc(c)?);
                    }
                    q.execute(&mut *self.tx).await.map_err(db_err)?;
                }
                let mut devices: Vec<ulo_core::ids::DeviceId> = commands.iter().map(|c| c.device_id).collect();
                devices.sort_unstable();
                devices.dedup();
                if $dialect == crate::filter_sql::Dialect::Postgres {
                    // Delivered to every listening process at commit, dropped on rollback.
                    for d in &devices {
                        sqlx::query("SELECT pg_notify($1, $2)")
                            .bind(crate::device_watch::CHANNEL)
                            .bind(d.to_string())
                            .execute(&mut *self.tx)
                            .await
                            .map_err(db_err)?;
                    }
                }
                self.woken.extend(devices);
                Ok(())
            }

            async fn update_device_command(&mut self, c: &ulo_core::device::DeviceCommand) -> Result<(), StoreError> {
                sqlx::query("UPDATE device_commands SET status=$2, expires=$3, data=$4 WHERE id=$1")
                    .bind(c.id.to_string())
                    .bind(c.status.as_str())
                    .bind(to_millis(c.expires))
                    .bind(crate::tx::devices::doc(c)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }
        }
    };
}

pub(crate) use devices_methods;

use ulo_core::clock::from_millis;
use ulo_core::store::StoreError;

/// A `device_enrollment_tokens` row.
pub(crate) type TokenRow = (
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

/// A `device_users` row.
pub(crate) type DeviceUserRow = (String, String, String, i64, i64);

/// A stored document (device or command) as JSON text.
pub(crate) fn doc<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A stored document read back.
pub(crate) fn from_doc<T: serde::de::DeserializeOwned>(
    raw: &str,
    what: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn parse_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, StoreError> {
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what}: bad id {raw:?}")))
}

/// A token row as a token.
pub(crate) fn token_from_row(
    (id, token_hash, created_by, created, expires, used, device_id): TokenRow,
) -> Result<ulo_core::device::EnrollmentToken, StoreError> {
    Ok(ulo_core::device::EnrollmentToken {
        id,
        token_hash,
        created_by,
        created: from_millis(created),
        expires: from_millis(expires),
        used: used.map(from_millis),
        device_id: device_id
            .map(|d| parse_id(&d, "device_enrollment_tokens.device_id"))
            .transpose()?,
    })
}

/// A `device_users` row as a link.
pub(crate) fn device_user_from_row(
    (device_id, user_id, os_login, first_seen, last_seen): DeviceUserRow,
) -> Result<ulo_core::device::DeviceUser, StoreError> {
    Ok(ulo_core::device::DeviceUser {
        device_id: parse_id(&device_id, "device_users.device_id")?,
        user_id: parse_id(&user_id, "device_users.user_id")?,
        os_login,
        first_seen: from_millis(first_seen),
        last_seen: from_millis(last_seen),
    })
}
