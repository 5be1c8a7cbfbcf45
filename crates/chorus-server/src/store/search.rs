//! Full-text search of posts: PostgreSQL's `to_tsvector('english', message)` (with its
//! GIN index, Mattermost's own expression) or SQLite's FTS5 index `posts_fts`, narrowed
//! to the channels the searcher is in and by author, channel, date and hashtag. The
//! query is assembled here from already-parsed words, so no user text ever reaches
//! SQL or a full-text query language unescaped.

use super::posts::{newest_first, PostRow};
use super::{on_reader, posts::select_posts, Backend, Store, StoreResult};
use chorus_model::PostList;

/// A word of a search, as the domain parsed it: letters and digits only, lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchWord {
    /// One word; `prefix` matches the words it starts.
    Word { text: String, prefix: bool },
    /// Words in this order, next to each other.
    Phrase(Vec<String>),
}

impl SearchWord {
    /// PostgreSQL `tsquery` syntax (the words hold only letters and digits).
    fn tsquery(&self) -> String {
        match self {
            SearchWord::Word { text, prefix: true } => format!("{text}:*"),
            SearchWord::Word { text, .. } => text.clone(),
            SearchWord::Phrase(words) => format!("({})", words.join(" <-> ")),
        }
    }

    /// FTS5 query syntax: quoted strings, so no word can be read as an operator.
    fn fts5(&self) -> String {
        match self {
            SearchWord::Word { text, prefix: true } => format!("\"{text}\"*"),
            SearchWord::Word { text, .. } => format!("\"{text}\""),
            SearchWord::Phrase(words) => format!("\"{}\"", words.join(" ")),
        }
    }
}

/// What to find, for whom.
#[derive(Debug, Clone, Default)]
pub struct PostSearchQuery {
    /// The searcher: only channels they are in are searched.
    pub user_id: String,
    /// Only this team's channels and the direct and group ones (`None`: every team).
    pub team_id: Option<String>,
    pub include_deleted_channels: bool,
    /// Words every post must have (any one of, when `any_word`); none: no text
    /// condition.
    pub words: Vec<SearchWord>,
    pub any_word: bool,
    /// Words no post may have.
    pub excluded: Vec<SearchWord>,
    /// Hashtags (`#tag`, lowercase) every post must have, and ones it may not.
    pub hashtags: Vec<String>,
    pub excluded_hashtags: Vec<String>,
    /// Authors (`None`: anyone) and authors left out.
    pub user_ids: Option<Vec<String>>,
    pub excluded_user_ids: Vec<String>,
    /// Channels (`None`: every channel searched) and channels left out.
    pub channel_ids: Option<Vec<String>>,
    pub excluded_channel_ids: Vec<String>,
    /// Created at or after (ms), and before.
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub page: i64,
    pub per_page: i64,
}

/// A parameter of the assembled query.
enum Bind {
    Text(String),
    Int(i64),
}

/// The query's SQL with `$n` placeholders, and what they stand for in order.
struct Assembled {
    sql: String,
    binds: Vec<Bind>,
}

impl Assembled {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn text(&mut self, value: impl Into<String>) -> String {
        self.bind(Bind::Text(value.into()))
    }

    fn list(&mut self, values: &[String]) -> String {
        let placeholders: Vec<String> = values.iter().map(|v| self.text(v.clone())).collect();
        placeholders.join(", ")
    }
}

