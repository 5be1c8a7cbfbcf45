//! Posts: create, reply, read, edit, delete, channel history and threads.

use crate::both_backends;
use crate::common::{assert_error, id, strings, Api, Backend, Endpoint, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    create_post_shape,
    replies_count_their_thread,
    invalid_root_refused,
    non_members_cannot_post,
    message_length_limit,
    get_edit_and_patch_post,
    delete_post_and_its_thread,
    channel_posts_page_newest_first,
    channel_posts_before_after_and_since,
    read_thread,
    concurrent_posts_are_all_counted,
);

/// A team with `alice` (system admin), `bob` (its creator) and `carol` in it; returns
/// them and the team's town-square.
async fn crew(server: &TestServer) -> (Api, Api, Value, Api, Value, Value) {
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let (carol, carol_user) = server.member(&bob, &team_id, "carol").await;
    let town_square = bob.channel_named(&team_id, "town-square").await;
    (alice, bob, bob_user, carol, carol_user, town_square)
}

/// Posts `count` messages, each created at a later millisecond than the one before,
/// so that "newest first" has exactly one right answer. Returns them oldest first.
async fn timeline(api: &Api, channel_id: &str, count: usize) -> Vec<Value> {
    let mut posts: Vec<Value> = Vec::new();
    for n in 1..=count {
        if let Some(last) = posts.last() {
            let last_at = last["create_at"].as_i64().unwrap();
            while chorus_model::now_millis() <= last_at {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        posts.push(api.create_post(channel_id, &format!("message {n}")).await);
    }
    posts
}

fn post_ids(posts: &[&Value]) -> Vec<String> {
    posts.iter().map(|p| id(p)).collect()
}

async fn create_post_shape(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, bob_user, _, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let (status, post) = bob
        .post(
            "/posts",
            json!({"channel_id": channel_id, "message": "hello world", "props": {"from": "test"}, "pending_post_id": "abc:123"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    for field in [
        "id",
        "create_at",
        "update_at",
        "edit_at",
        "delete_at",
        "is_pinned",
        "user_id",
        "channel_id",
        "root_id",
        "original_id",
        "message",
        "type",
        "props",
        "hashtags",
        "pending_post_id",
        "reply_count",
        "metadata",
    ] {
        assert!(post.get(field).is_some(), "post without {field}: {post}");
    }
    assert_eq!(id(&post).len(), 26);
    assert!(chorus_model::is_valid_id(&id(&post)));
    // Milliseconds since the epoch (a count of seconds would be about 1.7e9).
    let create_at = post["create_at"].as_i64().unwrap();
    assert!(
        create_at > 1_000_000_000_000,
        "create_at {create_at} is not in ms"
    );
    assert_eq!(post["update_at"], post["create_at"]);
    assert_eq!(
        (&post["edit_at"], &post["delete_at"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(post["user_id"], bob_user["id"]);
    assert_eq!(post["channel_id"], town_square["id"]);
    assert_eq!((&post["root_id"], &post["type"]), (&json!(""), &json!("")));
    assert_eq!(post["message"], "hello world");
    assert_eq!(post["props"], json!({"from": "test"}));
    assert_eq!(post["pending_post_id"], "abc:123");
    assert_eq!(
        (&post["reply_count"], &post["is_pinned"]),
        (&json!(0), &json!(false))
    );

    let (status, read) = bob.get(&format!("/posts/{}", id(&post))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, post);
    let (_, channel) = bob.get(&format!("/channels/{channel_id}")).await;
    assert_eq!(channel["last_post_at"], post["create_at"]);
    assert_eq!(channel["total_msg_count"], 1);

    let system_type = bob
        .post(
            "/posts",
            json!({"channel_id": channel_id, "message": "x", "type": "system_join_channel"}),
        )
        .await;
    assert_error(
        &system_type,
        StatusCode::BAD_REQUEST,
        "api.post.create_post.type.app_error",
    );
    let (status, custom) = bob
        .post(
            "/posts",
            json!({"channel_id": channel_id, "message": "x", "type": "custom_poll"}),
        )
        .await;
    assert_eq!(
        (status, &custom["type"]),
        (StatusCode::CREATED, &json!("custom_poll"))
    );
    assert_eq!(server.count("posts").await, 2);
    server.stop().await;
}

async fn replies_count_their_thread(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, _, carol, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let root = bob.create_post(&channel_id, "root").await;
    let reply = |api: &Api, message: &str| {
        let (api, root_id, channel_id) = (api.clone(), id(&root), channel_id.clone());
        let message = message.to_string();
        async move {
            let (status, post) = api
                .post(
                    "/posts",
                    json!({"channel_id": channel_id, "message": message, "root_id": root_id}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{post}");
            post
        }
    };
    let first = reply(&carol, "first reply").await;
    assert_eq!(first["root_id"], root["id"]);
    assert_eq!(first["reply_count"], 1);
    let second = reply(&bob, "second reply").await;
    assert_eq!(second["reply_count"], 2);

    let (_, root_now) = bob.get(&format!("/posts/{}", id(&root))).await;
    assert_eq!(root_now["reply_count"], 2);
    let (_, first_now) = bob.get(&format!("/posts/{}", id(&first))).await;
    assert_eq!(first_now["reply_count"], 2);
    // Replies are part of the channel's history too.
    assert_eq!(bob.post_order(&channel_id).await.len(), 3);
    server.stop().await;
}

async fn invalid_root_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, _, _, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let team_id = town_square["team_id"].as_str().unwrap().to_string();
    let other = bob.channel(&team_id, "news", "O").await;
    let elsewhere = bob.create_post(&id(&other), "in another channel").await;
    let root = bob.create_post(&channel_id, "root").await;
    let (status, reply) = bob
        .post(
            "/posts",
            json!({"channel_id": channel_id, "message": "reply", "root_id": id(&root)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let deleted = bob.create_post(&channel_id, "soon gone").await;
    let (status, _) = bob.delete(&format!("/posts/{}", id(&deleted))).await;
    assert_eq!(status, StatusCode::OK);
    let posts_before = server.count("posts").await;

    for (what, root_id) in [
        ("a post of another channel", id(&elsewhere)),
        ("a post that does not exist", chorus_model::new_id()),
        ("a reply, not a root", id(&reply)),
        ("a deleted post", id(&deleted)),
    ] {
        let refused = bob
            .post(
                "/posts",
                json!({"channel_id": channel_id, "message": "orphan", "root_id": root_id}),
            )
            .await;
        assert_eq!(refused.0, StatusCode::BAD_REQUEST, "root is {what}");
        assert_error(
            &refused,
            StatusCode::BAD_REQUEST,
            "api.post.create_post.root_id.app_error",
        );
    }
    assert_eq!(server.count("posts").await, posts_before);
    let (_, root_now) = bob.get(&format!("/posts/{}", id(&root))).await;
    assert_eq!(root_now["reply_count"], 1);
    server.stop().await;
}

async fn non_members_cannot_post(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, _, carol, _, town_square) = crew(&server).await;
    let team_id = town_square["team_id"].as_str().unwrap().to_string();
    let (dave, _) = server.user("dave").await;
    let private = bob.channel(&team_id, "secrets", "P").await;
    let open = bob.channel(&team_id, "news", "O").await;

    for (api, channel) in [(&carol, &private), (&carol, &open), (&dave, &town_square)] {
        let refused = api
            .post(
                "/posts",
                json!({"channel_id": id(channel), "message": "let me in"}),
            )
            .await;
        assert_error(
            &refused,
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
        );
    }
    assert_eq!(server.count("posts").await, 0);
    for channel in [&private, &open, &town_square] {
        assert!(bob.post_order(&id(channel)).await.is_empty());
        let (_, read) = bob.get(&format!("/channels/{}", id(channel))).await;
        assert_eq!(
            (&read["total_msg_count"], &read["last_post_at"]),
            (&json!(0), &json!(0))
        );
    }
    let unknown = carol
        .post(
            "/posts",
            json!({"channel_id": chorus_model::new_id(), "message": "anyone?"}),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "app.channel.get.existing.app_error",
    );
    server.stop().await;
}

async fn message_length_limit(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, _, _, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let longest = "é".repeat(16383);
    let post = bob.create_post(&channel_id, &longest).await;
    assert_eq!(post["message"].as_str().unwrap().chars().count(), 16383);

    for message in [
        "x".repeat(16384),
        "é".repeat(16384),
        String::new(),
        "   ".into(),
    ] {
        let refused = bob
            .post(
                "/posts",
                json!({"channel_id": channel_id, "message": message}),
            )
            .await;
        assert_error(
            &refused,
            StatusCode::BAD_REQUEST,
            "model.post.is_valid.msg.app_error",
        );
    }
    assert_eq!(bob.post_order(&channel_id).await, [id(&post)]);
    let (_, stored) = bob.get(&format!("/posts/{}", id(&post))).await;
    assert_eq!(stored["message"], longest.as_str());

    let too_long = bob
        .put(
            &format!("/posts/{}", id(&post)),
            json!({"id": id(&post), "message": "y".repeat(16384)}),
        )
        .await;
    assert_error(
        &too_long,
        StatusCode::BAD_REQUEST,
        "model.post.is_valid.msg.app_error",
    );
    let (_, stored) = bob.get(&format!("/posts/{}", id(&post))).await;
    assert_eq!(
        (&stored["message"], &stored["edit_at"]),
        (&json!(longest), &json!(0))
    );
    server.stop().await;
}

async fn get_edit_and_patch_post(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, bob, _, carol, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let post = bob.create_post(&channel_id, "first draft").await;
    let path = format!("/posts/{}", id(&post));
    let (dave, _) = server.user("dave").await;

    let (status, read) = carol.get(&path).await;
    assert_eq!((status, &read), (StatusCode::OK, &post));
    let hidden = dave.get(&path).await;
    assert_error(
        &hidden,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );

    let (status, edited) = bob
        .put(&path, json!({"id": id(&post), "message": "second draft"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["message"], "second draft");
    assert!(edited["edit_at"].as_i64().unwrap() >= post["create_at"].as_i64().unwrap());
    assert_ne!(edited["edit_at"], 0);
    assert_eq!(edited["update_at"], edited["edit_at"]);
    assert_eq!(
        (&edited["id"], &edited["create_at"]),
        (&post["id"], &post["create_at"])
    );
    let (_, read) = carol.get(&path).await;
    assert_eq!(read, edited);

    // Someone else's post: refused, and left as it was.
    let refused = carol
        .put(&path, json!({"id": id(&post), "message": "hijacked"}))
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let refused = carol
        .put(&format!("{path}/patch"), json!({"message": "hijacked"}))
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let refused = dave
        .put(&path, json!({"id": id(&post), "message": "hijacked"}))
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (_, read) = bob.get(&path).await;
    assert_eq!(read, edited);

    let no_message = bob.put(&path, json!({"id": id(&post)})).await;
    assert_error(
        &no_message,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    let mismatch = bob
        .put(&path, json!({"id": chorus_model::new_id(), "message": "x"}))
        .await;
    assert_error(
        &mismatch,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_body_param.app_error",
    );
    let empty = bob.put(&path, json!({"message": " "})).await;
    assert_error(
        &empty,
        StatusCode::BAD_REQUEST,
        "model.post.is_valid.msg.app_error",
    );

    // A patch changes only what it names.
    let (status, patched) = bob
        .put(
            &format!("{path}/patch"),
            json!({"is_pinned": true, "props": {"k": "v"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["message"], "second draft");
    assert_eq!(
        (&patched["is_pinned"], &patched["props"]),
        (&json!(true), &json!({"k": "v"}))
    );
    let (status, patched) = bob
        .put(&format!("{path}/patch"), json!({"message": "final"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["message"], "final");
    assert_eq!(
        (&patched["is_pinned"], &patched["props"]),
        (&json!(true), &json!({"k": "v"}))
    );
    let (_, read) = carol.get(&path).await;
    assert_eq!(read, patched);

    // A system admin may edit anyone's post.
    let (status, by_admin) = alice.put(&path, json!({"message": "moderated"})).await;
    assert_eq!(
        (status, &by_admin["message"]),
        (StatusCode::OK, &json!("moderated"))
    );
    let unknown = bob
        .put(
            &format!("/posts/{}", chorus_model::new_id()),
            json!({"message": "x"}),
        )
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "app.post.get.app_error");
    server.stop().await;
}

async fn delete_post_and_its_thread(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, _, carol, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let root = bob.create_post(&channel_id, "root").await;
    let mut replies = Vec::new();
    for (api, message) in [(&carol, "one"), (&bob, "two"), (&carol, "three")] {
        let (status, reply) = api
            .post(
                "/posts",
                json!({"channel_id": channel_id, "message": message, "root_id": id(&root)}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        replies.push(reply);
    }
    let bystander = bob.create_post(&channel_id, "unrelated").await;

    let refused = carol.delete(&format!("/posts/{}", id(&root))).await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, _) = bob.get(&format!("/posts/{}", id(&root))).await;
    assert_eq!(status, StatusCode::OK);

    // Deleting a reply takes only the reply.
    let (status, body) = carol.delete(&format!("/posts/{}", id(&replies[0]))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    let gone = carol.get(&format!("/posts/{}", id(&replies[0]))).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "app.post.get.app_error");
    let (_, thread) = bob.get(&format!("/posts/{}/thread", id(&root))).await;
    assert_eq!(thread["order"].as_array().unwrap().len(), 3);
    assert!(thread["posts"].get(id(&replies[0])).is_none());
    let (_, root_now) = bob.get(&format!("/posts/{}", id(&root))).await;
    assert_eq!(root_now["reply_count"], 2);
    let again = carol.delete(&format!("/posts/{}", id(&replies[0]))).await;
    assert_error(&again, StatusCode::NOT_FOUND, "app.post.get.app_error");

    // Deleting the root takes its whole thread.
    let (status, _) = bob.delete(&format!("/posts/{}", id(&root))).await;
    assert_eq!(status, StatusCode::OK);
    for post in std::iter::once(&root).chain(&replies) {
        let gone = bob.get(&format!("/posts/{}", id(post))).await;
        assert_error(&gone, StatusCode::NOT_FOUND, "app.post.get.app_error");
    }
    let gone = bob.get(&format!("/posts/{}/thread", id(&root))).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "app.post.get.app_error");
    assert_eq!(bob.post_order(&channel_id).await, [id(&bystander)]);
    let orphan = carol
        .post(
            "/posts",
            json!({"channel_id": channel_id, "message": "late reply", "root_id": id(&root)}),
        )
        .await;
    assert_error(
        &orphan,
        StatusCode::BAD_REQUEST,
        "api.post.create_post.root_id.app_error",
    );
    // Soft deletion: the rows stay, marked deleted.
    assert_eq!(server.count("posts").await, 5);
    server.stop().await;
}

async fn channel_posts_page_newest_first(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, _, carol, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let posts = timeline(&bob, &channel_id, 5).await;
    let [p1, p2, p3, p4, p5] = [&posts[0], &posts[1], &posts[2], &posts[3], &posts[4]];

    let (status, all) = carol.get(&format!("/channels/{channel_id}/posts")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(strings(&all["order"]), post_ids(&[p5, p4, p3, p2, p1]));
    assert_eq!(all["posts"].as_object().unwrap().len(), 5);
    assert_eq!(all["posts"][id(p3)], *p3);
    assert_eq!(
        (&all["prev_post_id"], &all["next_post_id"], &all["has_next"]),
        (&json!(""), &json!(""), &json!(false))
    );

    let pages = [
        (0, post_ids(&[p5, p4]), id(p3), String::new()),
        (1, post_ids(&[p3, p2]), id(p1), id(p4)),
        (2, post_ids(&[p1]), String::new(), id(p2)),
    ];
    for (page, order, prev, next) in pages {
        let (status, list) = carol
            .get(&format!(
                "/channels/{channel_id}/posts?page={page}&per_page=2"
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(strings(&list["order"]), order, "page {page}");
        let mut keys: Vec<String> = list["posts"].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        let mut expected = order.clone();
        expected.sort();
        assert_eq!(keys, expected, "page {page}");
        assert_eq!(list["prev_post_id"], json!(prev), "page {page}");
        assert_eq!(list["next_post_id"], json!(next), "page {page}");
        assert_eq!(list["has_next"], json!(!next.is_empty()), "page {page}");
    }
    let (_, beyond) = carol
        .get(&format!("/channels/{channel_id}/posts?page=3&per_page=2"))
        .await;
    assert_eq!(beyond["order"], json!([]));

    // What the official clients add is ignored.
    let (status, same) = carol
        .get(&format!(
            "/channels/{channel_id}/posts?page=0&per_page=2&skipFetchThreads=false&collapsedThreads=true&collapsedThreadsExtended=false&include_deleted=false"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(strings(&same["order"]), post_ids(&[p5, p4]));

    let bad = carol
        .get(&format!("/channels/{channel_id}/posts?page=-1"))
        .await;
    assert_error(
        &bad,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    let bad = carol
        .get(&format!("/channels/{channel_id}/posts?per_page=many"))
        .await;
    assert_error(
        &bad,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}

async fn channel_posts_before_after_and_since(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, _, carol, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let posts = timeline(&bob, &channel_id, 5).await;
    let [p1, p2, p3, p4, p5] = [&posts[0], &posts[1], &posts[2], &posts[3], &posts[4]];
    let list = |query: String| {
        let (carol, channel_id) = (carol.clone(), channel_id.clone());
        async move {
            let (status, list) = carol
                .get(&format!("/channels/{channel_id}/posts?{query}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {list}");
            list
        }
    };

    let before = list(format!("before={}", id(p3))).await;
    assert_eq!(strings(&before["order"]), post_ids(&[p2, p1]));
    assert_eq!(
        (&before["next_post_id"], &before["prev_post_id"]),
        (&json!(id(p3)), &json!(""))
    );
    let before = list(format!("before={}&per_page=1", id(p4))).await;
    assert_eq!(strings(&before["order"]), post_ids(&[p3]));
    assert_eq!(
        (&before["next_post_id"], &before["prev_post_id"]),
        (&json!(id(p4)), &json!(id(p2)))
    );
    let before = list(format!("before={}&per_page=1&page=1", id(p4))).await;
    assert_eq!(strings(&before["order"]), post_ids(&[p2]));

    let after = list(format!("after={}", id(p3))).await;
    assert_eq!(strings(&after["order"]), post_ids(&[p5, p4]));
    assert_eq!(
        (&after["next_post_id"], &after["prev_post_id"]),
        (&json!(""), &json!(id(p3)))
    );
    let after = list(format!("after={}&per_page=1", id(p2))).await;
    assert_eq!(strings(&after["order"]), post_ids(&[p3]));
    assert_eq!(
        (&after["next_post_id"], &after["prev_post_id"]),
        (&json!(id(p4)), &json!(id(p2)))
    );
    assert_eq!(after["has_next"], true);

    // `since`: everything changed after a time, deletions included.
    let since = p3["create_at"].as_i64().unwrap();
    let changed = list(format!("since={since}")).await;
    assert_eq!(strings(&changed["order"]), post_ids(&[p5, p4]));
    let (status, _) = bob
        .put(&format!("/posts/{}", id(p1)), json!({"message": "edited"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = bob.delete(&format!("/posts/{}", id(p5))).await;
    assert_eq!(status, StatusCode::OK);
    let changed = list(format!("since={since}")).await;
    assert_eq!(strings(&changed["order"]), post_ids(&[p5, p4, p1]));
    assert_eq!(changed["posts"][id(p1)]["message"], "edited");
    assert_ne!(changed["posts"][id(p5)]["delete_at"], 0);
    let now = list(format!("since={}", chorus_model::now_millis() + 60_000)).await;
    assert_eq!(now["order"], json!([]));

    let unknown = carol
        .get(&format!(
            "/channels/{channel_id}/posts?before={}",
            chorus_model::new_id()
        ))
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "app.post.get.app_error");
    let invalid = carol
        .get(&format!("/channels/{channel_id}/posts?after=nope"))
        .await;
    assert_error(
        &invalid,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}

async fn read_thread(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, _, carol, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let root = bob.create_post(&channel_id, "root").await;
    bob.create_post(&channel_id, "not in the thread").await;
    let mut thread = vec![root.clone()];
    for n in 0..3 {
        let last_at = thread.last().unwrap()["create_at"].as_i64().unwrap();
        while chorus_model::now_millis() <= last_at {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let (status, reply) = carol
            .post("/posts", json!({"channel_id": channel_id, "message": format!("reply {n}"), "root_id": id(&root)}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        thread.push(reply);
    }
    let newest_first: Vec<String> = thread.iter().rev().map(id).collect();

    for from in [&thread[0], &thread[2]] {
        let (status, list) = bob
            .get(&format!(
                "/posts/{}/thread?direction=down&perPage=10&skipFetchThreads=false",
                id(from)
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(strings(&list["order"]), newest_first);
        assert_eq!(list["posts"].as_object().unwrap().len(), 4);
        assert_eq!(list["posts"][id(&root)]["reply_count"], 3);
        assert_eq!(list["posts"][id(&thread[1])]["root_id"], root["id"]);
    }
    let (dave, _) = server.user("dave").await;
    let hidden = dave.get(&format!("/posts/{}/thread", id(&root))).await;
    assert_error(
        &hidden,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let unknown = bob
        .get(&format!("/posts/{}/thread", chorus_model::new_id()))
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "app.post.get.app_error");
    server.stop().await;
}

/// Posts that commit out of `create_at` order (concurrent requests) still each count in
/// the channel's `total_msg_count`, and `last_post_at` is the newest post's time.
async fn concurrent_posts_are_all_counted(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, bob, _, carol, _, town_square) = crew(&server).await;
    let channel_id = id(&town_square);
    let mut tasks = Vec::new();
    for n in 0..60 {
        let api = if n % 2 == 0 {
            bob.clone()
        } else {
            carol.clone()
        };
        let channel_id = channel_id.clone();
        tasks.push(tokio::spawn(async move {
            api.create_post(&channel_id, &format!("concurrent {n}"))
                .await
        }));
    }
    let mut newest = 0;
    for task in tasks {
        let post = task.await.expect("poster");
        newest = newest.max(post["create_at"].as_i64().unwrap());
    }
    let (_, channel) = bob.get(&format!("/channels/{channel_id}")).await;
    assert_eq!(channel["total_msg_count"], 60, "{channel}");
    assert_eq!(channel["last_post_at"], newest);
    assert_eq!(bob.post_order(&channel_id).await.len(), 60);
    server.stop().await;
}
