//! Files: uploads (multipart and raw body), downloads with Mattermost's headers,
//! thumbnails and previews, who may read a file, files attached to posts, public
//! links, both file drivers, and what is refused (too large, cut off, bombs, names,
//! forms in the wrong order) without anything left behind.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

both_backends!(
    files_are_uploaded_read_and_attached,
    file_uploads_are_refused_without_leftovers,
    public_links_work_without_a_session,
    the_database_driver_keeps_files_in_chunks,
    plugins_list_and_copy_files,
    downloads_answer_byte_ranges,
    an_edit_adds_and_drops_files,
);

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A 1×1 PNG whose header declares `width`×`height`: decoding it would allocate
/// gigabytes.
pub(crate) fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut data = png(1, 1);
    // Signature (8), IHDR length (4), "IHDR" (4), then width and height.
    data[16..20].copy_from_slice(&width.to_be_bytes());
    data[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&data[12..29]);
    data[29..33].copy_from_slice(&crc.to_be_bytes());
    data
}

/// Something for every byte value, longer than one storage chunk when asked.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

async fn wait_until_zero(server: &TestServer, table: &str) {
    for _ in 0..100 {
        if server.count(table).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{table} still has rows: an upload left something behind");
}

fn files_on_disk(server: &TestServer) -> usize {
    walk(&server.files_dir())
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}

async fn files_are_uploaded_read_and_attached(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    let (alice, alice_user) = server.member(&admin, &team, "alice").await;
    let (bob, bob_user) = server.member(&admin, &team, "bob").await;
    let (carol, _) = server.member(&admin, &team, "carol").await;
    admin.add_to_channel(&channel, &id(&alice_user)).await;
    admin.add_to_channel(&channel, &id(&bob_user)).await;

    // Multipart, with client ids, as the web app sends it.
    let text = b"hello, files\n".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("channel_id", channel.clone())
        .text("client_ids", "client-1")
        .part(
            "files",
            reqwest::multipart::Part::bytes(text.clone()).file_name("notes.TXT"),
        );
    let (status, uploaded) = alice
        .send(
            alice
                .request(reqwest::Method::POST, "/files")
                .multipart(form),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    assert_eq!(uploaded["client_ids"], json!(["client-1"]));
    let info = &uploaded["file_infos"][0];
    assert_eq!(info["name"], "notes.TXT");
    assert_eq!(info["extension"], "txt");
    assert_eq!(info["mime_type"], "text/plain");
    assert_eq!(info["size"], json!(text.len()));
    assert_eq!(info["user_id"], alice_user["id"]);
    assert_eq!(info["channel_id"], json!(channel));
    assert!(info.get("post_id").is_none(), "{info}");
    assert!(info.get("width").is_none(), "{info}");
    let text_id = id(info);

    let reply = alice.download(&format!("/files/{text_id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, text);
    assert_eq!(reply.headers["content-type"], "text/plain");
    assert_eq!(
        reply.headers["content-disposition"],
        "attachment;filename=\"notes%2ETXT\"; filename*=UTF-8''notes%2ETXT"
    );
    assert_eq!(reply.headers["x-content-type-options"], "nosniff");
    let (status, read_info) = alice.get(&format!("/files/{text_id}/info")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&read_info, info);

    // The raw-body form, with an image: dimensions at once, previews made after.
    let image = png(400, 300);
    let (status, uploaded) = alice
        .send(
            alice
                .request(
                    reqwest::Method::POST,
                    &format!("/files?channel_id={channel}&filename=photo.png&client_id=c2"),
                )
                .body(image.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    assert_eq!(uploaded["client_ids"], json!(["c2"]));
    let photo = &uploaded["file_infos"][0];
    assert_eq!(photo["mime_type"], "image/png");
    assert_eq!(
        (photo["width"].clone(), photo["height"].clone()),
        (json!(400), json!(300))
    );
    assert_eq!(photo["has_preview_image"], true);
    let photo_id = id(photo);

    // Other members of the channel may read it; others may not.
    let reply = bob.download(&format!("/files/{photo_id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, image);
    assert_eq!(
        reply.headers["content-disposition"],
        "inline;filename=\"photo%2Epng\"; filename*=UTF-8''photo%2Epng"
    );
    let forced = bob.download(&format!("/files/{photo_id}?download=1")).await;
    assert!(forced.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_error(
        &carol.get(&format!("/files/{photo_id}/info")).await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_eq!(
        carol.download(&format!("/files/{photo_id}")).await.status,
        StatusCode::FORBIDDEN
    );

    let thumbnail = bob.download(&format!("/files/{photo_id}/thumbnail")).await;
    assert_eq!(thumbnail.status, StatusCode::OK);
    assert_eq!(thumbnail.headers["content-type"], "image/png");
    let decoded = image::load_from_memory(&thumbnail.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (120, 90));
    let preview = bob.download(&format!("/files/{photo_id}/preview")).await;
    let decoded = image::load_from_memory(&preview.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (400, 300));
    let (_, with_mini) = bob.get(&format!("/files/{photo_id}/info")).await;
    assert!(with_mini["mini_preview"].is_string(), "{with_mini}");
    assert_error(
        &alice.get(&format!("/files/{text_id}/thumbnail")).await,
        StatusCode::BAD_REQUEST,
        "api.file.get_file_thumbnail.no_thumbnail.app_error",
    );

    // Attached to a post: only the author's own uploads to this channel are kept.
    let (_, bobs) = bob
        .upload_file(&channel, "bob.txt", b"bob's".to_vec())
        .await;
    let bobs_id = id(&bobs["file_infos"][0]);
    let mut bob_socket = Ws::ready(&server, bob.token()).await;
    let (status, post) = alice
        .post(
            "/posts",
            json!({"channel_id": channel, "message": "see attached",
                   "file_ids": [text_id, photo_id, bobs_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(post["file_ids"], json!([text_id, photo_id]));
    let files = post["metadata"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| f["post_id"] == post["id"]));
    let event = bob_socket.expect_event("posted").await;
    let posted: Value = serde_json::from_str(event["data"]["post"].as_str().unwrap()).unwrap();
    assert_eq!(posted["file_ids"], json!([text_id, photo_id]));
    assert_eq!(posted["metadata"]["files"].as_array().unwrap().len(), 2);
    let post_id = id(&post);
    let (status, infos) = bob.get(&format!("/posts/{post_id}/files/info")).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = infos
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["notes.TXT", "photo.png"]);
    let (_, history) = bob.get(&format!("/channels/{channel}/posts")).await;
    assert_eq!(
        history["posts"][&post_id]["metadata"]["files"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A file already attached is not attached again.
    let (_, again) = alice
        .post(
            "/posts",
            json!({"channel_id": channel, "message": "again", "file_ids": [text_id]}),
        )
        .await;
    assert!(again.get("file_ids").is_none(), "{again}");
    let eleven: Vec<String> = (0..11).map(|_| chorus_model::new_id()).collect();
    assert_error(
        &alice
            .post(
                "/posts",
                json!({"channel_id": channel, "message": "many", "file_ids": eleven}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "model.post.is_valid.file_ids.app_error",
    );

    // Deleting the post deletes its files.
    let (status, _) = alice.delete(&format!("/posts/{post_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &alice.get(&format!("/files/{text_id}/info")).await,
        StatusCode::NOT_FOUND,
        "app.file_info.get.app_error",
    );
    assert_eq!(
        alice.download(&format!("/files/{photo_id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let (status, deleted) = admin
        .get(&format!("/posts/{post_id}/files/info?include_deleted=true"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted.as_array().unwrap().len(), 2);
    assert!(deleted[0]["delete_at"].as_i64().unwrap() > 0);
    assert_error(
        &alice
            .get(&format!("/posts/{post_id}/files/info?include_deleted=true"))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &alice.get("/files/not-an-id/info").await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    assert_error(
        &alice
            .get(&format!("/files/{}/info", chorus_model::new_id()))
            .await,
        StatusCode::NOT_FOUND,
        "app.file_info.get.app_error",
    );
    server.stop().await;
}

async fn file_uploads_are_refused_without_leftovers(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |config| {
        config.file_settings.max_file_size = 1024 * 1024;
        config.file_settings.max_image_resolution = 1000 * 1000;
    })
    .await
    else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    let private = id(&admin.channel(&team, "secret", "P").await);
    let (alice, alice_user) = server.member(&admin, &team, "alice").await;
    admin.add_to_channel(&channel, &id(&alice_user)).await;
    let nothing_stored = || async {
        assert_eq!(server.count("file_infos").await, 0);
        wait_until_zero(&server, "file_blobs_pending").await;
        assert_eq!(
            files_on_disk(&server),
            0,
            "files left in {:?}",
            server.files_dir()
        );
    };

    // Over the limit, streamed as multipart and as a raw body.
    let too_large = alice
        .upload_file(&channel, "big.bin", content(1024 * 1024 + 1))
        .await;
    assert_error(
        &too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "api.file.upload_file.too_large_detailed.app_error",
    );
    let raw = alice
        .send(
            alice
                .request(
                    reqwest::Method::POST,
                    &format!("/files?channel_id={channel}&filename=big.bin"),
                )
                .body(content(3 * 1024 * 1024)),
        )
        .await;
    assert_error(
        &raw,
        StatusCode::PAYLOAD_TOO_LARGE,
        "api.file.upload_file.too_large_detailed.app_error",
    );
    // Two files in one request, the second one too large: neither is kept.
    let form = reqwest::multipart::Form::new()
        .text("channel_id", channel.clone())
        .part(
            "files",
            reqwest::multipart::Part::bytes(b"fine".to_vec()).file_name("a.txt"),
        )
        .part(
            "files",
            reqwest::multipart::Part::bytes(content(1024 * 1024 + 1)).file_name("b.bin"),
        );
    let (status, _) = alice
        .send(
            alice
                .request(reqwest::Method::POST, "/files")
                .multipart(form),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    nothing_stored().await;

    // A decompression bomb is refused from its header.
    assert_error(
        &alice
            .upload_file(&channel, "bomb.png", png_bomb(100_000, 100_000))
            .await,
        StatusCode::BAD_REQUEST,
        "api.file.upload_file.large_image_detailed.app_error",
    );
    nothing_stored().await;

    // The channel comes first; only members upload; names are not paths.
    let form = reqwest::multipart::Form::new()
        .part(
            "files",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
        )
        .text("channel_id", channel.clone());
    let (status, body) = alice
        .send(
            alice
                .request(reqwest::Method::POST, "/files")
                .multipart(form),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["id"], "api.context.invalid_body_param.app_error");
    assert_eq!(
        alice.upload_file(&private, "a.txt", b"x".to_vec()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_error(
        &alice
            .send(
                alice
                    .request(reqwest::Method::POST, "/files?filename=a.txt")
                    .body("x"),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    assert_error(
        &alice.upload_file(&channel, "..", b"x".to_vec()).await,
        StatusCode::BAD_REQUEST,
        "api.file.upload_file.invalid_name.app_error",
    );
    nothing_stored().await;
    let (status, stored) = alice
        .upload_file(&channel, "../../etc/passwd", b"root".to_vec())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(stored["file_infos"][0]["name"], "passwd");

    // Not an image, whatever its name says: stored, without previews.
    let (status, fake) = alice
        .upload_file(&channel, "fake.png", b"<html>not a png</html>".to_vec())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let fake = &fake["file_infos"][0];
    assert_eq!(fake["mime_type"], "image/png");
    assert!(fake.get("width").is_none() && fake.get("has_preview_image").is_none());
    assert_error(
        &alice.get(&format!("/files/{}/preview", id(fake))).await,
        StatusCode::BAD_REQUEST,
        "api.file.get_file_preview.no_preview.app_error",
    );
    assert_error(
        &alice.get(&format!("/files/{}/link", id(fake))).await,
        StatusCode::FORBIDDEN,
        "api.file.get_public_link.disabled.app_error",
    );
    let stored_before = server.count("file_infos").await;

    // A multipart body cut off half way, and a client that goes away mid-upload.
    let boundary = "chorusboundary";
    let mut cut = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"channel_id\"\r\n\r\n{channel}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cut.bin\"\r\n\r\n"
    )
    .into_bytes();
    cut.extend_from_slice(&content(200_000));
    let (status, body) = alice
        .send(
            alice
                .request(reqwest::Method::POST, "/files")
                .header(
                    "Content-Type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(cut.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["id"], "api.file.upload_file.read_request.app_error");
    let address = server.url.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v4/files HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 900000\r\n\r\n",
        alice.token()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&cut).await.unwrap();
    socket.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(socket);
    tokio::time::sleep(Duration::from_millis(300)).await;
    wait_until_zero(&server, "file_blobs_pending").await;
    assert_eq!(server.count("file_infos").await, stored_before);
    assert_eq!(files_on_disk(&server), stored_before as usize);

    // Uploads switched off.
    server.stop().await;
    let Some(off) = TestServer::start_with(backend, |config| {
        config.file_settings.enable_file_attachments = false;
    })
    .await
    else {
        return;
    };
    let (admin, _) = off.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    assert_error(
        &admin.upload_file(&channel, "a.txt", b"x".to_vec()).await,
        StatusCode::FORBIDDEN,
        "api.file.attachments.disabled.app_error",
    );
    off.stop().await;
}

async fn public_links_work_without_a_session(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |config| {
        config.file_settings.enable_public_link = true;
    })
    .await
    else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    let (_, uploaded) = admin
        .upload_file(&channel, "plan.pdf", b"%PDF-1.4 plan".to_vec())
        .await;
    let file_id = id(&uploaded["file_infos"][0]);
    assert_error(
        &admin.get(&format!("/files/{file_id}/link")).await,
        StatusCode::BAD_REQUEST,
        "api.file.get_public_link.no_post.app_error",
    );
    admin
        .post(
            "/posts",
            json!({"channel_id": channel, "message": "plan", "file_ids": [file_id]}),
        )
        .await;
    let (status, link) = admin.get(&format!("/files/{file_id}/link")).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let link = link["link"].as_str().unwrap().to_string();
    assert!(
        link.starts_with(&format!("{}/files/{file_id}/public?h=", server.url)),
        "{link}"
    );
    let anonymous = reqwest::Client::new();
    let reply = anonymous.get(&link).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(reply.bytes().await.unwrap().as_ref(), b"%PDF-1.4 plan");
    let forged = anonymous
        .get(format!("{}/files/{file_id}/public?h=forged", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let body: Value = forged.json().await.unwrap();
    assert_eq!(body["id"], "api.file.get_file.public_invalid.app_error");
    // The same link again: the salt is kept, not made anew.
    let (_, again) = admin.get(&format!("/files/{file_id}/link")).await;
    assert_eq!(again["link"], json!(link));
    server.stop().await;
}

async fn the_database_driver_keeps_files_in_chunks(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |config| {
        config.file_settings.driver_name = Some("database".into());
        config.file_settings.max_file_size = 3 * 1024 * 1024;
    })
    .await
    else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    let data = content(2 * 1024 * 1024 + 10);
    let (status, uploaded) = admin.upload_file(&channel, "data.bin", data.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    let file_id = id(&uploaded["file_infos"][0]);
    assert_eq!(server.count("file_chunks").await, 3);
    assert_eq!(files_on_disk(&server), 0);
    let reply = admin.download(&format!("/files/{file_id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/octet-stream");
    assert!(reply.body == data, "the download differs from the upload");
    let (_, image) = admin.upload_file(&channel, "p.png", png(200, 100)).await;
    let thumbnail = admin
        .download(&format!("/files/{}/thumbnail", id(&image["file_infos"][0])))
        .await;
    assert_eq!(thumbnail.status, StatusCode::OK);
    let decoded = image::load_from_memory(&thumbnail.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (120, 60));
    // An upload found over the limit once three chunks are written leaves none.
    let before = server.count("file_chunks").await;
    let (status, _) = admin
        .upload_file(&channel, "huge.bin", content(3 * 1024 * 1024 + 20_000))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    wait_until_zero(&server, "file_blobs_pending").await;
    assert_eq!(server.count("file_chunks").await, before);
    server.stop().await;
}

/// `GetFileInfos` and `CopyFileInfos` of the plugin API, on the store's own queries.
async fn plugins_list_and_copy_files(backend: Backend) {
    use chorus_server::app::files::FileQuery;
    use chorus_server::app::Actor;
    use chorus_server::store::FileFilter;
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    let other = id(&admin.channel(&team, "other", "O").await);
    let (bob, bob_user) = server.member(&admin, &team, "bob").await;
    admin.add_to_channel(&channel, &id(&bob_user)).await;
    for (api, channel_id, name, size) in [
        (&admin, &channel, "a.txt", 30),
        (&admin, &other, "b.txt", 10),
        (&bob, &channel, "c.txt", 20),
    ] {
        let (status, _) = api.upload_file(channel_id, name, content(size)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let state = &server.state;
    let names = |files: Vec<chorus_model::FileInfo>| -> Vec<String> {
        files.into_iter().map(|f| f.name).collect()
    };
    let query = |filter: FileFilter, page: i64, per_page: i64| FileQuery {
        page,
        per_page,
        filter,
    };
    let all = state
        .file_infos(Actor::System, query(FileFilter::default(), 0, 0))
        .await
        .unwrap();
    assert_eq!(names(all), ["a.txt", "b.txt", "c.txt"]);
    let by_size = FileFilter {
        sort_by_size: true,
        descending: true,
        ..FileFilter::default()
    };
    let largest = state
        .file_infos(Actor::System, query(by_size.clone(), 0, 2))
        .await
        .unwrap();
    assert_eq!(names(largest), ["a.txt", "c.txt"]);
    let second_page = state
        .file_infos(Actor::System, query(by_size, 1, 2))
        .await
        .unwrap();
    assert_eq!(names(second_page), ["b.txt"]);
    let admins_in_town = FileFilter {
        user_ids: vec![id(&admin_user)],
        channel_ids: vec![channel.clone()],
        ..FileFilter::default()
    };
    let mine = state
        .file_infos(Actor::System, query(admins_in_town, 0, 10))
        .await
        .unwrap();
    assert_eq!(names(mine.clone()), ["a.txt"]);
    assert!(state
        .file_infos(Actor::System, query(FileFilter::default(), 0, 201))
        .await
        .is_err());

    // A copy owned by bob, with the same content, that bob may attach.
    let copies = state
        .copy_file_infos(Actor::System, &id(&bob_user), &[mine[0].id.clone()])
        .await
        .unwrap();
    assert_eq!(copies.len(), 1);
    assert_ne!(copies[0], mine[0].id);
    let (_, post) = bob
        .post(
            "/posts",
            json!({"channel_id": channel, "message": "copied", "file_ids": copies}),
        )
        .await;
    assert_eq!(post["file_ids"], json!(copies));
    let download = bob.download(&format!("/files/{}", copies[0])).await;
    assert_eq!(download.body, content(30));
    server.stop().await;
}

/// Range requests on both storage drivers: the database keeps 1 MiB chunks, so ranges
/// start and end inside chunks and across their edges.
async fn downloads_answer_byte_ranges(backend: Backend) {
    for driver in ["local", "database"] {
        let Some(server) = TestServer::start_with(backend, |config| {
            config.file_settings.driver_name = Some(driver.into());
        })
        .await
        else {
            return;
        };
        let (admin, _) = server.user("admin").await;
        let team = id(&admin.team("crew").await);
        let channel = id(&admin.channel(&team, "town", "O").await);
        let data = content(2 * 1024 * 1024 + 10);
        let size = data.len();
        let (status, uploaded) = admin.upload_file(&channel, "data.bin", data.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{uploaded}");
        let path = format!("/files/{}", id(&uploaded["file_infos"][0]));
        let ranged = |range: &str, if_range: bool| {
            let mut request = admin
                .request(reqwest::Method::GET, &path)
                .header("Range", range.to_string());
            if if_range {
                request = request.header("If-Range", "\"anything\"");
            }
            admin.client.send_raw(request)
        };
        let whole = admin.download(&path).await;
        assert_eq!(whole.headers["accept-ranges"], "bytes", "{driver}");
        let mib = 1024 * 1024;
        for (range, first, last) in [
            ("bytes=0-9".to_string(), 0, 9),
            (format!("bytes={}-{}", mib - 5, mib + 5), mib - 5, mib + 5),
            (format!("bytes={}-", 2 * mib), 2 * mib, size - 1),
            ("bytes=-7".to_string(), size - 7, size - 1),
            (format!("bytes=5-{}", size * 3), 5, size - 1),
        ] {
            let reply = ranged(&range, false).await.unwrap();
            assert_eq!(
                reply.status,
                StatusCode::PARTIAL_CONTENT,
                "{driver} {range}"
            );
            assert_eq!(
                reply.headers["content-range"],
                format!("bytes {first}-{last}/{size}"),
                "{driver} {range}"
            );
            assert!(
                reply.body == data[first..=last],
                "{driver} {range}: the bytes differ"
            );
        }
        // Past the end: 416, saying how long the file is.
        let reply = ranged(&format!("bytes={size}-"), false).await.unwrap();
        assert_eq!(reply.status, StatusCode::RANGE_NOT_SATISFIABLE, "{driver}");
        assert_eq!(reply.headers["content-range"], format!("bytes */{size}"));
        // Several ranges, a malformed one, or If-Range: the whole file.
        for (range, if_range) in [
            ("bytes=0-1,5-6", false),
            ("bytes=9-2", false),
            ("lines=1-2", false),
            ("bytes=0-9", true),
        ] {
            let reply = ranged(range, if_range).await.unwrap();
            assert_eq!(reply.status, StatusCode::OK, "{driver} {range}");
            assert_eq!(reply.body.len(), size, "{driver} {range}");
        }
        server.stop().await;
    }
}

async fn an_edit_adds_and_drops_files(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    let (bob, bob_user) = server.member(&admin, &team, "bob").await;
    admin.add_to_channel(&channel, &id(&bob_user)).await;
    let upload = |api: crate::common::Api, name: &'static str| {
        let channel = channel.clone();
        async move {
            let (status, uploaded) = api.upload_file(&channel, name, content(100)).await;
            assert_eq!(status, StatusCode::CREATED, "{uploaded}");
            id(&uploaded["file_infos"][0])
        }
    };
    let first = upload(admin.clone(), "first.bin").await;
    let second = upload(admin.clone(), "second.bin").await;
    let bobs = upload(bob.clone(), "bobs.bin").await;
    let (status, post) = admin
        .post(
            "/posts",
            json!({"channel_id": channel, "message": "files", "file_ids": [first]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let post_id = id(&post);

    // The edit keeps the second, adds it, drops the first; another user's upload is
    // left out, as at creation.
    let (status, edited) = admin
        .put(
            &format!("/posts/{post_id}/patch"),
            json!({"file_ids": [second, bobs]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["file_ids"], json!([second]));
    assert_eq!(edited["message"], "files");
    let names: Vec<String> = edited["metadata"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["second.bin"]);
    let (status, _) = admin.get(&format!("/files/{first}/info")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the dropped file is deleted");
    let (_, listed) = admin.get(&format!("/posts/{post_id}/files/info")).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // Bob's upload is still his to attach elsewhere.
    let (status, bobs_post) = bob
        .post(
            "/posts",
            json!({"channel_id": channel, "message": "mine", "file_ids": [bobs]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(bobs_post["file_ids"], json!([bobs]));

    // Files alone make a post: an edit may empty the message while files remain, not
    // drop both; an edit without file_ids keeps them.
    let (status, _) = admin
        .put(&format!("/posts/{post_id}/patch"), json!({"message": ""}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let reply = admin
        .put(&format!("/posts/{post_id}/patch"), json!({"file_ids": []}))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "model.post.is_valid.msg.app_error",
    );
    let (_, kept) = admin.get(&format!("/posts/{post_id}")).await;
    assert_eq!(kept["file_ids"], json!([second]));
    let too_many: Vec<String> = (0..11).map(|_| chorus_model::new_id()).collect();
    let reply = admin
        .put(
            &format!("/posts/{post_id}/patch"),
            json!({"file_ids": too_many}),
        )
        .await;
    assert_eq!(reply.0, StatusCode::BAD_REQUEST, "{}", reply.1);
    let (_, kept) = admin.get(&format!("/posts/{post_id}/files/info")).await;
    assert_eq!(kept.as_array().unwrap().len(), 1);
    server.stop().await;
}
