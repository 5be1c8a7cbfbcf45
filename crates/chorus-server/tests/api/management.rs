//! Changing what exists: channels renamed and described (with the system messages
//! members see), profiles edited, profile pictures set and reset, and users leaving
//! teams or being removed from them.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer, Ws};
use crate::files::{png, png_bomb};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    channels_are_renamed_and_described,
    profiles_are_changed_by_their_owners,
    profile_pictures_are_set_and_reset,
    users_leave_teams_and_are_removed,
);

/// The posts of a channel, oldest first.
async fn posts_of(api: &crate::common::Api, channel_id: &str) -> Vec<Value> {
    let (status, list) = api.get(&format!("/channels/{channel_id}/posts")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut posts: Vec<Value> = list["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| list["posts"][id.as_str().unwrap()].clone())
        .collect();
    posts.reverse();
    posts
}

async fn channels_are_renamed_and_described(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    let (carol, carol_user) = server.member(&alice, &team_id, "carol").await;
    let channel = alice.channel(&team_id, "plans", "O").await;
    let channel_id = id(&channel);
    alice.add_to_channel(&channel_id, &id(&bob_user)).await;
    let mut bob_ws = Ws::ready(&server, bob.token()).await;

    // A member patches the display name, header and purpose: one system message each.
    let (status, patched) = bob
        .put(
            &format!("/channels/{channel_id}/patch"),
            json!({"display_name": "Big Plans", "header": "Read me", "purpose": "Planning"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["display_name"], "Big Plans");
    assert_eq!(patched["header"], "Read me");
    assert_eq!(patched["name"], "plans");
    assert!(patched["update_at"].as_i64() > channel["update_at"].as_i64());
    let updated = bob_ws.expect_event("channel_updated").await;
    let sent: Value = serde_json::from_str(updated["data"]["channel"].as_str().unwrap()).unwrap();
    assert_eq!(sent["header"], "Read me");
    assert_eq!(updated["broadcast"]["channel_id"], json!(channel_id));
    // Posted in one millisecond, so in no particular order.
    let posts = posts_of(&alice, &channel_id).await;
    let mut system: Vec<(String, String)> = posts
        .iter()
        .map(|p| (p["type"].to_string(), p["message"].to_string()))
        .collect();
    system.sort();
    let expected = [
        (
            "system_displayname_change",
            "bob updated the channel display name from: plans to: Big Plans",
        ),
        (
            "system_header_change",
            "bob updated the channel header to: Read me",
        ),
        (
            "system_purpose_change",
            "bob updated the channel purpose to: Planning",
        ),
    ]
    .map(|(t, m)| (json!(t).to_string(), json!(m).to_string()));
    assert_eq!(system, expected);
    let header_post = posts
        .iter()
        .find(|p| p["type"] == "system_header_change")
        .unwrap();
    assert_eq!(header_post["props"]["old_header"], "");
    assert_eq!(header_post["props"]["new_header"], "Read me");
    assert_eq!(header_post["props"]["username"], "bob");
    assert_eq!(header_post["user_id"], bob_user["id"]);

    // PUT replaces the header and purpose; an unchanged field posts nothing.
    let (status, put) = alice
        .put(
            &format!("/channels/{channel_id}"),
            json!({"id": channel_id, "name": "big-plans", "header": "", "purpose": "Planning"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["name"], "big-plans");
    assert_eq!(put["display_name"], "Big Plans");
    let last = posts_of(&alice, &channel_id).await.pop().unwrap();
    assert_eq!(
        last["message"],
        "alice removed the channel header (was: Read me)"
    );
    assert_eq!(posts_of(&alice, &channel_id).await.len(), 4);

    // Refusals change nothing.
    let before = server.count("posts").await;
    let refusals = [
        (
            carol
                .put(
                    &format!("/channels/{channel_id}/patch"),
                    json!({"header": "mine"}),
                )
                .await,
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
        ),
        (
            alice
                .put(
                    &format!("/channels/{channel_id}"),
                    json!({"id": id(&carol_user)}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "api.context.invalid_param.app_error",
        ),
        (
            alice
                .put(
                    &format!("/channels/{channel_id}"),
                    json!({"id": channel_id, "type": "P"}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "api.channel.update_channel.typechange.app_error",
        ),
        (
            alice
                .put(
                    &format!("/channels/{channel_id}/patch"),
                    json!({"name": "town-square"}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "store.sql_channel.save_channel.exists.app_error",
        ),
        (
            alice
                .put(
                    &format!("/channels/{channel_id}/patch"),
                    json!({"name": "Not A Name"}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "model.channel.is_valid.name.app_error",
        ),
        (
            alice
                .put(
                    &format!("/channels/{channel_id}/patch"),
                    json!({"header": "h".repeat(1025)}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "model.channel.is_valid.header.app_error",
        ),
    ];
    for (reply, status, error_id) in &refusals {
        assert_error(reply, *status, error_id);
    }
    let town = alice.channel_named(&team_id, "town-square").await;
    let rename_default = alice
        .put(
            &format!("/channels/{}/patch", id(&town)),
            json!({"name": "lobby"}),
        )
        .await;
    assert_error(
        &rename_default,
        StatusCode::BAD_REQUEST,
        "api.channel.update_channel.tried.app_error",
    );
    let (_, unchanged) = alice.get(&format!("/channels/{channel_id}")).await;
    assert_eq!(unchanged["name"], "big-plans");
    assert_eq!(unchanged["header"], "");
    assert_eq!(server.count("posts").await, before);

    // A direct channel: its members may set the header, nobody may rename it.
    let (_, direct) = alice
        .post(
            "/channels/direct",
            json!([alice.get("/users/me").await.1["id"], bob_user["id"]]),
        )
        .await;
    let direct_id = id(&direct);
    let (status, _) = bob
        .put(
            &format!("/channels/{direct_id}/patch"),
            json!({"header": "Just us"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let outsider = carol
        .put(
            &format!("/channels/{direct_id}/patch"),
            json!({"header": "me too"}),
        )
        .await;
    assert_error(
        &outsider,
        StatusCode::FORBIDDEN,
        "api.channel.patch_update_channel.forbidden.app_error",
    );
    let rename = bob
        .put(
            &format!("/channels/{direct_id}/patch"),
            json!({"name": "ours"}),
        )
        .await;
    assert_error(
        &rename,
        StatusCode::BAD_REQUEST,
        "model.channel.is_valid.name.app_error",
    );
    server.stop().await;
}

async fn profiles_are_changed_by_their_owners(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (alice, alice_user) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let alice_id = id(&alice_user);
    let mut bob_ws = Ws::ready(&server, bob.token()).await;

    let (status, patched) = alice
        .put(
            "/users/me/patch",
            json!({"nickname": "Ally", "first_name": "Alice", "position": "Captain", "locale": "fr"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["nickname"], "Ally");
    assert_eq!(patched["first_name"], "Alice");
    assert_eq!(patched["locale"], "fr");
    assert_eq!(patched["email"], "alice@example.com");
    let seen = bob_ws.expect_event("user_updated").await;
    assert_eq!(seen["data"]["user"]["nickname"], "Ally");
    assert_eq!(seen["data"]["user"]["email"], "");
    let (_, read) = bob.get(&format!("/users/{alice_id}")).await;
    assert_eq!(read["position"], "Captain");

    // A new email needs the current password from the user herself.
    let password = "password-alice";
    let missing = alice
        .put("/users/me/patch", json!({"email": "ally@example.com"}))
        .await;
    assert_error(
        &missing,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    let wrong = alice
        .put(
            "/users/me/patch",
            json!({"email": "ally@example.com", "password": "not-it-at-all"}),
        )
        .await;
    assert_error(
        &wrong,
        StatusCode::UNAUTHORIZED,
        "api.user.check_user_password.invalid.app_error",
    );
    let (status, moved) = alice
        .put(
            "/users/me/patch",
            json!({"email": "Ally@Example.com", "password": password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["email"], "ally@example.com");
    alice.login("ally@example.com", password).await;
    // An admin needs none; PUT takes the whole user and must name the same id.
    let (status, by_admin) = admin
        .put(
            &format!("/users/{alice_id}"),
            json!({"id": alice_id, "username": "alice2", "email": "alice@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_admin}");
    assert_eq!(by_admin["username"], "alice2");
    assert_eq!(by_admin["nickname"], "Ally");

    let before: Value = admin.get(&format!("/users/{alice_id}")).await.1;
    let refusals = [
        (
            bob.put(
                &format!("/users/{alice_id}/patch"),
                json!({"nickname": "x"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
        ),
        (
            alice
                .put("/users/me/patch", json!({"username": "bob"}))
                .await,
            StatusCode::BAD_REQUEST,
            "app.user.save.username_exists.app_error",
        ),
        (
            admin
                .put(
                    &format!("/users/{alice_id}/patch"),
                    json!({"email": "bob@example.com"}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "app.user.save.email_exists.app_error",
        ),
        (
            alice
                .put("/users/me/patch", json!({"username": "Not Valid!"}))
                .await,
            StatusCode::BAD_REQUEST,
            "model.user.is_valid.username.app_error",
        ),
        (
            alice
                .put("/users/me/patch", json!({"nickname": "n".repeat(65)}))
                .await,
            StatusCode::BAD_REQUEST,
            "model.user.is_valid.app_error",
        ),
        (
            admin
                .put(&format!("/users/{alice_id}"), json!({"id": "someone-else"}))
                .await,
            StatusCode::BAD_REQUEST,
            "api.context.invalid_param.app_error",
        ),
    ];
    for (reply, status, error_id) in &refusals {
        assert_error(reply, *status, error_id);
    }
    assert_eq!(admin.get(&format!("/users/{alice_id}")).await.1, before);
    server.stop().await;
}

async fn profile_pictures_are_set_and_reset(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (alice, alice_user) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let alice_id = id(&alice_user);
    let image_path = format!("/users/{alice_id}/image");
    let decode = |body: &[u8]| image::load_from_memory(body).expect("a PNG").to_rgb8();

    // Before anything is set: the generated picture, the same as /image/default.
    let generated = bob.download(&image_path).await;
    assert_eq!(generated.status, StatusCode::OK);
    assert_eq!(generated.content_type(), Some("image/png"));
    assert_eq!(generated.headers["cache-control"], "max-age=86400, private");
    assert_eq!(decode(&generated.body).dimensions(), (128, 128));
    let default = bob.download(&format!("{image_path}/default")).await;
    assert_eq!(default.body, generated.body);

    let upload = |api: &crate::common::Api, path: String, data: Vec<u8>| {
        let api = api.clone();
        async move {
            let form = reqwest::multipart::Form::new().part(
                "image",
                reqwest::multipart::Part::bytes(data).file_name("me.png"),
            );
            api.send(api.request(reqwest::Method::POST, &path).multipart(form))
                .await
        }
    };
    let mut bob_ws = Ws::ready(&server, bob.token()).await;
    let (status, body) = upload(&alice, image_path.clone(), png(300, 200)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seen = bob_ws.expect_event("user_updated").await;
    let set_at = seen["data"]["user"]["last_picture_update"]
        .as_i64()
        .unwrap();
    assert!(set_at > 0);
    let mine = bob.download(&format!("{image_path}?_={set_at}")).await;
    let pixels = decode(&mine.body);
    assert_eq!(pixels.dimensions(), (128, 128));
    assert_ne!(mine.body, generated.body);
    // Cropped from the middle of the 300×200 picture: its blue channel is 128.
    assert_eq!(pixels.get_pixel(64, 64)[2], 128);
    let etag = mine.headers["etag"].to_str().unwrap().to_string();
    let unchanged = bob
        .client
        .send_raw(
            bob.request(reqwest::Method::GET, &image_path)
                .header("If-None-Match", &etag),
        )
        .await
        .unwrap();
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        bob.download(&format!("{image_path}/default")).await.body,
        generated.body
    );

    // Refusals keep the picture.
    let refusals = [
        (
            upload(&bob, image_path.clone(), png(10, 10)).await,
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
        ),
        (
            upload(&alice, image_path.clone(), b"not an image at all".to_vec()).await,
            StatusCode::BAD_REQUEST,
            "api.user.upload_profile_user.decode.app_error",
        ),
        (
            upload(&alice, image_path.clone(), png_bomb(100_000, 100_000)).await,
            StatusCode::BAD_REQUEST,
            "api.user.upload_profile_user.check_image_limits.app_error",
        ),
        (
            upload(&alice, image_path.clone(), vec![0; 9 * 1024 * 1024]).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "api.user.upload_profile_user.too_large.app_error",
        ),
        (
            alice
                .send(
                    alice
                        .request(reqwest::Method::POST, &image_path)
                        .multipart(reqwest::multipart::Form::new().text("other", "x")),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "api.user.upload_profile_user.no_file.app_error",
        ),
    ];
    for (reply, status, error_id) in &refusals {
        assert_error(reply, *status, error_id);
    }
    assert_eq!(bob.download(&image_path).await.body, mine.body);

    // An admin may reset it: back to the generated one, the reset time negative.
    let (status, _) = bob.delete(&image_path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = admin.delete(&image_path).await;
    assert_eq!(status, StatusCode::OK);
    let (_, user) = bob.get(&format!("/users/{alice_id}")).await;
    assert!(user["last_picture_update"].as_i64().unwrap() < 0);
    assert_eq!(bob.download(&image_path).await.body, generated.body);
    server.stop().await;
}

async fn users_leave_teams_and_are_removed(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    let (carol, carol_user) = server.member(&alice, &team_id, "carol").await;
    let (bob_id, carol_id) = (id(&bob_user), id(&carol_user));
    let private = id(&alice.channel(&team_id, "inner", "P").await);
    alice.add_to_channel(&private, &bob_id).await;
    let town = id(&alice.channel_named(&team_id, "town-square").await);
    let mut alice_ws = Ws::ready(&server, alice.token()).await;
    let mut bob_ws = Ws::ready(&server, bob.token()).await;

    // Carol is no team admin: she cannot remove others.
    let refused = carol
        .delete(&format!("/teams/{team_id}/members/{bob_id}"))
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );

    // Bob leaves: out of every channel of the team, the team and he are told.
    let (status, body) = bob.delete(&format!("/teams/{team_id}/members/me")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    for ws in [&mut alice_ws, &mut bob_ws] {
        let left = ws.expect_event("leave_team").await;
        assert_eq!(left["data"], json!({"user_id": bob_id, "team_id": team_id}));
    }
    for channel in [&town, &private] {
        assert!(!alice.channel_member_ids(channel).await.contains(&bob_id));
    }
    let (_, members) = alice.get(&format!("/teams/{team_id}/members")).await;
    assert!(!members.to_string().contains(&bob_id));
    let (_, memberships) = bob.get("/users/me/teams/members").await;
    let left = memberships
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["team_id"] == json!(team_id))
        .unwrap();
    assert!(left["delete_at"].as_i64().unwrap() > 0);
    let (status, _) = bob.get(&format!("/channels/{private}/posts")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let said = posts_of(&alice, &town).await.pop().unwrap();
    assert_eq!(said["type"], "system_leave_team");
    assert_eq!(said["message"], "bob left the team.");
    assert_eq!(said["user_id"], json!(bob_id));

    // Leaving twice is an error; rejoining puts him back in the default channels only.
    let again = bob.delete(&format!("/teams/{team_id}/members/me")).await;
    assert_error(
        &again,
        StatusCode::BAD_REQUEST,
        "api.team.remove_user_from_team.missing.app_error",
    );
    alice.add_to_team(&team_id, &bob_id).await;
    let (_, member) = bob.get("/users/me/teams/members").await;
    let back = member
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["team_id"] == json!(team_id))
        .unwrap()
        .clone();
    assert_eq!(back["delete_at"], 0);
    assert_eq!(back["roles"], "team_user");
    assert!(alice.channel_member_ids(&town).await.contains(&bob_id));
    assert!(!alice.channel_member_ids(&private).await.contains(&bob_id));

    // The team admin removes carol.
    let (status, _) = alice
        .delete(&format!("/teams/{team_id}/members/{carol_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let said = posts_of(&alice, &town).await.pop().unwrap();
    assert_eq!(said["type"], "system_remove_from_team");
    assert_eq!(said["message"], "carol removed from the team.");
    let (status, _) = carol.get(&format!("/teams/{team_id}/channels")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.stop().await;
}
