//! Interactive dialogs open for a user: recorded when the server shows one, checked when
//! one is submitted, dropped when the integration accepts a submission or the dialog
//! expires.

use super::{on_writer, Store, StoreResult};

impl Store {
    /// Records (or renews) a dialog shown to `user_id`, and drops expired ones.
    pub async fn open_dialog(
        &self,
        user_id: &str,
        url: &str,
        callback_id: &str,
        now: i64,
        expire_at: i64,
    ) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query("DELETE FROM open_dialogs WHERE expire_at <= $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO open_dialogs (user_id, url, callback_id, expire_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, url, callback_id) DO UPDATE SET expire_at = excluded.expire_at",
            )
            .bind(user_id)
            .bind(url)
            .bind(callback_id)
            .bind(expire_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether such a dialog is open for `user_id`. Read on the writer, since the
    /// dialog may have been opened through another node a moment ago.
    pub async fn is_dialog_open(
        &self,
        user_id: &str,
        url: &str,
        callback_id: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let found: Option<i64> = on_writer!(self, pool => {
            sqlx::query_scalar(
                "SELECT expire_at FROM open_dialogs \
                 WHERE user_id = $1 AND url = $2 AND callback_id = $3 AND expire_at > $4",
            )
            .bind(user_id)
            .bind(url)
            .bind(callback_id)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }

    /// Forgets a dialog once its submission was accepted.
    pub async fn close_dialog(
        &self,
        user_id: &str,
        url: &str,
        callback_id: &str,
    ) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query("DELETE FROM open_dialogs WHERE user_id = $1 AND url = $2 AND callback_id = $3")
                .bind(user_id)
                .bind(url)
                .bind(callback_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
