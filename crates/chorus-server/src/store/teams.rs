//! Teams and team membership.

use super::channels::{insert_channel, insert_channel_member};
use super::{on_reader, on_writer, Backend, Store, StoreError, StoreResult};
use chorus_model::{
    Channel, Team, TeamMember, TeamUnread, ROLE_CHANNEL_USER, ROLE_TEAM_ADMIN, ROLE_TEAM_USER,
};

/// `SELECT` of a [`TeamRow`] from teams `t`, followed by the literals given.
macro_rules! select_teams {
    ($($tail:literal),*) => {
        concat!(
            "SELECT t.id, t.create_at, t.update_at, t.delete_at, t.name, t.display_name, \
               t.description, t.email, t.type, t.allow_open_invite, t.invite_id FROM teams t ",
            $($tail),*
        )
    };
}

#[derive(sqlx::FromRow)]
struct TeamRow {
    id: String,
    create_at: i64,
    update_at: i64,
    delete_at: i64,
    name: String,
    display_name: String,
    description: String,
    email: String,
    #[sqlx(rename = "type")]
    team_type: String,
    allow_open_invite: bool,
    invite_id: String,
}

impl From<TeamRow> for Team {
    fn from(row: TeamRow) -> Team {
        Team {
            id: row.id,
            create_at: row.create_at,
            update_at: row.update_at,
            delete_at: row.delete_at,
            name: row.name,
            display_name: row.display_name,
            description: row.description,
            email: row.email,
            team_type: row.team_type,
            allow_open_invite: row.allow_open_invite,
            invite_id: row.invite_id,
            ..Team::default()
        }
    }
}

