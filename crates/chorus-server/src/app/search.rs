//! Searching posts: Mattermost's search terms — words, `"quoted phrases"`, `prefix*`,
//! `-exclusions`, `#hashtags`, `from:`, `in:` (or `channel:`), `before:`, `after:`,
//! `on:`, each operator also negated with `-` — parsed once here, resolved against
//! what the searcher may read (only channels they are in), and run by the store's
//! full-text index (`store::search`). Front doors: `POST /teams/{id}/posts/search` and
//! `POST /posts/search`.

use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult};
use crate::store::{PostSearchQuery, SearchWord};
use crate::AppState;
use chorus_model::{Channel, Post, PostSearchResults};
use time::macros::format_description;
use time::Date;

/// Longest terms taken, in characters, and most words (with phrases and exclusions):
/// past them a search is refused rather than run slowly.
pub const SEARCH_TERMS_MAX_CHARS: usize = 1000;
pub const SEARCH_WORDS_MAX: usize = 32;
/// Results per page unless asked, and at most (Mattermost's).
pub const SEARCH_PER_PAGE_DEFAULT: i64 = 60;
pub const SEARCH_PER_PAGE_MAX: i64 = 200;
/// A day, in ms.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A search as the client asks it.
#[derive(Debug, Default)]
pub struct PostSearch {
    pub terms: String,
    pub is_or_search: bool,
    /// The searcher's offset from UTC in seconds (east positive): dates are their days.
    pub time_zone_offset: i64,
    pub include_deleted_channels: bool,
    pub page: i64,
    /// 0: the default.
    pub per_page: i64,
}

/// Search terms, parsed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParsedTerms {
    pub words: Vec<SearchWord>,
    pub excluded: Vec<SearchWord>,
    pub hashtags: Vec<String>,
    pub excluded_hashtags: Vec<String>,
    pub from: Vec<String>,
    pub excluded_from: Vec<String>,
    pub in_channels: Vec<String>,
    pub excluded_in: Vec<String>,
    pub before: Option<Date>,
    pub after: Option<Date>,
    pub on: Option<Date>,
}

impl ParsedTerms {
    /// Whether anything narrows the search: terms of operators with no value (`from:`)
    /// or of punctuation alone find nothing, rather than every post.
    fn is_empty(&self) -> bool {
        self.words.is_empty()
            && self.hashtags.is_empty()
            && self.from.is_empty()
            && self.in_channels.is_empty()
            && self.before.is_none()
            && self.after.is_none()
            && self.on.is_none()
    }
}

fn invalid_terms(message: impl Into<String>) -> AppError {
    crate::error::Code::InvalidParam.with_message(message)
}

/// A word as the index sees it: its runs of letters and digits, lowercase; several
/// runs (`e-mail`, `don't`) make a phrase. `None` for punctuation alone.
fn search_word(raw: &str, prefix: bool) -> Option<SearchWord> {
    let runs: Vec<String> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|run| !run.is_empty())
        .map(str::to_lowercase)
        .collect();
    match runs.len() {
        0 => None,
        1 => Some(SearchWord::Word {
            text: runs.into_iter().next().unwrap_or_default(),
            prefix,
        }),
        _ => Some(SearchWord::Phrase(runs)),
    }
}

fn parse_date(operator: &str, value: &str) -> AppResult<Date> {
    Date::parse(value, format_description!("[year]-[month]-[day]")).map_err(|_| {
        invalid_terms(format!(
            "{operator}{value} is not a date: write it as YYYY-MM-DD, for example {operator}2026-12-01."
        ))
    })
}

/// Splits terms into words and `"quoted phrases"` (a `-` before the quote negates it).
fn tokens(terms: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut chars = terms.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let negated_quote = c == '-' && {
            let mut ahead = chars.clone();
            ahead.next();
            ahead.peek() == Some(&'"')
        };
        if c == '"' || negated_quote {
            if negated_quote {
                chars.next();
            }
            chars.next();
            let phrase: String = chars.by_ref().take_while(|&c| c != '"').collect();
            out.push((
                if negated_quote {
                    format!("-{phrase}")
                } else {
                    phrase
                },
                true,
            ));
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            word.push(c);
            chars.next();
        }
        out.push((word, false));
    }
    out
}

