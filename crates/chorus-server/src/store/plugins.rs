//! Plugin data: the key-value store (one namespace per plugin id, with expiry and
//! atomic compare-and-set, always on the primary), plugin enabled states and plugin
//! settings.
//!
//! Compare-and-set is a single conditional statement, so concurrent writers from any
//! node race inside the database, never between a read and a write.

use super::{on_reader, on_writer, Backend, IdList, JsonObject, Store, StoreError, StoreResult};
use chorus_model::now_millis;
use sqlx::types::Json;

/// What a KV write should do.
#[derive(Debug, Clone, Default)]
pub struct KvWrite {
    /// `None` deletes.
    pub value: Option<Vec<u8>>,
    /// Only write when the current value is `old_value` (`None`: only when absent).
    pub atomic: bool,
    pub old_value: Option<Vec<u8>>,
    pub expire_in_seconds: i64,
}

fn expiry(now: i64, seconds: i64) -> i64 {
    if seconds > 0 {
        now.saturating_add(seconds.saturating_mul(1000))
    } else {
        0
    }
}

impl Store {
    /// Applies a KV write; returns whether it happened (false only for a failed
    /// compare-and-set).
    pub async fn kv_write(&self, plugin_id: &str, key: &str, write: &KvWrite) -> StoreResult<bool> {
        let now = now_millis();
        let expire_at = expiry(now, write.expire_in_seconds);
        // `$3` is now in the conditional writes: an expired value counts as absent.
        let done = on_writer!(self, pool => {
            match (&write.value, write.atomic, &write.old_value) {
                (None, false, _) => {
                    sqlx::query("DELETE FROM plugin_kv WHERE plugin_id = $1 AND pkey = $2")
                        .bind(plugin_id)
                        .bind(key)
                        .execute(pool)
                        .await?;
                    return Ok(true);
                }
                (Some(value), false, _) => {
                    sqlx::query(
                        "INSERT INTO plugin_kv (plugin_id, pkey, pvalue, expire_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (plugin_id, pkey) DO UPDATE SET pvalue = excluded.pvalue, expire_at = excluded.expire_at",
                    )
                    .bind(plugin_id)
                    .bind(key)
                    .bind(value.as_slice())
                    .bind(expire_at)
                    .execute(pool)
                    .await?;
                    return Ok(true);
                }
                // Insert only if absent or expired.
                (Some(value), true, None) => sqlx::query(
                    "INSERT INTO plugin_kv (plugin_id, pkey, pvalue, expire_at) VALUES ($1, $2, $4, $5) \
                     ON CONFLICT (plugin_id, pkey) DO UPDATE SET pvalue = excluded.pvalue, expire_at = excluded.expire_at \
                     WHERE NOT (plugin_kv.expire_at = 0 OR plugin_kv.expire_at > $3)",
                )
                .bind(plugin_id)
                .bind(key)
                .bind(now)
                .bind(value.as_slice())
                .bind(expire_at)
                .execute(pool)
                .await?,
                // Replace only if the live value is `old`.
                (Some(value), true, Some(old)) => sqlx::query(
                    "UPDATE plugin_kv SET pvalue = $4, expire_at = $5 \
                     WHERE plugin_id = $1 AND pkey = $2 AND pvalue = $6 \
                       AND (plugin_kv.expire_at = 0 OR plugin_kv.expire_at > $3)",
                )
                .bind(plugin_id)
                .bind(key)
                .bind(now)
                .bind(value.as_slice())
                .bind(expire_at)
                .bind(old.as_slice())
                .execute(pool)
                .await?,
                // Delete only if the live value is `old`.
                (None, true, Some(old)) => sqlx::query(
                    "DELETE FROM plugin_kv WHERE plugin_id = $1 AND pkey = $2 AND pvalue = $4 \
                       AND (plugin_kv.expire_at = 0 OR plugin_kv.expire_at > $3)",
                )
                .bind(plugin_id)
                .bind(key)
                .bind(now)
                .bind(old.as_slice())
                .execute(pool)
                .await?,
                // Delete only if absent: nothing to do, and it "happened" only if absent.
                (None, true, None) => return Ok(self.kv_get(plugin_id, key).await?.is_none()),
            }
            .rows_affected()
        });
        Ok(done > 0)
    }

