//! Logins are one account per NFKC_Casefold key on both backends, and migration 0016's
//! recomputation of the keys stored under the old lower() rule.

use ulo_core::store::StoreError;
use ulo_testkit::{Backend, Database};

use crate::fixtures::{insert_user, user};

on_every_backend!(look_alike_logins_are_one_key, |store| Box::pin(
    async move {
        let admin = user("admin@ulo.example.com", "Ada");
        insert_user(store.as_ref(), &admin).await;
        for look_alike in [
            "ADMIN@ulo.example.com",
            "ａｄｍｉｎ@ulo.example.com",
            "ＡＤＭＩＮ＠ＵＬＯ.example.com",
            "ad\u{200B}min@ulo.example.com",
        ] {
            let mut tx = store.begin().await.unwrap();
            let err = tx
                .insert_user(&user(look_alike, "Mallory"), None)
                .await
                .expect_err(look_alike);
            assert!(matches!(err, StoreError::Unique(_)), "{look_alike}: {err}");
            drop(tx);
            let mut tx = store.read().await.unwrap();
            assert_eq!(
                tx.get_user_by_login(look_alike)
                    .await
                    .unwrap()
                    .map(|u| u.id),
                Some(admin.id),
                "{look_alike} finds the account"
            );
        }
        // The login is kept as entered.
        let mut tx = store.read().await.unwrap();
        let found = tx.get_user(admin.id).await.unwrap().unwrap();
        assert_eq!(found.profile.login, "admin@ulo.example.com");
    }
));

/// Runs `sql` on the raw database (what an older ulo left behind).
async fn raw(db: &Database, sql: &str) {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0016_recomputes_old_keys_and_leaves_look_alikes_out() {
    for backend in ulo_testkit::backends() {
        let db = Database::new(backend).await.expect("database");
        let store = db.open().await.expect("open store");
        let strasse = user("Straße@example.com", "Anna");
        let fullwidth = user("placeholder@example.com", "Mallory");
        let admin = user("admin@ulo.example.com", "Ada");
        for u in [&strasse, &fullwidth, &admin] {
            insert_user(store.as_ref(), u).await;
        }
        drop(store);
        // The state an older ulo left: keys by lower(), a fullwidth admin created beside the
        // real one (created first), and migration 0016's mark.
        let set_login = match backend {
            Backend::Sqlite => "json_set(profile, '$.login', 'ａｄｍｉｎ@ulo.example.com')",
            Backend::Postgres => "jsonb_set(profile, '{login}', '\"ａｄｍｉｎ@ulo.example.com\"')",
        };
        raw(
            &db,
            &format!(
                "UPDATE users SET login_key='straße@example.com' WHERE id='{}';
                 UPDATE users SET login_key='ａｄｍｉｎ@ulo.example.com', profile={set_login} WHERE id='{}';
                 INSERT INTO settings (key, value, updated) VALUES ('login_keys_stale', '\"nfkc_casefold\"', 0);",
                strasse.id, fullwidth.id
            ),
        )
        .await;

        let store = db
            .open()
            .await
            .expect("reopen store: the keys are recomputed");
        let mut tx = store.read().await.unwrap();
        let by_login = async |tx: &mut Box<dyn ulo_core::store::StoreRead>, login: &str| {
            tx.get_user_by_login(login).await.unwrap().map(|u| u.id)
        };
        assert_eq!(
            by_login(&mut tx, "STRASSE@example.com").await,
            Some(strasse.id)
        );
        assert_eq!(
            by_login(&mut tx, "straße@example.com").await,
            Some(strasse.id)
        );
        // The real admin keeps the login; the look-alike stays, reachable by id only.
        assert_eq!(
            by_login(&mut tx, "ａｄｍｉｎ@ulo.example.com").await,
            Some(admin.id)
        );
        let left = tx
            .get_user(fullwidth.id)
            .await
            .unwrap()
            .expect("still there");
        assert_eq!(left.profile.login, "ａｄｍｉｎ@ulo.example.com");
        drop(tx);
        // New look-alikes are refused as for any other login.
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .insert_user(&user("ＳＴＲＡＳＳＥ@example.com", "Eve"), None)
            .await
            .expect_err("duplicate");
        assert!(matches!(err, StoreError::Unique(_)), "{err}");
        drop(tx);
        // Opening again finds nothing stale and changes nothing.
        drop(store);
        let store = db.open().await.expect("open a third time");
        let mut tx = store.read().await.unwrap();
        assert_eq!(
            by_login(&mut tx, "strasse@example.com").await,
            Some(strasse.id)
        );
        drop(tx);
        drop(store);
        db.cleanup().await;
    }
}