/// Parses Mattermost's search terms.
pub fn parse_terms(terms: &str) -> AppResult<ParsedTerms> {
    if terms.chars().count() > SEARCH_TERMS_MAX_CHARS {
        return Err(invalid_terms(format!(
            "Search terms are limited to {SEARCH_TERMS_MAX_CHARS} characters."
        )));
    }
    let mut parsed = ParsedTerms::default();
    for (token, quoted) in tokens(terms) {
        let (negated, body) = match token.strip_prefix('-') {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, token.as_str()),
        };
        if quoted {
            if let Some(word) = search_word(body, false) {
                if negated {
                    parsed.excluded.push(word);
                } else {
                    parsed.words.push(word);
                }
            }
            continue;
        }
        let lower = body.to_lowercase();
        let operator = ["from:", "in:", "channel:", "before:", "after:", "on:"]
            .into_iter()
            .find(|op| lower.starts_with(op));
        if let Some(op) = operator {
            // The operator is ASCII and matched case-insensitively: its length in
            // `lower` is its length in `body` only when `body` starts with ASCII.
            let raw = match body.get(..op.len()) {
                Some(head) if head.is_ascii() => &body[op.len()..],
                _ => "",
            };
            let value = raw.trim_start_matches(['@', '~']);
            let lowered = value.to_lowercase();
            // `in:` keeps an `@` (a direct channel) and drops a `~`.
            let channel = raw.trim_start_matches('~').to_lowercase();
            match (op, negated) {
                (_, _) if value.is_empty() => {}
                ("from:", false) => parsed.from.push(lowered),
                ("from:", true) => parsed.excluded_from.push(lowered),
                ("in:" | "channel:", false) => parsed.in_channels.push(channel),
                ("in:" | "channel:", true) => parsed.excluded_in.push(channel),
                ("before:", _) => parsed.before = Some(parse_date(op, value)?),
                ("after:", _) => parsed.after = Some(parse_date(op, value)?),
                _ => parsed.on = Some(parse_date(op, value)?),
            }
            continue;
        }
        if body.starts_with('#') {
            let tag = chorus_model::parse_hashtags(body).to_lowercase();
            if !tag.is_empty() && !tag.contains(' ') {
                if negated {
                    parsed.excluded_hashtags.push(tag);
                } else {
                    parsed.hashtags.push(tag);
                }
                continue;
            }
        }
        let (body, prefix) = match body.strip_suffix('*') {
            Some(rest) => (rest, true),
            None => (body, false),
        };
        if let Some(word) = search_word(body, prefix) {
            if negated {
                parsed.excluded.push(word);
            } else {
                parsed.words.push(word);
            }
        }
    }
    if parsed.words.len() + parsed.excluded.len() > SEARCH_WORDS_MAX {
        return Err(invalid_terms(format!(
            "A search takes at most {SEARCH_WORDS_MAX} words and phrases."
        )));
    }
    Ok(parsed)
}

/// The words of `terms` that a post's message contains, for clients to highlight.
fn matched_words(post: &Post, words: &[SearchWord], hashtags: &[String]) -> Vec<String> {
    let message = post.message.to_lowercase();
    let mut found: Vec<String> = words
        .iter()
        .map(|word| match word {
            SearchWord::Word { text, .. } => text.clone(),
            SearchWord::Phrase(words) => words.join(" "),
        })
        .filter(|text| message.contains(text.as_str()))
        .collect();
    found.extend(
        hashtags
            .iter()
            .filter(|tag| message.contains(tag.as_str()))
            .cloned(),
    );
    found
}

/// Midnight (ms) of a day in the searcher's time zone.
fn start_of_day(date: Date, time_zone_offset: i64) -> i64 {
    let utc_midnight = date.midnight().assume_utc().unix_timestamp() * 1000;
    utc_midnight - time_zone_offset * 1000
}

