//! Finding people and channels: @-autocomplete by username and names (in a channel,
//! with the team's others apart), user search, ~-autocomplete and channel search, each
//! answering only what the asker may see, and odd terms answered, never failed.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(users_are_found_by_name, channels_are_found_by_name,);

fn usernames(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

async fn users_are_found_by_name(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    server.member(&alice, &team_id, "bobby").await;
    let (carl, _) = server.member(&alice, &team_id, "carl").await;
    let (outsider, _) = server.user("boris").await;
    let (status, _) = bob
        .put(
            "/users/me/patch",
            json!({"first_name": "Robert", "last_name": "Stone", "nickname": "Bobcat"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let channel_id = id(&alice.channel(&team_id, "plans", "O").await);
    alice.add_to_channel(&channel_id, &id(&bob_user)).await;

    // In a channel: its members who match, and the team's others apart.
    let (status, found) = alice
        .get(&format!(
            "/users/autocomplete?in_team={team_id}&in_channel={channel_id}&name=bo"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(usernames(&found["users"]), vec!["bob"]);
    assert_eq!(usernames(&found["out_of_channel"]), vec!["bobby"]);
    // In a team, by first name, last name, full name and nickname, any case and an @.
    for name in ["rob", "STONE", "robert st", "bobc", "@bob"] {
        let (_, found) = carl
            .get(&format!(
                "/users/autocomplete?in_team={team_id}&name={}",
                urlencode(name)
            ))
            .await;
        assert!(
            usernames(&found["users"]).contains(&"bob".to_owned()),
            "{name}: {found}"
        );
        assert!(found.get("out_of_channel").is_none(), "{found}");
        // Other people's email addresses are not shown to a plain user.
        assert_eq!(found["users"][0]["email"], "", "{found}");
    }
    // Everyone (no team): boris too; a limit cuts the list.
    let (_, found) = alice.get("/users/autocomplete?name=b").await;
    assert_eq!(usernames(&found["users"]), vec!["bob", "bobby", "boris"]);
    let (_, found) = alice.get("/users/autocomplete?name=b&limit=1").await;
    assert_eq!(usernames(&found["users"]), vec!["bob"]);
    let (_, found) = alice
        .get(&format!("/users/autocomplete?in_team={team_id}"))
        .await;
    assert_eq!(
        usernames(&found["users"]),
        vec!["alice", "bob", "bobby", "carl"]
    );
    // Odd names find nothing and fail nothing.
    for name in [
        "%",
        "_",
        "\\",
        "😀",
        "Ünï",
        &"x".repeat(5000),
        "' OR 1=1 --",
    ] {
        let (status, found) = alice
            .get(&format!(
                "/users/autocomplete?in_team={team_id}&name={}",
                urlencode(name)
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {found}");
        assert_eq!(usernames(&found["users"]), Vec::<String>::new(), "{name}");
    }
    // Refusals: a team one is not in, a channel without its team, malformed ids.
    let reply = outsider
        .get(&format!("/users/autocomplete?in_team={team_id}&name=b"))
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let reply = alice
        .get(&format!(
            "/users/autocomplete?in_channel={channel_id}&name=b"
        ))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.user.autocomplete_users.missing_team_id.app_error",
    );
    let reply = alice.get("/users/autocomplete?in_team=nope").await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );

    // POST /users/search: the term is required; narrowing as asked.
    let (status, found) = alice
        .post("/users/search", json!({"term": "bo", "team_id": team_id}))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(usernames(&found), vec!["bob", "bobby"]);
    let (_, found) = alice
        .post(
            "/users/search",
            json!({"term": "bo", "team_id": team_id, "not_in_channel_id": channel_id}),
        )
        .await;
    assert_eq!(usernames(&found), vec!["bobby"]);
    let (_, found) = alice
        .post(
            "/users/search",
            json!({"term": "b", "not_in_team_id": team_id}),
        )
        .await;
    assert_eq!(usernames(&found), vec!["boris"]);
    let reply = alice.post("/users/search", json!({"term": "  "})).await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    let reply = alice
        .post(
            "/users/search",
            json!({"term": "b", "not_in_channel_id": channel_id}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    let reply = alice
        .post("/users/search", json!({"term": "b", "limit": 100_000}))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    let reply = outsider
        .post("/users/search", json!({"term": "b", "team_id": team_id}))
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    server.stop().await;
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn channels_are_found_by_name(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    let other_team = id(&alice.team("elsewhere").await);
    let (status, _) = alice
        .post(
            "/channels",
            json!({"team_id": team_id, "name": "project-x", "display_name": "Project X Launch", "type": "O"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = id(&alice
        .post(
            "/channels",
            json!({"team_id": team_id, "name": "launch-secret", "display_name": "Launch Secret", "type": "P"}),
        )
        .await
        .1);
    alice
        .post(
            "/channels",
            json!({"team_id": other_team, "name": "launch-elsewhere", "display_name": "Launch Elsewhere", "type": "O"}),
        )
        .await;
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };

    // A word of the display name or the start of the name; private ones only for members.
    let (status, found) = bob
        .get(&format!("/teams/{team_id}/channels/autocomplete?name=laun"))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(names(&found), vec!["project-x"]);
    let (_, found) = alice
        .get(&format!("/teams/{team_id}/channels/autocomplete?name=laun"))
        .await;
    assert_eq!(names(&found), vec!["launch-secret", "project-x"]);
    alice.add_to_channel(&secret, &id(&bob_user)).await;
    let (_, found) = bob
        .get(&format!(
            "/teams/{team_id}/channels/autocomplete?name=~Proj"
        ))
        .await;
    assert_eq!(names(&found), vec!["project-x"]);
    let (_, found) = bob
        .get(&format!(
            "/teams/{team_id}/channels/autocomplete?name=aunch"
        ))
        .await;
    assert!(
        names(&found).is_empty(),
        "not the middle of a word: {found}"
    );
    let (_, found) = bob
        .get(&format!("/teams/{team_id}/channels/autocomplete?name=town"))
        .await;
    assert_eq!(names(&found), vec!["town-square"]);

    // Search: anywhere in the name or display name.
    let (status, found) = bob
        .post(
            &format!("/teams/{team_id}/channels/search"),
            json!({"term": "aunch"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(names(&found), vec!["launch-secret", "project-x"]);
    let reply = bob
        .post(
            &format!("/teams/{team_id}/channels/search"),
            json!({"term": ""}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    let reply = bob
        .get(&format!(
            "/teams/{other_team}/channels/autocomplete?name=laun"
        ))
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, found) = bob
        .post(
            &format!("/teams/{team_id}/channels/search"),
            json!({"term": "%_%"}),
        )
        .await;
    assert_eq!((status, names(&found)), (StatusCode::OK, vec![]));
    server.stop().await;
}
