//! Interactive messages and dialogs, in Mattermost's shapes: the buttons and menus of a
//! post's Slack attachments (`props.attachments[].actions`), what a click sends to the
//! integration and what it may answer, and the dialogs an integration opens with a
//! trigger id.
//!
//! An action's `integration` (its URL and private `context`) stays on the server:
//! [`Post`](crate::Post) serialises its props through [`props_for_clients`], so
//! every REST answer and websocket event leaves it out, as Mattermost's `ToJSON` does.

use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;

pub const ACTION_TYPE_BUTTON: &str = "button";
pub const ACTION_TYPE_SELECT: &str = "select";
/// The `type` of what a dialog's submission sends to its integration.
pub const DIALOG_SUBMISSION_TYPE: &str = "dialog_submission";

type JsonObject = serde_json::Map<String, serde_json::Value>;

/// Body of `POST /posts/{id}/actions/{action_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DoPostActionRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub selected_option: String,
    /// What the server put on an ephemeral post's action, returned as it was.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cookie: String,
}

/// The answer to a click: `status` "OK" and the trigger id (its short, client form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostActionResponse {
    pub status: String,
    pub trigger_id: String,
}

/// What the server sends to an action's integration URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostActionIntegrationRequest {
    pub user_id: String,
    pub user_name: String,
    pub channel_id: String,
    pub channel_name: String,
    pub team_id: String,
    pub team_domain: String,
    pub post_id: String,
    /// Opens a dialog for this user, for a short while (`POST /actions/dialogs/open`).
    pub trigger_id: String,
    #[serde(rename = "type")]
    pub action_type: String,
    pub data_source: String,
    /// The action's own `integration.context`, plus `selected_option` for menus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<JsonObject>,
}

/// The post an integration's answer replaces the clicked one with: its message and,
/// when present, its props (absent props keep the old ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostUpdate {
    pub message: String,
    pub props: Option<JsonObject>,
}

/// What an integration may answer to a click.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostActionIntegrationResponse {
    pub update: Option<PostUpdate>,
    pub ephemeral_text: String,
    pub skip_slack_parsing: bool,
}

/// A dialog, as an integration describes it. Fields Chorus does not read (newer
/// element options, for example) pass through to the client unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Dialog {
    pub callback_id: String,
    pub title: String,
    pub introduction_text: String,
    pub icon_url: String,
    pub elements: Vec<serde_json::Value>,
    pub submit_label: String,
    pub notify_on_cancel: bool,
    pub state: String,
    #[serde(flatten)]
    pub other: JsonObject,
}

/// Body of `POST /actions/dialogs/open` (and the plugin API's `OpenInteractiveDialog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct OpenDialogRequest {
    pub trigger_id: String,
    pub url: String,
    pub dialog: Dialog,
}

/// Body of `POST /actions/dialogs/submit`, and what the integration receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SubmitDialogRequest {
    #[serde(rename = "type")]
    pub submission_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    pub callback_id: String,
    pub state: String,
    pub user_id: String,
    pub channel_id: String,
    pub team_id: String,
    pub submission: JsonObject,
    pub cancelled: bool,
}

/// What an integration answers to a submission: errors keep the dialog open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SubmitDialogResponse {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub errors: std::collections::BTreeMap<String, String>,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub response_type: String,
    /// The next form of a multi-step dialog (`type` "form").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<Dialog>,
}

/// Where an action's click goes: a URL (or a plugin's `/plugins/{id}/…` route) and
/// what to send along.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostActionIntegration {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<JsonObject>,
}

/// Props an integration's update cannot take away from the clicked post.
pub const POST_ACTION_RETAIN_PROP_KEYS: [&str; 3] =
    ["from_webhook", "override_username", "override_icon_url"];

/// What an ephemeral post's action carries, sealed, in place of the stored post the
/// server would otherwise read: an ephemeral post is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostActionCookie {
    #[serde(rename = "type")]
    pub action_type: String,
    pub post_id: String,
    pub root_post_id: String,
    pub channel_id: String,
    pub data_source: String,
    pub integration: Option<PostActionIntegration>,
    pub retain_props: JsonObject,
    pub remove_props: Vec<String>,
}

/// The action objects of a post's attachments.
fn actions(props: &JsonObject) -> impl Iterator<Item = &JsonObject> {
    props
        .get("attachments")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
        .filter_map(|attachment| attachment.get("actions")?.as_array())
        .flatten()
        .filter_map(|action| action.as_object())
}

fn actions_mut(props: &mut JsonObject) -> impl Iterator<Item = &mut JsonObject> {
    props
        .get_mut("attachments")
        .and_then(|a| a.as_array_mut())
        .into_iter()
        .flatten()
        .filter_map(|attachment| attachment.get_mut("actions")?.as_array_mut())
        .flatten()
        .filter_map(|action| action.as_object_mut())
}

