//! Finding people and channels by name: the composer's @- and ~-autocomplete
//! (`GET /users/autocomplete`, `GET /teams/{id}/channels/autocomplete`) and user and
//! channel search (`POST /users/search`, `POST /teams/{id}/channels/search`), each
//! answering only what the asker may see.

use super::permissions::{load_channel, require_channel_visible, require_team_member};
use super::users::sanitize;
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::store::UserFilter;
use crate::AppState;
use chorus_model::{Channel, User, UserAutocomplete};

/// Users an autocomplete or search answers unless asked (Mattermost's
/// `UserSearchDefaultLimit`), and at most (`UserSearchMaxLimit`).
pub const USER_SEARCH_DEFAULT_LIMIT: i64 = 100;
pub const USER_SEARCH_MAX_LIMIT: i64 = 1000;
/// Most channels a channel autocomplete answers, and a channel search (Mattermost's
/// limits).
const CHANNEL_AUTOCOMPLETE_LIMIT: i64 = 50;
const CHANNEL_SEARCH_LIMIT: i64 = 100;
/// Longest search term taken: longer ones can match no name.
const TERM_MAX_CHARS: usize = 64;

/// Who an @-autocomplete looks among.
#[derive(Debug, Default)]
pub struct UserAutocompleteQuery {
    /// '' for every team.
    pub team_id: String,
    /// '' for no channel; a channel needs its team.
    pub channel_id: String,
    pub name: String,
    pub limit: i64,
}

/// `POST /users/search`.
#[derive(Debug, Default)]
pub struct UserSearch {
    pub term: String,
    pub team_id: String,
    pub not_in_team_id: String,
    pub in_channel_id: String,
    pub not_in_channel_id: String,
    pub allow_inactive: bool,
    pub limit: i64,
}

