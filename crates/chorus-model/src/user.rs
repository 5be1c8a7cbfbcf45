//! Users, sessions and the request bodies of sign-up and login.

use serde::{Deserialize, Serialize};

/// Role names as Mattermost spells them in the space-separated `roles` field.
pub const ROLE_SYSTEM_USER: &str = "system_user";
pub const ROLE_SYSTEM_ADMIN: &str = "system_admin";
/// Lets a user who is not an admin create and manage their own personal access tokens.
pub const ROLE_SYSTEM_USER_ACCESS_TOKEN: &str = "system_user_access_token";

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
    /// Notification settings (see `notify`), with the defaults filled in.
    pub notify_props: serde_json::Map<String, serde_json::Value>,
    /// When the user last set their profile image (ms; negative when they reset it to
    /// the generated one, 0 never): clients put it in the image's URL to refresh it.
    pub last_picture_update: i64,
}

/// `GET /users/autocomplete`: the matching users (of the channel, when one is asked
/// about) and, for a channel, the matching team members outside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UserAutocomplete {
    pub users: Vec<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_channel: Option<Vec<User>>,
}

impl User {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.split_whitespace().any(|r| r == role)
    }

    pub fn is_system_admin(&self) -> bool {
        self.has_role(ROLE_SYSTEM_ADMIN)
    }
}

/// A role and the permissions it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub permissions: Vec<String>,
    pub scheme_managed: bool,
    pub built_in: bool,
}

/// One of a user's preferences, as Mattermost's clients store them on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Preference {
    pub user_id: String,
    pub category: String,
    pub name: String,
    pub value: String,
}

/// A personal access token. `token` is only ever filled in the reply that creates it:
/// the server keeps its hash alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UserAccessToken {
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    pub user_id: String,
    pub description: String,
    pub is_active: bool,
}

/// A bot account: a user with `is_bot`, and what only bots have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Bot {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub description: String,
    pub owner_id: String,
    pub last_icon_update: i64,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
}

/// Body of `POST /bots` and `PUT /bots/{id}`: absent fields are left as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct BotPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
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