    /// A live (unexpired) value.
    pub async fn kv_get(&self, plugin_id: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let value = on_reader!(self, pool => {
            sqlx::query_scalar(
                "SELECT pvalue FROM plugin_kv WHERE plugin_id = $1 AND pkey = $2 \
                 AND (expire_at = 0 OR expire_at > $3)",
            )
            .bind(plugin_id)
            .bind(key)
            .bind(now_millis())
            .fetch_optional(pool)
            .await
        })?;
        Ok(value)
    }

    /// Live values of several keys; absent keys are left out.
    pub async fn kv_get_many(
        &self,
        plugin_id: &str,
        keys: &[String],
    ) -> StoreResult<Vec<(String, Vec<u8>)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values = on_reader!(self, pool, backend => {
            let sql = match backend {
                Backend::Postgres => {
                    "SELECT pkey, pvalue FROM plugin_kv WHERE plugin_id = $1 \
                     AND (expire_at = 0 OR expire_at > $2) AND pkey = ANY($3)"
                }
                Backend::Sqlite => {
                    "SELECT pkey, pvalue FROM plugin_kv WHERE plugin_id = $1 \
                     AND (expire_at = 0 OR expire_at > $2) \
                     AND pkey IN (SELECT value FROM json_each($3))"
                }
            };
            sqlx::query_as(sql)
                .bind(plugin_id)
                .bind(now_millis())
                .bind(IdList(keys))
                .fetch_all(pool)
                .await
        })?;
        Ok(values)
    }

    pub async fn kv_delete_all(&self, plugin_id: &str) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query("DELETE FROM plugin_kv WHERE plugin_id = $1")
                .bind(plugin_id)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// Live keys starting with `prefix`, sorted, one page.
    pub async fn kv_list(
        &self,
        plugin_id: &str,
        prefix: &str,
        page: i64,
        per_page: i64,
    ) -> StoreResult<Vec<String>> {
        let keys = on_reader!(self, pool => {
            sqlx::query_scalar(
                "SELECT pkey FROM plugin_kv WHERE plugin_id = $1 \
                 AND substr(pkey, 1, CAST($2 AS INTEGER)) = $3 \
                 AND (expire_at = 0 OR expire_at > $4) ORDER BY pkey LIMIT $5 OFFSET $6",
            )
            .bind(plugin_id)
            .bind(prefix.chars().count() as i64)
            .bind(prefix)
            .bind(now_millis())
            .bind(per_page)
            .bind(page * per_page)
            .fetch_all(pool)
            .await
        })?;
        Ok(keys)
    }

    /// Removes expired keys; they are already invisible, this only reclaims space.
    pub async fn kv_sweep_expired(&self) -> StoreResult<u64> {
        let done = on_writer!(self, pool => {
            sqlx::query("DELETE FROM plugin_kv WHERE expire_at > 0 AND expire_at <= $1")
                .bind(now_millis())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done)
    }

    /// Enabled flags set through the API, by plugin id.
    pub async fn plugin_states(&self) -> StoreResult<Vec<(String, bool)>> {
        let states = on_reader!(self, pool => {
            sqlx::query_as("SELECT plugin_id, enabled FROM plugin_states")
                .fetch_all(pool)
                .await
        })?;
        Ok(states)
    }

    pub async fn set_plugin_state(&self, plugin_id: &str, enabled: bool) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO plugin_states (plugin_id, enabled, update_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (plugin_id) DO UPDATE SET enabled = excluded.enabled, update_at = excluded.update_at",
            )
            .bind(plugin_id)
            .bind(enabled)
            .bind(now_millis())
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    pub async fn delete_plugin_state(&self, plugin_id: &str) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query("DELETE FROM plugin_states WHERE plugin_id = $1")
                .bind(plugin_id)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// A plugin's saved settings, if any were saved.
    pub async fn plugin_config(&self, plugin_id: &str) -> StoreResult<Option<JsonObject>> {
        let config: Option<Json<JsonObject>> = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT config_json FROM plugin_configs WHERE plugin_id = $1")
                .bind(plugin_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(config.map(|config| config.0))
    }

    pub async fn save_plugin_config(
        &self,
        plugin_id: &str,
        config: &JsonObject,
    ) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO plugin_configs (plugin_id, config_json, update_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (plugin_id) DO UPDATE SET config_json = excluded.config_json, update_at = excluded.update_at",
            )
            .bind(plugin_id)
            .bind(Json(config))
            .bind(now_millis())
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }
}