impl AppState {
    /// Runs a search over the channels the actor is in: of one team (with the direct
    /// and group channels) when `team_id` is given, else of all teams.
    pub async fn search_posts(
        &self,
        actor: Actor<'_>,
        team_id: Option<&str>,
        search: PostSearch,
    ) -> AppResult<PostSearchResults> {
        let Some(user_id) = actor.user_id() else {
            return Err(AppError::forbidden("Only users search posts."));
        };
        if let Some(team_id) = team_id {
            require_id(team_id, "team_id")?;
            super::permissions::require_team_member(self, actor, team_id).await?;
        }
        if search.page < 0 {
            return Err(AppError::invalid_param("page"));
        }
        let per_page = match search.per_page {
            0 => SEARCH_PER_PAGE_DEFAULT,
            n if (1..=SEARCH_PER_PAGE_MAX).contains(&n) => n,
            _ => return Err(AppError::invalid_param("per_page")),
        };
        if !(-14 * 3600..=14 * 3600).contains(&search.time_zone_offset) {
            return Err(AppError::invalid_param("time_zone_offset"));
        }
        let parsed = parse_terms(&search.terms)?;
        if parsed.is_empty() {
            return Ok(PostSearchResults::default());
        }
        let mut query = PostSearchQuery {
            user_id: user_id.to_owned(),
            team_id: team_id.map(str::to_owned),
            include_deleted_channels: search.include_deleted_channels,
            any_word: search.is_or_search,
            words: parsed.words.clone(),
            excluded: parsed.excluded.clone(),
            hashtags: parsed.hashtags.clone(),
            excluded_hashtags: parsed.excluded_hashtags.clone(),
            page: search.page,
            per_page,
            ..PostSearchQuery::default()
        };
        if !parsed.from.is_empty() {
            let ids = self.user_ids_named(&parsed.from).await?;
            if ids.is_empty() {
                return Ok(PostSearchResults::default());
            }
            query.user_ids = Some(ids);
        }
        query.excluded_user_ids = self.user_ids_named(&parsed.excluded_from).await?;
        if !parsed.in_channels.is_empty() {
            let ids = self
                .channel_ids_named(user_id, team_id, &parsed.in_channels)
                .await?;
            if ids.is_empty() {
                return Ok(PostSearchResults::default());
            }
            query.channel_ids = Some(ids);
        }
        query.excluded_channel_ids = self
            .channel_ids_named(user_id, team_id, &parsed.excluded_in)
            .await?;
        let offset = search.time_zone_offset;
        if let Some(on) = parsed.on {
            query.since = Some(start_of_day(on, offset));
            query.until = Some(start_of_day(on, offset) + DAY_MS);
        }
        if let Some(after) = parsed.after {
            let next_day = start_of_day(after, offset) + DAY_MS;
            query.since = Some(query.since.map_or(next_day, |s| s.max(next_day)));
        }
        if let Some(before) = parsed.before {
            let day = start_of_day(before, offset);
            query.until = Some(query.until.map_or(day, |u| u.min(day)));
        }
        let mut list = self.store.search_posts(&query).await?;
        self.attach_metadata_to_list(&mut list).await?;
        let matches = list
            .posts
            .values()
            .map(|post| {
                (
                    post.id.clone(),
                    matched_words(post, &parsed.words, &parsed.hashtags),
                )
            })
            .collect();
        Ok(PostSearchResults {
            list,
            matches,
            first_inaccessible_post_time: 0,
        })
    }

    async fn user_ids_named(&self, usernames: &[String]) -> AppResult<Vec<String>> {
        let mut ids = Vec::new();
        for username in usernames {
            if let Some(user) = self.store.get_user_by_username(username).await? {
                ids.push(user.id);
            }
        }
        Ok(ids)
    }

