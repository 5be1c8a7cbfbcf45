//! A private PostgreSQL server keeps its data across a stop and a start, and refuses
//! connections while it is stopped, without touching the shared server.

use chorus_testkit::private_postgres::PrivatePostgres;
use sqlx::{Connection, PgConnection};

#[tokio::test]
async fn data_survives_a_stop_and_a_start() {
    // `None` only outside CI on a machine without PostgreSQL; under CI `start` panics.
    let Some(pg) = PrivatePostgres::start() else {
        return;
    };
    assert_ne!(pg.port(), 5432, "must not take the shared server's port");

    let mut conn = PgConnection::connect(&pg.admin_url())
        .await
        .expect("connect to the private server");
    sqlx::query("CREATE TABLE notes (id INT PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .expect("create table");
    sqlx::query("INSERT INTO notes VALUES (1, 'kept')")
        .execute(&mut conn)
        .await
        .expect("insert row");

    pg.stop();
    // The open session was terminated by the shutdown, and nobody can connect anew.
    assert!(sqlx::query("SELECT 1").execute(&mut conn).await.is_err());
    assert!(PgConnection::connect(&pg.admin_url()).await.is_err());

    pg.start_again();
    let mut conn = PgConnection::connect(&pg.admin_url())
        .await
        .expect("connect after starting again");
    let body: String = sqlx::query_scalar("SELECT body FROM notes WHERE id = 1")
        .fetch_one(&mut conn)
        .await
        .expect("read the row back");
    assert_eq!(body, "kept");
    drop(conn);

    pg.restart();
    let mut conn = PgConnection::connect(&pg.admin_url())
        .await
        .expect("connect after a restart");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
        .fetch_one(&mut conn)
        .await
        .expect("count rows");
    assert_eq!(count, 1);
}
