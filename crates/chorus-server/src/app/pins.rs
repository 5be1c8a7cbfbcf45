//! Pinned and saved posts: pinning a post to its channel (any member may, as in
//! Mattermost), a channel's pinned list and counts, and the posts a user saved, which
//! Mattermost keeps as `flagged_post` preferences.

use super::permissions::{load_member_channel, require_self_or_admin};
use super::posts::PostChanges;
use super::validate::require_id;
use super::Actor;
use crate::error::AppResult;
use crate::AppState;
use chorus_model::{ChannelStats, PostList};

/// Which saved posts to list.
#[derive(Debug, Default)]
pub struct FlaggedQuery {
    /// Only this team's channels and the direct and group channels ('' for all).
    pub team_id: String,
    /// Only this channel ('' for all).
    pub channel_id: String,
    /// Paging as `api::extract::Paging` validates it.
    pub page: i64,
    pub per_page: i64,
}

impl AppState {
    /// `POST /posts/{id}/pin|unpin`: whoever may read the post pins or unpins it; the
    /// channel sees the post edited, but it is not marked edited.
    pub async fn set_post_pinned(
        &self,
        actor: Actor<'_>,
        post_id: &str,
        pinned: bool,
    ) -> AppResult<()> {
        let (post, channel) = self.readable_post(actor, post_id).await?;
        if post.is_pinned == pinned {
            return Ok(());
        }
        let changes = PostChanges {
            is_pinned: Some(pinned),
            ..PostChanges::default()
        };
        self.change_post(actor, post, &channel, changes).await?;
        Ok(())
    }

    /// `GET /channels/{id}/pinned`: the channel's pinned posts, newest first.
    pub async fn pinned_posts(&self, actor: Actor<'_>, channel_id: &str) -> AppResult<PostList> {
        let channel = load_member_channel(self, actor, channel_id).await?;
        let mut list = self.store.pinned_posts(&channel.id).await?;
        self.attach_metadata_to_list(&mut list).await?;
        Ok(list)
    }

    /// `GET /channels/{id}/stats`: its members, pinned posts and (unless excluded)
    /// files.
    pub async fn channel_stats(
        &self,
        actor: Actor<'_>,
        channel_id: &str,
        with_files: bool,
    ) -> AppResult<ChannelStats> {
        let channel = load_member_channel(self, actor, channel_id).await?;
        Ok(self.store.channel_stats(&channel.id, with_files).await?)
    }

    /// `GET /users/{id}/posts/flagged`: a page of the posts the user saved that they
    /// may still read, newest first.
    pub async fn flagged_posts(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        query: FlaggedQuery,
    ) -> AppResult<PostList> {
        require_self_or_admin(actor, user_id)?;
        for (id, name) in [
            (&query.team_id, "team_id"),
            (&query.channel_id, "channel_id"),
        ] {
            if !id.is_empty() {
                require_id(id, name)?;
            }
        }
        let mut list = self
            .store
            .flagged_posts(
                user_id,
                &query.team_id,
                &query.channel_id,
                query.page,
                query.per_page,
            )
            .await?;
        self.attach_metadata_to_list(&mut list).await?;
        Ok(list)
    }
}