    /// The channels the user is in that `in:` names: by name, or `@username` for the
    /// direct channel with that person.
    async fn channel_ids_named(
        &self,
        user_id: &str,
        team_id: Option<&str>,
        names: &[String],
    ) -> AppResult<Vec<String>> {
        let mut ids = Vec::new();
        for name in names {
            let name = match name.strip_prefix('@') {
                Some(username) => match self.store.get_user_by_username(username).await? {
                    Some(other) => Channel::direct_name(user_id, &other.id),
                    None => continue,
                },
                None => name.clone(),
            };
            ids.extend(
                self.store
                    .member_channels_named(user_id, &name, team_id)
                    .await?,
            );
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn word(text: &str) -> SearchWord {
        SearchWord::Word {
            text: text.to_owned(),
            prefix: false,
        }
    }

    #[test]
    fn terms_are_parsed_as_mattermost_reads_them() {
        let parsed = parse_terms(
            r#"Deploy "release notes" -draft test* from:@Bob -from:eve in:town-square -channel:~off-topic in:@carol before:2026-12-02 after:2026-11-01 on:2026-11-15 #Ship -#wip -"old plan""#,
        )
        .unwrap();
        assert_eq!(
            parsed.words,
            vec![
                word("deploy"),
                SearchWord::Phrase(vec!["release".into(), "notes".into()]),
                SearchWord::Word {
                    text: "test".into(),
                    prefix: true
                },
            ]
        );
        assert_eq!(
            parsed.excluded,
            vec![
                word("draft"),
                SearchWord::Phrase(vec!["old".into(), "plan".into()])
            ]
        );
        assert_eq!(parsed.from, vec!["bob"]);
        assert_eq!(parsed.excluded_from, vec!["eve"]);
        assert_eq!(parsed.in_channels, vec!["town-square", "@carol"]);
        assert_eq!(parsed.excluded_in, vec!["off-topic"]);
        assert_eq!(parsed.hashtags, vec!["#ship"]);
        assert_eq!(parsed.excluded_hashtags, vec!["#wip"]);
        assert_eq!(parsed.before, Some(date!(2026 - 12 - 02)));
        assert_eq!(parsed.after, Some(date!(2026 - 11 - 01)));
        assert_eq!(parsed.on, Some(date!(2026 - 11 - 15)));
    }

    #[test]
    fn punctuation_and_operators_alone_narrow_nothing() {
        for terms in [
            "",
            "   ",
            "from:",
            "in: -",
            "\"\"",
            "*** ??? !!!",
            "-",
            "\"unclosed",
        ] {
            let parsed = parse_terms(terms).unwrap();
            if terms == "\"unclosed" {
                assert_eq!(parsed.words, vec![word("unclosed")]);
            } else {
                assert!(parsed.is_empty(), "{terms:?} → {parsed:?}");
            }
        }
        assert_eq!(
            parse_terms("e-mail don't").unwrap().words,
            vec![
                SearchWord::Phrase(vec!["e".into(), "mail".into()]),
                SearchWord::Phrase(vec!["don".into(), "t".into()])
            ]
        );
        assert_eq!(
            parse_terms("Ünïcode 😀 日本").unwrap().words,
            vec![word("ünïcode"), word("日本")]
        );
    }

    #[test]
    fn bad_dates_and_huge_searches_are_refused() {
        for terms in ["before:yesterday", "on:2026-13-01", "after:01/02/2026"] {
            let err = parse_terms(terms).unwrap_err();
            assert!(err.to_string().contains("YYYY-MM-DD"), "{terms}: {err}");
        }
        assert!(parse_terms(&"word ".repeat(40)).is_err());
        assert!(parse_terms(&"x".repeat(SEARCH_TERMS_MAX_CHARS + 1)).is_err());
        assert!(parse_terms(&"x".repeat(SEARCH_TERMS_MAX_CHARS)).is_ok());
    }

    proptest::proptest! {
        /// Whatever is typed, parsing answers (terms or a refusal) and every word it
        /// keeps is letters and digits only, so nothing reaches a query language.
        #[test]
        fn any_terms_parse_to_plain_words(terms in "\\PC{0,200}") {
            if let Ok(parsed) = parse_terms(&terms) {
                for word in parsed.words.iter().chain(&parsed.excluded) {
                    let texts = match word {
                        SearchWord::Word { text, .. } => vec![text.clone()],
                        SearchWord::Phrase(words) => words.clone(),
                    };
                    for text in texts {
                        proptest::prop_assert!(!text.is_empty() && text.chars().all(char::is_alphanumeric), "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn days_start_at_the_searchers_midnight() {
        let day = date!(2026 - 12 - 02);
        let utc = 1_796_169_600_000; // 2026-12-02T00:00:00Z
        assert_eq!(start_of_day(day, 0), utc);
        assert_eq!(start_of_day(day, 3600), utc - 3_600_000);
    }
}
