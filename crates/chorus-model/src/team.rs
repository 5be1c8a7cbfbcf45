//! Teams and team membership.

use serde::{Deserialize, Serialize};

pub const TEAM_OPEN: &str = "O";
pub const TEAM_INVITE: &str = "I";
pub const ROLE_TEAM_USER: &str = "team_user";
pub const ROLE_TEAM_ADMIN: &str = "team_admin";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Team {
    pub id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub display_name: String,
    pub name: String,
    pub description: String,
    pub email: String,
    #[serde(rename = "type")]
    pub team_type: String,
    pub company_name: String,
    pub allowed_domains: String,
    pub invite_id: String,
    pub allow_open_invite: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TeamMember {
    pub team_id: String,
    pub user_id: String,
    pub roles: String,
    pub delete_at: i64,
    pub scheme_user: bool,
    pub scheme_admin: bool,
}