/// `SELECT` of a [`MemberRow`] from `team_members`, followed by the literal given.
macro_rules! select_members {
    ($tail:literal) => {
        concat!(
            "SELECT team_id, user_id, roles, delete_at FROM team_members ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    team_id: String,
    user_id: String,
    roles: String,
    delete_at: i64,
}

impl From<MemberRow> for TeamMember {
    fn from(row: MemberRow) -> TeamMember {
        let explicit_roles: Vec<&str> = row
            .roles
            .split_whitespace()
            .filter(|r| !matches!(*r, "team_guest" | ROLE_TEAM_USER | ROLE_TEAM_ADMIN))
            .collect();
        TeamMember {
            scheme_guest: false,
            scheme_user: true,
            scheme_admin: row.roles.split_whitespace().any(|r| r == ROLE_TEAM_ADMIN),
            explicit_roles: explicit_roles.join(" "),
            team_id: row.team_id,
            user_id: row.user_id,
            roles: row.roles,
            delete_at: row.delete_at,
        }
    }
}

/// A user's unread sums per team; `$mark_unread` reads a member's `mark_unread` in the
/// dialect's JSON. A muted channel's messages do not count (its mentions do).
macro_rules! teams_unread {
    ($mark_unread:literal) => {
        concat!(
            "SELECT c.team_id, \
               CAST(SUM(CASE WHEN COALESCE(", $mark_unread, ", 'all') = 'mention' THEN 0 \
                 WHEN c.total_msg_count > m.msg_count THEN c.total_msg_count - m.msg_count \
                 ELSE 0 END) AS BIGINT) AS msg_count, \
               CAST(SUM(m.mention_count) AS BIGINT) AS mention_count, \
               CAST(SUM(m.mention_count_root) AS BIGINT) AS mention_count_root, \
               CAST(SUM(CASE WHEN COALESCE(", $mark_unread, ", 'all') = 'mention' THEN 0 \
                 WHEN c.total_msg_count_root > m.msg_count_root \
                 THEN c.total_msg_count_root - m.msg_count_root ELSE 0 END) AS BIGINT) AS msg_count_root \
             FROM channel_members m JOIN channels c ON c.id = m.channel_id \
             WHERE m.user_id = $1 AND c.delete_at = 0 AND c.team_id <> '' \
             GROUP BY c.team_id ORDER BY c.team_id"
        )
    };
}

impl Store {
    /// Creates a team with its creator as team admin, and its default channels with the
    /// creator in them, in one transaction.
    pub async fn create_team(
        &self,
        team: &Team,
        creator_id: &str,
        default_channels: &[Channel],
    ) -> StoreResult<()> {
        let admin_roles = format!("{} {}", ROLE_TEAM_USER, ROLE_TEAM_ADMIN);
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO teams (id, create_at, update_at, delete_at, name, display_name, description, \
                   email, type, allow_open_invite, invite_id) \
                 VALUES ($1, $2, $2, 0, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&team.id)
            .bind(team.create_at)
            .bind(&team.name)
            .bind(&team.display_name)
            .bind(&team.description)
            .bind(&team.email)
            .bind(&team.team_type)
            .bind(team.allow_open_invite)
            .bind(&team.invite_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id, roles, delete_at) VALUES ($1, $2, $3, 0)",
            )
            .bind(&team.id)
            .bind(creator_id)
            .bind(&admin_roles)
            .execute(&mut *tx)
            .await?;
            for channel in default_channels {
                insert_channel!(&mut *tx, channel)?;
                insert_channel_member!(&mut *tx, &channel.id, creator_id, ROLE_CHANNEL_USER, channel.create_at)?;
            }
            tx.commit().await
        })
        .map_err(StoreError::from)
    }

    pub async fn get_team(&self, id: &str) -> StoreResult<Option<Team>> {
        let row: Option<TeamRow> = on_reader!(self, pool => {
            sqlx::query_as(select_teams!("WHERE t.id = $1 AND t.delete_at = 0"))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Team::from))
    }

    pub async fn get_team_by_name(&self, name: &str) -> StoreResult<Option<Team>> {
        let row: Option<TeamRow> = on_reader!(self, pool => {
            sqlx::query_as(select_teams!("WHERE t.name = $1 AND t.delete_at = 0"))
                .bind(name)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Team::from))
    }

    pub async fn teams_for_user(&self, user_id: &str) -> StoreResult<Vec<Team>> {
        let rows: Vec<TeamRow> = on_reader!(self, pool => {
            sqlx::query_as(select_teams!(
                "JOIN team_members m ON m.team_id = t.id ",
                "WHERE m.user_id = $1 AND m.delete_at = 0 AND t.delete_at = 0 ORDER BY t.display_name"
            ))
            .bind(user_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Team::from).collect())
    }

    /// Teams `user_id` may see in a team list: every team for admins, otherwise the
    /// open teams and the ones they belong to.
    pub async fn visible_teams(
        &self,
        user_id: &str,
        all: bool,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<Team>> {
        let rows: Vec<TeamRow> = on_reader!(self, pool => {
            sqlx::query_as(select_teams!(
                "WHERE t.delete_at = 0 AND ($2 OR t.type = 'O' ",
                "OR EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id ",
                "AND m.user_id = $1 AND m.delete_at = 0)) ",
                "ORDER BY t.display_name, t.id LIMIT $3 OFFSET $4"
            ))
            .bind(user_id)
            .bind(all)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Team::from).collect())
    }

    /// Adds (or re-adds) a member and puts them in the team's channels named in
    /// `default_channel_names`, in one transaction. Returns the membership and whether
    /// it is new; an existing member is left as is.
    pub async fn add_team_member(
        &self,
        team_id: &str,
        user_id: &str,
        default_channel_names: &[&str],
    ) -> StoreResult<(TeamMember, bool)> {
        if let Some(existing) = self.get_team_member(team_id, user_id).await? {
            return Ok((existing, false));
        }
        let now = chorus_model::now_millis();
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id, roles, delete_at) VALUES ($1, $2, $3, 0) \
                 ON CONFLICT (team_id, user_id) DO UPDATE SET delete_at = 0, roles = excluded.roles",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(ROLE_TEAM_USER)
            .execute(&mut *tx)
            .await?;
            for name in default_channel_names {
                let channel_id: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM channels WHERE team_id = $1 AND name = $2 AND delete_at = 0",
                )
                .bind(team_id)
                .bind(*name)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(channel_id) = channel_id {
                    insert_channel_member!(&mut *tx, &channel_id, user_id, ROLE_CHANNEL_USER, now)?;
                }
            }
            tx.commit().await?;
        });
        let member = self
            .get_team_member(team_id, user_id)
            .await?
            .ok_or_else(StoreError::vanished)?;
        Ok((member, true))
    }

    /// Takes a user out of a team: out of every channel of the team (archived ones
    /// included) and the membership marked left (`delete_at`, no roles), in one
    /// transaction. Answers the membership as it was, or `None` when they were not
    /// a member.
    pub async fn remove_team_member(
        &self,
        team_id: &str,
        user_id: &str,
        now: i64,
    ) -> StoreResult<Option<TeamMember>> {
        let Some(member) = self.get_team_member(team_id, user_id).await? else {
            return Ok(None);
        };
        let left = on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let left = sqlx::query(
                "UPDATE team_members SET delete_at = $3, roles = '' \
                 WHERE team_id = $1 AND user_id = $2 AND delete_at = 0",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if left {
                sqlx::query(
                    "DELETE FROM channel_members WHERE user_id = $2 AND channel_id IN \
                       (SELECT id FROM channels WHERE team_id = $1)",
                )
                .bind(team_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            left
        });
        Ok(left.then_some(member))
    }

    /// An active membership, if any.
    pub async fn get_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<TeamMember>> {
        let row: Option<MemberRow> = on_reader!(self, pool => {
            sqlx::query_as(select_members!(
                "WHERE team_id = $1 AND user_id = $2 AND delete_at = 0"
            ))
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(TeamMember::from))
    }
    pub async fn team_members(
        &self,
        team_id: &str,
        page: i64,
        per_page: i64,
    ) -> StoreResult<Vec<TeamMember>> {
        let rows: Vec<MemberRow> = on_reader!(self, pool => {
            sqlx::query_as(select_members!(
                "WHERE team_id = $1 AND delete_at = 0 ORDER BY user_id LIMIT $2 OFFSET $3"
            ))
            .bind(team_id)
            .bind(per_page)
            .bind(page * per_page)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(TeamMember::from).collect())
    }

    pub async fn team_member_ids(&self, team_id: &str) -> StoreResult<Vec<String>> {
        let ids = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT user_id FROM team_members WHERE team_id = $1 AND delete_at = 0")
                .bind(team_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(ids)
    }

    /// Every team membership of a user, left ones included (`delete_at` set), as
    /// Mattermost answers `GET /users/{id}/teams/members`.
    pub async fn team_members_of_user(&self, user_id: &str) -> StoreResult<Vec<TeamMember>> {
        let rows: Vec<MemberRow> = on_reader!(self, pool => {
            sqlx::query_as(select_members!("WHERE user_id = $1 ORDER BY team_id"))
                .bind(user_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(TeamMember::from).collect())
    }

    /// A user's unread messages and mentions per team, summed over their live channels
    /// of each team (direct messages belong to no team and are left out).
    pub async fn teams_unread(&self, user_id: &str) -> StoreResult<Vec<TeamUnread>> {
        let rows: Vec<TeamUnreadRow> = on_reader!(self, pool, backend => {
            let sql = match backend {
                Backend::Postgres => teams_unread!("m.notify_props->>'mark_unread'"),
                Backend::Sqlite => teams_unread!("json_extract(m.notify_props, '$.mark_unread')"),
            };
            sqlx::query_as(sql).bind(user_id).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|row| TeamUnread {
                team_id: row.team_id,
                msg_count: row.msg_count,
                mention_count: row.mention_count,
                mention_count_root: row.mention_count_root,
                msg_count_root: row.msg_count_root,
                ..TeamUnread::default()
            })
            .collect())
    }
}

#[derive(sqlx::FromRow)]
struct TeamUnreadRow {
    team_id: String,
    msg_count: i64,
    mention_count: i64,
    mention_count_root: i64,
    msg_count_root: i64,
}
