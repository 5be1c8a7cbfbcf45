//! Users' preferences: `(category, name) → value` pairs per user, saved by upsert and
//! deleted in batches, each batch in one transaction.

use super::{on_reader, on_writer, Store, StoreResult};
use chorus_model::Preference;

#[derive(sqlx::FromRow)]
struct PreferenceRow {
    user_id: String,
    category: String,
    name: String,
    value: String,
}

impl From<PreferenceRow> for Preference {
    fn from(row: PreferenceRow) -> Preference {
        Preference {
            user_id: row.user_id,
            category: row.category,
            name: row.name,
            value: row.value,
        }
    }
}

const SELECT_PREFERENCES: &str = "SELECT user_id, category, name, value FROM preferences ";

impl Store {
    /// Saves (inserts or replaces) preferences, all or none.
    pub async fn save_preferences(&self, preferences: &[Preference]) -> StoreResult<()> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            for preference in preferences {
                sqlx::query(
                    "INSERT INTO preferences (user_id, category, name, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id, category, name) DO UPDATE SET value = excluded.value",
                )
                .bind(&preference.user_id)
                .bind(&preference.category)
                .bind(&preference.name)
                .bind(&preference.value)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes preferences, all or none; answers how many existed.
    pub async fn delete_preferences(&self, preferences: &[Preference]) -> StoreResult<u64> {
        let mut deleted = 0;
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            for preference in preferences {
                deleted += sqlx::query(
                    "DELETE FROM preferences WHERE user_id = $1 AND category = $2 AND name = $3",
                )
                .bind(&preference.user_id)
                .bind(&preference.category)
                .bind(&preference.name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
        });
        Ok(deleted)
    }

    /// A user's preferences, of one category when given, in a stable order.
    pub async fn preferences(
        &self,
        user_id: &str,
        category: Option<&str>,
        name: Option<&str>,
    ) -> StoreResult<Vec<Preference>> {
        let rows: Vec<PreferenceRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "{SELECT_PREFERENCES} WHERE user_id = $1 AND ($2 IS NULL OR category = $2) \
                 AND ($3 IS NULL OR name = $3) ORDER BY category, name"
            ))
            .bind(user_id)
            .bind(category)
            .bind(name)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Preference::from).collect())
    }
}