fn assemble(query: &PostSearchQuery, backend: Backend) -> Assembled {
    let mut q = Assembled {
        sql: String::new(),
        binds: Vec::new(),
    };
    let user = q.text(query.user_id.clone());
    let mut conditions = vec![
        "p.delete_at = 0".to_owned(),
        "p.type NOT LIKE 'system\\_%' ESCAPE '\\'".to_owned(),
        format!(
            "p.channel_id IN (SELECT cm.channel_id FROM channel_members cm \
             JOIN channels sc ON sc.id = cm.channel_id WHERE cm.user_id = {user}{team}{live})",
            team = match &query.team_id {
                Some(team) => {
                    let team = q.text(team.clone());
                    format!(" AND (sc.team_id = {team} OR sc.team_id = '')")
                }
                None => String::new(),
            },
            live = if query.include_deleted_channels {
                ""
            } else {
                " AND sc.delete_at = 0"
            },
        ),
    ];
    let matching = |q: &mut Assembled, words: &[SearchWord], any: bool| -> String {
        match backend {
            Backend::Postgres => {
                let text: Vec<String> = words.iter().map(SearchWord::tsquery).collect();
                let text = q.text(text.join(if any { " | " } else { " & " }));
                format!("to_tsvector('english', p.message) @@ to_tsquery('english', {text})")
            }
            Backend::Sqlite => {
                let text: Vec<String> = words.iter().map(SearchWord::fts5).collect();
                let text = q.text(text.join(if any { " OR " } else { " AND " }));
                format!("p.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH {text})")
            }
        }
    };
    if !query.words.is_empty() {
        let condition = matching(&mut q, &query.words, query.any_word);
        conditions.push(condition);
    }
    if !query.excluded.is_empty() {
        let condition = matching(&mut q, &query.excluded, true);
        conditions.push(format!("NOT ({condition})"));
    }
    for (tags, negate) in [(&query.hashtags, ""), (&query.excluded_hashtags, "NOT ")] {
        for tag in tags {
            let like = q.text(format!("% {} %", like_escaped(tag)));
            conditions.push(format!(
                "{negate}(' ' || lower(p.hashtags) || ' ') LIKE {like} ESCAPE '\\'"
            ));
        }
    }
    if let Some(ids) = &query.user_ids {
        conditions.push(format!("p.user_id IN ({})", q.list(ids)));
    }
    if !query.excluded_user_ids.is_empty() {
        conditions.push(format!(
            "p.user_id NOT IN ({})",
            q.list(&query.excluded_user_ids)
        ));
    }
    if let Some(ids) = &query.channel_ids {
        conditions.push(format!("p.channel_id IN ({})", q.list(ids)));
    }
    if !query.excluded_channel_ids.is_empty() {
        conditions.push(format!(
            "p.channel_id NOT IN ({})",
            q.list(&query.excluded_channel_ids)
        ));
    }
    if let Some(since) = query.since {
        let since = q.bind(Bind::Int(since));
        conditions.push(format!("p.create_at >= {since}"));
    }
    if let Some(until) = query.until {
        let until = q.bind(Bind::Int(until));
        conditions.push(format!("p.create_at < {until}"));
    }
    // One more than a page tells whether another follows.
    let limit = q.bind(Bind::Int(query.per_page + 1));
    let offset = q.bind(Bind::Int(query.page * query.per_page));
    q.sql = format!(
        "{} WHERE {} ORDER BY p.create_at DESC, p.id DESC LIMIT {limit} OFFSET {offset}",
        select_posts!(),
        conditions.join(" AND ")
    );
    q
}

fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Store {
    /// A page of the posts a search finds, newest first; `has_next` says whether more
    /// follow.
    pub async fn search_posts(&self, query: &PostSearchQuery) -> StoreResult<PostList> {
        let mut rows: Vec<PostRow> = on_reader!(self, pool, backend => {
            let assembled = assemble(query, backend);
            let mut statement = sqlx::query_as(&assembled.sql);
            for bind in assembled.binds {
                statement = match bind {
                    Bind::Text(text) => statement.bind(text),
                    Bind::Int(number) => statement.bind(number),
                };
            }
            statement.fetch_all(pool).await
        })?;
        let has_next = rows.len() as i64 > query.per_page;
        rows.truncate(query.per_page.max(0) as usize);
        Ok(newest_first(
            rows.into_iter().map(Into::into).collect(),
            has_next,
        ))
    }

    /// The live channels named `name` that `user_id` is in (within a team and the
    /// direct and group channels, when `team_id` is given), for a search's `in:`.
    pub async fn member_channels_named(
        &self,
        user_id: &str,
        name: &str,
        team_id: Option<&str>,
    ) -> StoreResult<Vec<String>> {
        Ok(on_reader!(self, pool => {
            sqlx::query_scalar(
                "SELECT c.id FROM channels c JOIN channel_members m \
                 ON m.channel_id = c.id AND m.user_id = $1 \
                 WHERE c.name = $2 AND c.delete_at = 0 \
                 AND ($3 = '' OR c.team_id = $3 OR c.team_id = '')",
            )
            .bind(user_id)
            .bind(name)
            .bind(team_id.unwrap_or_default())
            .fetch_all(pool)
            .await
        })?)
    }
}
