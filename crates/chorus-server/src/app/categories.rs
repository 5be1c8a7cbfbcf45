//! A user's channel sidebar in a team, in Mattermost's three default categories:
//! Favorites (channels whose `favorite_channel` preference is "true"), Channels (the
//! team's open and private channels the user is in) and Direct Messages. Chorus derives
//! them on every read instead of storing them: there are no custom categories or manual
//! orders yet, so nothing else could be in them.

use super::permissions::{is_team_member, require_self_or_admin};
use super::validate::require_id;
use super::Actor;
use crate::error::AppResult;
use crate::AppState;
use chorus_model::{OrderedSidebarCategories, SidebarCategory, CHANNEL_OPEN, CHANNEL_PRIVATE};

/// The preference category that marks a channel (by id) as a favorite.
pub const FAVORITE_CHANNEL: &str = "favorite_channel";

impl AppState {
    /// `GET /users/{id}/teams/{team_id}/channels/categories`. A user who is not in the
    /// team gets no categories, as in Mattermost.
    pub async fn sidebar_categories(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        team_id: &str,
    ) -> AppResult<OrderedSidebarCategories> {
        require_id(user_id, "user_id")?;
        require_id(team_id, "team_id")?;
        require_self_or_admin(actor, user_id)?;
        if !is_team_member(self, user_id, team_id).await? {
            return Ok(OrderedSidebarCategories::default());
        }
        let channels = self.store.channels_for_user(user_id, team_id).await?;
        let favorites: Vec<String> = self
            .store
            .preferences(user_id, Some(FAVORITE_CHANNEL), None)
            .await?
            .into_iter()
            .filter(|p| p.value == "true")
            .map(|p| p.name)
            .collect();
        let mut favorite_ids = Vec::new();
        let mut channel_ids = Vec::new();
        let mut direct_ids = Vec::new();
        for channel in channels {
            if favorites.contains(&channel.id) {
                favorite_ids.push(channel.id);
            } else if matches!(
                channel.channel_type.as_str(),
                CHANNEL_OPEN | CHANNEL_PRIVATE
            ) {
                channel_ids.push(channel.id);
            } else {
                direct_ids.push(channel.id);
            }
        }
        let category =
            |kind: &str, display_name: &str, sort_order: i64, sorting: &str, ids| SidebarCategory {
                id: format!("{kind}_{user_id}_{team_id}"),
                user_id: user_id.to_string(),
                team_id: team_id.to_string(),
                sort_order,
                sorting: sorting.to_string(),
                category_type: kind.to_string(),
                display_name: display_name.to_string(),
                muted: false,
                collapsed: false,
                channel_ids: ids,
            };
        let categories = vec![
            category("favorites", "Favorites", 0, "", favorite_ids),
            category("channels", "Channels", 10, "", channel_ids),
            category(
                "direct_messages",
                "Direct Messages",
                20,
                "recent",
                direct_ids,
            ),
        ];
        let order = categories.iter().map(|c| c.id.clone()).collect();
        Ok(OrderedSidebarCategories { categories, order })
    }
}