/// The action `id` of a post's attachments.
pub fn find_action<'a>(props: &'a JsonObject, id: &str) -> Option<&'a JsonObject> {
    actions(props).find(|action| action.get("id").and_then(|v| v.as_str()) == Some(id))
}

/// Gives every action without one an id, as Mattermost's `GenerateActionIds`.
pub fn generate_action_ids(props: &mut JsonObject) {
    for action in actions_mut(props) {
        let has_id = action
            .get("id")
            .and_then(|v| v.as_str())
            .is_some_and(|id| !id.is_empty());
        if !has_id {
            action.insert("id".into(), crate::new_id().into());
        }
    }
}

/// Calls `f` on every action of a post's attachments.
pub fn for_each_action(props: &mut JsonObject, f: impl FnMut(&mut JsonObject)) {
    actions_mut(props).for_each(f);
}

/// The integration of one of a post's actions, if it has a well-formed one.
pub fn action_integration(action: &JsonObject) -> Option<PostActionIntegration> {
    let integration: PostActionIntegration =
        serde_json::from_value(action.get("integration")?.clone()).ok()?;
    (!integration.url.is_empty()).then_some(integration)
}

/// Puts back the integrations that an edit by a client dropped: clients never see
/// them, so an edited post's actions without one take the old action's of the same id.
pub fn restore_integrations(new: &mut JsonObject, old: &JsonObject) {
    for action in actions_mut(new) {
        if action.contains_key("integration") {
            continue;
        }
        let Some(id) = action.get("id").and_then(|v| v.as_str()) else {
            continue;
        };
        if let Some(integration) = find_action(old, id).and_then(|a| a.get("integration")) {
            action.insert("integration".into(), integration.clone());
        }
    }
}

/// Props without their actions' `integration`, which only the server may see.
pub fn props_for_clients(props: &JsonObject) -> Cow<'_, JsonObject> {
    if !actions(props).any(|action| action.contains_key("integration")) {
        return Cow::Borrowed(props);
    }
    let mut stripped = props.clone();
    for action in actions_mut(&mut stripped) {
        action.remove("integration");
    }
    Cow::Owned(stripped)
}

pub(crate) fn serialize_props_for_clients<S: Serializer>(
    props: &JsonObject,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    props_for_clients(props).serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(value: serde_json::Value) -> JsonObject {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn clients_never_see_an_integration() {
        let post = crate::Post {
            props: props(json!({"attachments": [{"text": "t", "actions": [
                {"id": "a1", "name": "Go", "integration": {"url": "http://x", "context": {"secret": 1}}}
            ]}]})),
            ..crate::Post::default()
        };
        let text = serde_json::to_string(&post).unwrap();
        assert!(!text.contains("integration"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("\"a1\""), "{text}");
        // The server's own copy keeps it.
        assert!(find_action(&post.props, "a1").unwrap()["integration"].is_object());
    }

    #[test]
    fn ids_are_generated_only_where_missing() {
        let mut p = props(
            json!({"attachments": [{"actions": [{"id": "keep"}, {"name": "new"}, {"id": ""}]}]}),
        );
        generate_action_ids(&mut p);
        let ids: Vec<String> = actions(&p)
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids[0], "keep");
        assert!(crate::is_valid_id(&ids[1]) && crate::is_valid_id(&ids[2]));
        assert_ne!(ids[1], ids[2]);
    }

    #[test]
    fn an_edit_keeps_the_integrations_it_could_not_see() {
        let old = props(json!({"attachments": [{"actions": [
            {"id": "a1", "integration": {"url": "http://x"}},
            {"id": "a2", "integration": {"url": "http://y"}}
        ]}]}));
        let mut new = props(json!({"attachments": [{"actions": [
            {"id": "a1"}, {"id": "a2", "integration": {"url": "http://z"}}, {"id": "a3"}
        ]}]}));
        restore_integrations(&mut new, &old);
        let url = |id| action_integration(find_action(&new, id)?).map(|i| i.url);
        assert_eq!(url("a1").as_deref(), Some("http://x"));
        assert_eq!(url("a2").as_deref(), Some("http://z"));
        assert_eq!(url("a3"), None);
    }

    #[test]
    fn malformed_attachments_are_left_alone() {
        let mut p = props(json!({"attachments": "nope"}));
        generate_action_ids(&mut p);
        assert_eq!(props_for_clients(&p).as_ref(), &p);
        let mut p = props(json!({"attachments": [1, {"actions": [2, "x"]}]}));
        generate_action_ids(&mut p);
        assert!(find_action(&p, "x").is_none());
    }
}
