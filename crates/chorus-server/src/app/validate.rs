//! Field rules for what clients create, with Mattermost's limits and error ids. Each
//! failure names the field and the rule.

use crate::error::{AppError, AppResult, Code};

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 22;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 256;
pub const EMAIL_MAX: usize = 128;
pub const NAME_MAX: usize = 64;
pub const DISPLAY_NAME_MAX: usize = 64;
pub const HEADER_MAX: usize = 1024;
pub const PURPOSE_MAX: usize = 250;
pub const POST_MESSAGE_MAX: usize = 16383;
/// Mattermost's page size when none is asked for, and the largest it gives.
pub const DEFAULT_PER_PAGE: i64 = 60;
pub const MAX_PER_PAGE: i64 = 200;

const RESERVED_USERNAMES: &[&str] = &["all", "channel", "here", "matterbot", "system", "chorus"];
const RESERVED_TEAM_NAMES: &[&str] = &[
    "admin", "api", "channel", "claim", "error", "files", "help", "landing", "login", "mfa",
    "oauth", "plug", "plugins", "post", "signup", "static", "system",
];

pub fn username(name: &str) -> AppResult<()> {
    let len = name.chars().count();
    let well_formed = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) || !well_formed {
        return Err(Code::UsernameInvalid.with_message(format!(
            "username must be {USERNAME_MIN}-{USERNAME_MAX} characters, start with a letter, \
                 and contain only lower-case letters, digits, '.', '-' and '_'."
        )));
    }
    if RESERVED_USERNAMES.contains(&name) {
        return Err(Code::UsernameInvalid.with_message(format!("username {name:?} is reserved.")));
    }
    Ok(())
}

/// An address of the plain `local@domain` form: the local part a dot-atom of RFC 5322
/// `atext` characters, the domain dot-separated labels of letters, digits and inner
/// hyphens, all ASCII (so no markup, no second `@`, no invisible or look-alike
/// characters). Quoted local parts and address literals are refused, as nobody
/// signs up with them and they are where the tricks hide.
pub fn email(email: &str) -> AppResult<()> {
    fn dot_atom(part: &str, allowed: impl Fn(char) -> bool) -> bool {
        !part.is_empty()
            && part
                .split('.')
                .all(|atom| !atom.is_empty() && atom.chars().all(&allowed))
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let valid = email.len() <= EMAIL_MAX
        && email.split_once('@').is_some_and(|(local, domain)| {
            local.len() <= 64
                && dot_atom(local, atext)
                && dot_atom(domain, |c| c.is_ascii_alphanumeric() || c == '-')
                && domain.split('.').all(label)
        });
    if valid {
        Ok(())
    } else {
        Err(Code::EmailInvalid.with_message(format!(
            "email must be a valid address of at most {EMAIL_MAX} characters."
        )))
    }
}

pub fn password(password: &str) -> AppResult<()> {
    let len = password.chars().count();
    if (PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        Ok(())
    } else {
        Err(Code::PasswordInvalid.with_message(format!(
            "password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters."
        )))
    }
}

/// Team and channel URL names: lower-case letters, digits, '-' and '_'.
pub fn url_name(kind: &'static str, field_id: Code, name: &str) -> AppResult<()> {
    let len = name.chars().count();
    let well_formed = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !(2..=NAME_MAX).contains(&len) || !well_formed {
        return Err(field_id.with_message(format!(
                "{kind} name must be 2-{NAME_MAX} characters of lower-case letters, digits, '-' and '_', starting with a letter or digit."
            ),
        ));
    }
    if kind == "team" && RESERVED_TEAM_NAMES.contains(&name) {
        return Err(field_id.with_message(format!("team name {name:?} is reserved.")));
    }
    Ok(())
}

pub fn display_name(field_id: Code, value: &str) -> AppResult<()> {
    let len = value.chars().count();
    if value.trim().is_empty() || len > DISPLAY_NAME_MAX {
        return Err(field_id.with_message(format!(
            "display_name must be 1-{DISPLAY_NAME_MAX} characters."
        )));
    }
    Ok(())
}

/// Checks a path or body id is shaped like an id, naming the parameter when not.
pub fn require_id(value: &str, name: &str) -> AppResult<()> {
    if chorus_model::is_valid_id(value) {
        Ok(())
    } else {
        Err(AppError::invalid_url_param(name))
    }
}

/// Whether `value` is an absolute `http` or `https` URL with a host: what an
/// integration may be called at.
pub fn is_http_url(value: &str) -> bool {
    url::Url::parse(value)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

pub fn max_len(field_id: Code, field: &str, value: &str, max: usize) -> AppResult<()> {
    if value.chars().count() > max {
        return Err(field_id.with_message(format!("{field} must be at most {max} characters.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(username("alice").is_ok());
        assert!(username("a.b-c_d9").is_ok());
        assert!(username("al").is_err());
        assert!(username("Alice").is_err());
        assert!(username("9lives").is_err());
        assert!(username("all").is_err());
        assert!(username(&"a".repeat(23)).is_err());
    }

    #[test]
    fn url_names() {
        assert!(url_name("team", Code::TeamNameInvalid, "my-team").is_ok());
        assert!(url_name("team", Code::TeamNameInvalid, "api").is_err());
        assert!(url_name("channel", Code::ChannelNameInvalid, "town-square").is_ok());
        assert!(url_name("channel", Code::ChannelNameInvalid, "Town").is_err());
        assert!(url_name("channel", Code::ChannelNameInvalid, &"a".repeat(65)).is_err());
    }
}

#[cfg(test)]
mod email_tests {
    #[test]
    fn plain_addresses_pass_and_tricks_do_not() {
        for good in [
            "alice@example.com",
            "a.b+tag@mail.example.org",
            "o'neil@x.io",
            "bob@localhost",
        ] {
            assert!(super::email(good).is_ok(), "{good}");
        }
        for bad in [
            "<script>alert(1)</script>@x.com",
            "a@b@c",
            "al\u{200b}ice@example.com",
            "alice@exa\u{200d}mple.com",
            "аlice@example.com", // Cyrillic а
            "\"quoted\"@example.com",
            "alice@[127.0.0.1]",
            ".alice@example.com",
            "alice.@example.com",
            "al..ice@example.com",
            "alice@-example.com",
            "alice@example..com",
            "alice@",
            "@example.com",
            "alice example@x.com",
        ] {
            assert!(super::email(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
