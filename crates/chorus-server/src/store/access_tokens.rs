//! Personal access tokens: stored by the SHA-256 of the token (the token itself is
//! shown once, when it is created), looked up on every request that carries one, and
//! disabled, enabled or revoked by id.

use super::{on_reader, on_writer, Store, StoreResult};
use chorus_model::{User, UserAccessToken};

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_id: String,
    description: String,
    is_active: bool,
}

impl From<TokenRow> for UserAccessToken {
    fn from(row: TokenRow) -> UserAccessToken {
        UserAccessToken {
            id: row.id,
            token: String::new(),
            user_id: row.user_id,
            description: row.description,
            is_active: row.is_active,
        }
    }
}

/// An active token with the little of its (not deactivated) user that requests need.
#[derive(sqlx::FromRow)]
struct TokenUserRow {
    #[sqlx(flatten)]
    token: TokenRow,
    roles: String,
    username: String,
    is_bot: bool,
}

const SELECT_TOKENS: &str = "SELECT id, user_id, description, is_active FROM user_access_tokens ";

impl Store {
    pub async fn create_access_token(
        &self,
        token: &UserAccessToken,
        token_hash: &str,
        create_at: i64,
    ) -> StoreResult<()> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO user_access_tokens (id, token_hash, user_id, description, is_active, create_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&token.id)
            .bind(token_hash)
            .bind(&token.user_id)
            .bind(&token.description)
            .bind(token.is_active)
            .bind(create_at)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    pub async fn get_access_token(&self, id: &str) -> StoreResult<Option<UserAccessToken>> {
        let row: Option<TokenRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("{SELECT_TOKENS} WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(UserAccessToken::from))
    }

    /// A user's tokens, oldest first; `user_id` `None` lists everyone's.
    pub async fn list_access_tokens(
        &self,
        user_id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserAccessToken>> {
        let rows: Vec<TokenRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "{SELECT_TOKENS} WHERE ($1 IS NULL OR user_id = $1) \
                 ORDER BY create_at, id LIMIT $2 OFFSET $3"
            ))
            .bind(user_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(UserAccessToken::from).collect())
    }

    /// The active token whose hash is `token_hash`, with its user, unless the user is
    /// deactivated.
    pub async fn access_token_by_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(UserAccessToken, User)>> {
        let row: Option<TokenUserRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT t.id, t.user_id, t.description, t.is_active, u.roles, u.username, u.is_bot \
                 FROM user_access_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = $1 AND t.is_active AND u.delete_at = 0",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|row| {
            let user = User {
                id: row.token.user_id.clone(),
                roles: row.roles,
                username: row.username,
                is_bot: row.is_bot,
                ..User::default()
            };
            (UserAccessToken::from(row.token), user)
        }))
    }

    /// Turns a token on or off; false when there is no such token.
    pub async fn set_access_token_active(&self, id: &str, active: bool) -> StoreResult<bool> {
        let changed = on_writer!(self, pool => {
            sqlx::query("UPDATE user_access_tokens SET is_active = $1 WHERE id = $2")
                .bind(active)
                .bind(id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(changed > 0)
    }

    pub async fn delete_access_token(&self, id: &str) -> StoreResult<bool> {
        let deleted = on_writer!(self, pool => {
            sqlx::query("DELETE FROM user_access_tokens WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(deleted > 0)
    }

    /// The ids of a user's active tokens: the "sessions" their websockets run under.
    pub async fn active_access_token_ids(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let ids = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT id FROM user_access_tokens WHERE user_id = $1 AND is_active")
                .bind(user_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(ids)
    }
}
