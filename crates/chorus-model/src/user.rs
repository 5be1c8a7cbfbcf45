//! Users, sessions and the request bodies of sign-up and login.

use serde::{Deserialize, Serialize};

/// Role names as Mattermost spells them in the space-separated `roles` field.
pub const ROLE_SYSTEM_USER: &str = "system_user";
pub const ROLE_SYSTEM_ADMIN: &str = "system_admin";

/// A user as the API returns it. Never carries a password or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub username: String,
    pub auth_data: String,
    pub auth_service: String,
    pub email: String,
    pub email_verified: bool,
    pub nickname: String,
    pub first_name: String,
    pub last_name: String,
    pub position: String,
    pub roles: String,
    pub locale: String,
    pub is_bot: bool,
    pub props: serde_json::Map<String, serde_json::Value>,
}

impl User {
    pub fn is_system_admin(&self) -> bool {
        self.roles
            .split_whitespace()
            .any(|r| r == ROLE_SYSTEM_ADMIN)
    }
}

/// Body of `POST /users`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CreateUserRequest {
    pub username: String,
    pub email: String,
    pub password: String,
    pub nickname: String,
    pub first_name: String,
    pub last_name: String,
    pub position: String,
    pub locale: String,
}

/// Body of `POST /users/login`; `token` (MFA) may be `""` or `null` depending on the client.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LoginRequest {
    pub login_id: String,
    pub password: String,
    pub token: Option<String>,
    #[serde(alias = "deviceId")]
    pub device_id: Option<String>,
}