/// An uploaded bundle as stored for every node.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredBundle {
    pub plugin_id: String,
    pub upload_id: String,
    pub version: String,
    pub bundle: Vec<u8>,
}

/// The `systems` row naming the admin whose installation of a plugin still awaits its
/// `OnInstall`.
fn install_pending_name(plugin_id: &str) -> String {
    format!("PluginOnInstallPending:{plugin_id}")
}

impl Store {
    /// Records that `user_id` installed the plugin and `OnInstall` is owed (a later
    /// installation replaces an earlier one still owed).
    pub async fn mark_install_pending(&self, plugin_id: &str, user_id: &str) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO systems (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(install_pending_name(plugin_id))
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Takes the owed `OnInstall` of a plugin, if any: whichever node asks first gets
    /// the installing admin's id, every other nothing.
    pub async fn take_install_pending(&self, plugin_id: &str) -> StoreResult<Option<String>> {
        let user_id: Option<String> = on_writer!(self, pool => {
            sqlx::query_scalar("DELETE FROM systems WHERE name = $1 RETURNING value")
                .bind(install_pending_name(plugin_id))
                .fetch_optional(pool)
                .await
        })?;
        Ok(user_id)
    }

    /// Stores (or replaces) an uploaded bundle.
    pub async fn save_plugin_bundle(&self, bundle: &StoredBundle) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO plugin_bundles (plugin_id, upload_id, version, bundle, uploaded_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (plugin_id) DO UPDATE SET upload_id = excluded.upload_id, version = excluded.version, \
                 bundle = excluded.bundle, uploaded_at = excluded.uploaded_at",
            )
            .bind(&bundle.plugin_id)
            .bind(&bundle.upload_id)
            .bind(&bundle.version)
            .bind(bundle.bundle.as_slice())
            .bind(now_millis())
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// `(plugin id, upload id)` of every stored bundle, without the bytes.
    pub async fn plugin_bundle_ids(&self) -> StoreResult<Vec<(String, String)>> {
        let ids = on_writer!(self, pool => {
            sqlx::query_as("SELECT plugin_id, upload_id FROM plugin_bundles ORDER BY plugin_id")
                .fetch_all(pool)
                .await
        })?;
        Ok(ids)
    }

    pub async fn plugin_bundle(&self, plugin_id: &str) -> StoreResult<Option<StoredBundle>> {
        let bundle = on_writer!(self, pool => {
            sqlx::query_as(
                "SELECT plugin_id, upload_id, version, bundle FROM plugin_bundles WHERE plugin_id = $1",
            )
            .bind(plugin_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(bundle)
    }

    /// Whether a bundle of `plugin_id` is stored or any node reports having it.
    pub async fn plugin_known_to_cluster(&self, plugin_id: &str) -> StoreResult<bool> {
        let known: Option<i32> = on_writer!(self, pool => {
            sqlx::query_scalar(
                "SELECT 1 FROM plugin_bundles WHERE plugin_id = $1 \
                 UNION ALL SELECT 1 FROM plugin_statuses WHERE plugin_id = $1 LIMIT 1",
            )
            .bind(plugin_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(known.is_some())
    }

    /// Forgets a plugin cluster-wide: its stored bundle, enabled state and reported
    /// statuses, together.
    pub async fn delete_plugin(&self, plugin_id: &str) -> StoreResult<()> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM plugin_bundles WHERE plugin_id = $1")
                .bind(plugin_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM plugin_states WHERE plugin_id = $1")
                .bind(plugin_id)
                .execute(&mut *tx)
                .await?;
            // Nodes report their copies again if any remains; until then none is listed.
            sqlx::query("DELETE FROM plugin_statuses WHERE plugin_id = $1")
                .bind(plugin_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
        .map_err(StoreError::from)
    }

    /// Every plugin's saved settings, to notice changes made on other nodes.
    pub async fn all_plugin_configs(&self) -> StoreResult<Vec<(String, JsonObject)>> {
        let rows: Vec<(String, Json<JsonObject>)> = on_writer!(self, pool => {
            sqlx::query_as("SELECT plugin_id, config_json FROM plugin_configs")
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, config)| (id, config.0))
            .collect())
    }
}
