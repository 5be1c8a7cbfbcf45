//! The built-in roles, as Mattermost's apps read them at start-up to decide what to
//! offer (`GET /roles/name/{name}`, `POST /roles/names`, `GET /roles/{id}`). Chorus has
//! no permission schemes: the roles are fixed, and each lists Mattermost's permissions
//! for what Chorus serves, so that an app does not offer what would only fail (no
//! custom groups yet). Anyone signed in may read them.

use super::validate::require_id;
use crate::error::{AppError, AppResult, Code};
use crate::security::digest::sha256_hex;
use chorus_model::Role;

/// Most role names one `POST /roles/names` may ask for (Mattermost's limit).
pub const MAX_NAMES_PER_REQUEST: usize = 100;

const SYSTEM_USER: &[&str] = &[
    "list_public_teams",
    "join_public_teams",
    "create_direct_channel",
    "create_group_channel",
    "view_members",
    "create_team",
];

const SYSTEM_USER_ACCESS_TOKEN: &[&str] = &[
    "create_user_access_token",
    "read_user_access_token",
    "revoke_user_access_token",
];

const TEAM_USER: &[&str] = &[
    "list_team_channels",
    "join_public_channels",
    "read_public_channel",
    "view_team",
    "create_public_channel",
    "create_private_channel",
    "invite_user",
    "add_user_to_team",
];

const TEAM_ADMIN: &[&str] = &[
    "remove_user_from_team",
    "manage_team",
    "manage_team_roles",
    "manage_channel_roles",
    "delete_post",
    "delete_others_posts",
    "manage_incoming_webhooks",
    "manage_others_incoming_webhooks",
    "manage_slash_commands",
    "manage_others_slash_commands",
    "manage_outgoing_webhooks",
    "manage_others_outgoing_webhooks",
];

const CHANNEL_USER: &[&str] = &[
    "read_channel",
    "read_channel_content",
    "add_reaction",
    "remove_reaction",
    "manage_public_channel_members",
    "create_post",
    "upload_file",
    "use_channel_mentions",
    "manage_public_channel_properties",
    "delete_public_channel",
    "manage_private_channel_properties",
    "delete_private_channel",
    "manage_private_channel_members",
    "delete_post",
    "edit_post",
];

const CHANNEL_ADMIN: &[&str] = &["manage_channel_roles"];

/// What only system admins may do, besides everything the other roles give.
const SYSTEM_ADMIN_ONLY: &[&str] = &[
    "manage_system",
    "manage_roles",
    "edit_other_users",
    "read_other_users_teams",
    "create_bot",
    "read_bots",
    "read_others_bots",
    "manage_bots",
    "manage_others_bots",
    "assign_bot",
    "remove_others_reactions",
    "edit_others_posts",
    "manage_plugins",
];

/// `(name, scheme managed, permissions)` of every built-in role.
const ROLES: &[(&str, bool, &[&[&str]])] = &[
    ("system_user", true, &[SYSTEM_USER]),
    (
        "system_admin",
        true,
        &[
            SYSTEM_ADMIN_ONLY,
            SYSTEM_USER,
            SYSTEM_USER_ACCESS_TOKEN,
            TEAM_USER,
            TEAM_ADMIN,
            CHANNEL_USER,
            CHANNEL_ADMIN,
        ],
    ),
    (
        "system_user_access_token",
        false,
        &[SYSTEM_USER_ACCESS_TOKEN],
    ),
    ("team_user", true, &[TEAM_USER]),
    ("team_admin", true, &[TEAM_USER, TEAM_ADMIN]),
    ("channel_user", true, &[CHANNEL_USER]),
    ("channel_admin", true, &[CHANNEL_USER, CHANNEL_ADMIN]),
];

/// A role's id: the same on every node and across restarts, since roles are not stored.
fn role_id(name: &str) -> String {
    sha256_hex(format!("chorus-role:{name}").as_bytes(), 13)
}

fn role(name: &str, scheme_managed: bool, groups: &[&[&str]]) -> Role {
    let mut permissions: Vec<String> = Vec::new();
    for permission in groups.iter().flat_map(|group| group.iter()) {
        if !permissions.iter().any(|p| p == permission) {
            permissions.push(permission.to_string());
        }
    }
    Role {
        id: role_id(name),
        name: name.to_string(),
        display_name: format!("authentication.roles.{name}.name"),
        description: format!("authentication.roles.{name}.description"),
        create_at: 0,
        update_at: 0,
        delete_at: 0,
        permissions,
        scheme_managed,
        built_in: true,
    }
}

fn all_roles() -> impl Iterator<Item = Role> {
    ROLES
        .iter()
        .map(|(name, managed, groups)| role(name, *managed, groups))
}

/// Mattermost's rule for role names: 1-64 of `[a-z0-9_]`.
/// Whether any of the space-separated built-in `roles` grants `permission`; unknown
/// role names grant nothing.
pub fn roles_grant(roles: &str, permission: &str) -> bool {
    roles
        .split_whitespace()
        .filter_map(|name| role_by_name(name).ok())
        .any(|role| role.permissions.iter().any(|p| p == permission))
}

pub fn valid_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `GET /roles/name/{name}`.
pub fn role_by_name(name: &str) -> AppResult<Role> {
    if !valid_role_name(name) {
        return Err(AppError::invalid_url_param("role_name"));
    }
    all_roles()
        .find(|r| r.name == name)
        .ok_or_else(|| Code::RoleNameNotFound.into())
}

/// `GET /roles/{id}`.
pub fn role_by_id(id: &str) -> AppResult<Role> {
    require_id(id, "role_id")?;
    all_roles()
        .find(|r| r.id == id)
        .ok_or_else(|| Code::RoleIdNotFound.into())
}

/// `POST /roles/names`: the roles among `names` (blank ones skipped, repeats once,
/// unknown ones left out, as Mattermost answers).
pub fn roles_by_names(names: &[String]) -> AppResult<Vec<Role>> {
    let mut wanted: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(AppError::invalid_param("rolenames"));
    }
    if wanted.len() > MAX_NAMES_PER_REQUEST {
        return Err(Code::TooManyRoleNames.with_message(format!(
            "At most {MAX_NAMES_PER_REQUEST} roles may be asked for at once."
        )));
    }
    if wanted.iter().any(|n| !valid_role_name(n)) {
        return Err(AppError::invalid_param("rolename"));
    }
    Ok(all_roles()
        .filter(|r| wanted.contains(&r.name.as_str()))
        .collect())
}