/// A term as names are matched: trimmed, without a leading `@` or `~`, lowercase, with
/// `LIKE`'s wildcards escaped (`\`).
fn normalized(term: &str) -> String {
    let term = term.trim().trim_start_matches(['@', '~']).to_lowercase();
    let mut escaped = String::with_capacity(term.len());
    for c in term.chars().take(TERM_MAX_CHARS) {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn checked_limit(limit: i64) -> AppResult<i64> {
    match limit {
        0 => Ok(USER_SEARCH_DEFAULT_LIMIT),
        1..=USER_SEARCH_MAX_LIMIT => Ok(limit),
        _ => Err(AppError::invalid_param("limit")),
    }
}

fn non_empty(id: &str) -> Option<String> {
    (!id.is_empty()).then(|| id.to_owned())
}

impl AppState {
    /// The users whose username or names start with `name`: in the channel (and, as
    /// `out_of_channel`, the team's others), in the team, or anywhere.
    pub async fn autocomplete_users(
        &self,
        actor: Actor<'_>,
        query: UserAutocompleteQuery,
    ) -> AppResult<UserAutocomplete> {
        let limit = checked_limit(query.limit.min(USER_SEARCH_MAX_LIMIT))?;
        let name_like = Some(format!("{}%", normalized(&query.name)));
        if !query.team_id.is_empty() {
            require_id(&query.team_id, "in_team")?;
            require_team_member(self, actor, &query.team_id).await?;
        }
        if query.channel_id.is_empty() {
            let filter = UserFilter {
                in_team: non_empty(&query.team_id),
                name_like,
                ..UserFilter::default()
            };
            let users = self.find_users(actor, &filter, limit).await?;
            return Ok(UserAutocomplete {
                users,
                out_of_channel: None,
            });
        }
        require_id(&query.channel_id, "in_channel")?;
        if query.team_id.is_empty() {
            return Err(Code::AutocompleteMissingTeam
                .with_message("Autocompleting the users of a channel needs its team (in_team)."));
        }
        let channel = load_channel(self, &query.channel_id).await?;
        require_channel_visible(self, actor, &channel).await?;
        let in_channel = UserFilter {
            in_channel: Some(channel.id.clone()),
            name_like: name_like.clone(),
            ..UserFilter::default()
        };
        let outside = UserFilter {
            in_team: Some(query.team_id.clone()),
            not_in_channel: Some(channel.id.clone()),
            name_like,
            ..UserFilter::default()
        };
        Ok(UserAutocomplete {
            users: self.find_users(actor, &in_channel, limit).await?,
            out_of_channel: Some(self.find_users(actor, &outside, limit).await?),
        })
    }

    /// `POST /users/search`: users whose username or names start with the term,
    /// narrowed as asked; deactivated ones only for admins who ask.
    pub async fn search_users(&self, actor: Actor<'_>, search: UserSearch) -> AppResult<Vec<User>> {
        if search.term.trim().is_empty() {
            return Err(AppError::invalid_param("term"));
        }
        if search.team_id.is_empty() && !search.not_in_channel_id.is_empty() {
            return Err(AppError::invalid_param("team_id"));
        }
        let limit = checked_limit(search.limit)?;
        for (id, name) in [
            (&search.team_id, "team_id"),
            (&search.not_in_team_id, "not_in_team_id"),
        ] {
            if !id.is_empty() {
                require_id(id, name)?;
                require_team_member(self, actor, id).await?;
            }
        }
        for (id, name) in [
            (&search.in_channel_id, "in_channel_id"),
            (&search.not_in_channel_id, "not_in_channel_id"),
        ] {
            if !id.is_empty() {
                require_id(id, name)?;
                let channel = load_channel(self, id).await?;
                require_channel_visible(self, actor, &channel).await?;
            }
        }
        let filter = UserFilter {
            in_team: non_empty(&search.team_id),
            not_in_team: non_empty(&search.not_in_team_id),
            in_channel: non_empty(&search.in_channel_id),
            not_in_channel: non_empty(&search.not_in_channel_id),
            name_like: Some(format!("{}%", normalized(&search.term))),
            allow_inactive: search.allow_inactive && actor.is_admin(),
        };
        self.find_users(actor, &filter, limit).await
    }

    async fn find_users(
        &self,
        actor: Actor<'_>,
        filter: &UserFilter,
        limit: i64,
    ) -> AppResult<Vec<User>> {
        let users = self.store.list_users(filter, 0, limit).await?;
        Ok(users.into_iter().map(|u| sanitize(u, actor)).collect())
    }

    /// `GET /teams/{id}/channels/autocomplete`: the team's channels the actor may
    /// join or is in whose name, or a word of whose display name, starts with `name`.
    pub async fn autocomplete_channels(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        name: &str,
    ) -> AppResult<Vec<Channel>> {
        let term = normalized(name);
        self.find_channels(
            actor,
            team_id,
            &format!("{term}%"),
            &format!("% {term}%"),
            CHANNEL_AUTOCOMPLETE_LIMIT,
        )
        .await
    }

    /// `POST /teams/{id}/channels/search`: the team's channels the actor may join or
    /// is in whose name or display name contains the term.
    pub async fn search_channels(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        term: &str,
    ) -> AppResult<Vec<Channel>> {
        if term.trim().is_empty() {
            return Err(AppError::invalid_param("term"));
        }
        let pattern = format!("%{}%", normalized(term));
        self.find_channels(actor, team_id, &pattern, &pattern, CHANNEL_SEARCH_LIMIT)
            .await
    }

    async fn find_channels(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        name_like: &str,
        words_like: &str,
        limit: i64,
    ) -> AppResult<Vec<Channel>> {
        require_id(team_id, "team_id")?;
        require_team_member(self, actor, team_id).await?;
        Ok(self
            .store
            .find_channels(team_id, name_like, words_like, actor.user_id(), limit)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_lose_their_sigil_and_case_and_cannot_inject_wildcards() {
        assert_eq!(normalized("  @Bob "), "bob");
        assert_eq!(normalized("~Town"), "town");
        assert_eq!(normalized("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(normalized(&"x".repeat(500)).len(), TERM_MAX_CHARS);
        assert_eq!(normalized("Ünïcode 😀"), "ünïcode 😀");
    }

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(checked_limit(0).unwrap(), USER_SEARCH_DEFAULT_LIMIT);
        assert_eq!(checked_limit(5).unwrap(), 5);
        assert!(checked_limit(-1).is_err());
        assert!(checked_limit(USER_SEARCH_MAX_LIMIT + 1).is_err());
    }
}
