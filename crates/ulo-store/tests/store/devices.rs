//! Conformance for the device part of the store: enrollment tokens, devices, who signs in on
//! them, commands, and the wake-up of long-polls (across processes on PostgreSQL).

use std::time::Duration as StdDuration;

use time::Duration;
use ulo_core::device::{
    CommandStatus, CommandType, Device, DeviceCertificate, DeviceCommand, DeviceStatus, DeviceUser,
    EnrollmentToken,
};
use ulo_core::ids::{DeviceCommandId, DeviceId, JobId, LogoutId};
use ulo_core::store::{Page, Store};
use ulo_testkit::{Backend, Database, backends};

use crate::fixtures::{insert_user, t0, user};

fn device(host: &str) -> Device {
    Device {
        id: DeviceId::new(),
        status: DeviceStatus::Active,
        platform: "linux".into(),
        os_version: "Debian 13".into(),
        hostname: host.into(),
        agent_version: "0.1.0".into(),
        public_key: "BPoint".into(),
        certificate: DeviceCertificate {
            pem: "-----BEGIN CERTIFICATE-----".into(),
            serial_number: "0a".into(),
            sha256_fingerprint: "ff".into(),
            not_before: t0(),
            not_after: t0() + Duration::days(365),
        },
        created: t0(),
        last_seen: None,
        console_user: None,
        revoked: None,
    }
}

fn command(device: DeviceId) -> DeviceCommand {
    DeviceCommand {
        id: DeviceCommandId::new(),
        device_id: device,
        command_type: CommandType::SignOut,
        status: CommandStatus::Issued,
        user_id: ulo_core::ids::UserId::new(),
        user_login: "ada@example.com".into(),
        os_login: "ada".into(),
        logout_id: LogoutId::new(),
        target: 0,
        transaction_id: "t".into(),
        created: t0(),
        expires: t0() + Duration::hours(24),
        delivered: None,
        deliveries: 0,
        completed: None,
        detail: None,
        expiry_job: JobId::new(),
    }
}

async fn insert_devices(store: &dyn Store, devices: &[&Device]) {
    let mut tx = store.begin().await.unwrap();
    for d in devices {
        tx.insert_device(d).await.unwrap();
    }
    tx.commit().await.unwrap();
}

on_every_backend!(enrollment_tokens_are_single_use, |store| Box::pin(
    async move {
        let token = EnrollmentToken {
            id: "tok-1".into(),
            token_hash: "hash-1".into(),
            created_by: "admin".into(),
            created: t0(),
            expires: t0() + Duration::hours(1),
            used: None,
            device_id: None,
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_enrollment_token(&token).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.find_enrollment_token("hash-1").await.unwrap(),
            Some(token.clone())
        );
        assert_eq!(tx.find_enrollment_token("nope").await.unwrap(), None);
        let d = DeviceId::new();
        let at = t0() + Duration::minutes(5);
        assert!(tx.consume_enrollment_token("tok-1", d, at).await.unwrap());
        assert!(
            !tx.consume_enrollment_token("tok-1", DeviceId::new(), at)
                .await
                .unwrap(),
            "a token is used once"
        );
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        let used = tx.find_enrollment_token("hash-1").await.unwrap().unwrap();
        assert_eq!((used.used, used.device_id), (Some(at), Some(d)));
    }
));

on_every_backend!(devices_round_trip_update_and_page, |store| Box::pin(
    async move {
        let (a, b, c) = (device("a"), device("b"), device("c"));
        insert_devices(store.as_ref(), &[&a, &b, &c]).await;
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.get_device(a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(tx.get_device(DeviceId::new()).await.unwrap(), None);
        let mut revoked = b.clone();
        revoked.status = DeviceStatus::Revoked;
        revoked.revoked = Some(t0() + Duration::hours(1));
        revoked.console_user = Some("ada".into());
        tx.update_device(&revoked).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_device(b.id).await.unwrap(), Some(revoked));
        let first = tx
            .list_devices(&Page {
                after: None,
                limit: 2,
            })
            .await
            .unwrap();
        assert_eq!(
            first.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![a.id, b.id]
        );
        let rest = tx
            .list_devices(&Page {
                after: Some(b.id.to_string()),
                limit: 2,
            })
            .await
            .unwrap();
        assert_eq!(rest.iter().map(|d| d.id).collect::<Vec<_>>(), vec![c.id]);
    }
));

on_every_backend!(device_users_link_both_ways, |store| Box::pin(async move {
    let ada = user("ada@example.com", "Ada");
    let bob = user("bob@example.com", "Bob");
    insert_user(store.as_ref(), &ada).await;
    insert_user(store.as_ref(), &bob).await;
    let (laptop, desktop) = (device("laptop"), device("desktop"));
    insert_devices(store.as_ref(), &[&laptop, &desktop]).await;
    let link = |d: &Device, u: ulo_core::ids::UserId, os: &str, at: i64| DeviceUser {
        device_id: d.id,
        user_id: u,
        os_login: os.into(),
        first_seen: t0() + Duration::minutes(at),
        last_seen: t0() + Duration::minutes(at),
    };
    let mut tx = store.begin().await.unwrap();
    tx.put_device_user(&link(&laptop, ada.id, "ada", 1))
        .await
        .unwrap();
    tx.put_device_user(&link(&laptop, bob.id, "bob", 2))
        .await
        .unwrap();
    tx.put_device_user(&link(&desktop, ada.id, "ada", 3))
        .await
        .unwrap();
    // Seen again under another account name: updated, first sighting kept.
    tx.put_device_user(&link(&laptop, ada.id, "alovelace", 9))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let on_laptop = tx.list_device_users(laptop.id).await.unwrap();
    assert_eq!(
        on_laptop
            .iter()
            .map(|l| (l.user_id, l.os_login.as_str()))
            .collect::<Vec<_>>(),
        vec![(ada.id, "alovelace"), (bob.id, "bob")],
        "most recently seen first"
    );
    assert_eq!(on_laptop[0].first_seen, t0() + Duration::minutes(1));
    assert_eq!(on_laptop[0].last_seen, t0() + Duration::minutes(9));
    let mut adas: Vec<DeviceId> = tx
        .list_user_devices(ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(d, l)| {
            assert_eq!(l.user_id, ada.id);
            d.id
        })
        .collect();
    adas.sort();
    let mut want = vec![laptop.id, desktop.id];
    want.sort();
    assert_eq!(adas, want);
    drop(tx);

    // Deleting a user forgets where they signed in.
    let mut tx = store.begin().await.unwrap();
    tx.delete_user(bob.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.list_device_users(laptop.id).await.unwrap().len(), 1);
    assert!(tx.list_user_devices(bob.id).await.unwrap().is_empty());
}));

on_every_backend!(commands_open_until_answered, |store| Box::pin(async move {
    let (a, b) = (device("a"), device("b"));
    insert_devices(store.as_ref(), &[&a, &b]).await;
    let (c1, c2, c3) = (command(a.id), command(a.id), command(b.id));
    let mut tx = store.begin().await.unwrap();
    tx.insert_device_commands(&[c1.clone(), c2.clone(), c3.clone()])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_device_command(c1.id).await.unwrap(),
        Some(c1.clone())
    );
    assert_eq!(
        tx.open_device_commands(a.id).await.unwrap(),
        vec![c1.clone(), c2.clone()]
    );
    let mut delivered = c1.clone();
    delivered.status = CommandStatus::Delivered;
    delivered.deliveries = 1;
    delivered.delivered = Some(t0());
    tx.update_device_command(&delivered).await.unwrap();
    let mut done = c2.clone();
    done.status = CommandStatus::Succeeded;
    done.completed = Some(t0());
    done.detail = Some("signed out".into());
    tx.update_device_command(&done).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.open_device_commands(a.id).await.unwrap(),
        vec![delivered.clone()],
        "answered commands are no longer open"
    );
    assert_eq!(tx.get_device_command(c2.id).await.unwrap(), Some(done));
    assert_eq!(
        tx.open_device_commands(b.id).await.unwrap(),
        vec![c3.clone()]
    );

    // What a poll reads, in one round trip: the device with its open commands, oldest first.
    assert_eq!(
        tx.get_device_with_open_commands(a.id).await.unwrap(),
        Some((a.clone(), vec![delivered.clone()]))
    );
    assert_eq!(
        tx.get_device_with_open_commands(b.id).await.unwrap(),
        Some((b.clone(), vec![c3]))
    );
    let idle = device("idle");
    drop(tx);
    insert_devices(store.as_ref(), &[&idle]).await;
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_device_with_open_commands(idle.id).await.unwrap(),
        Some((idle.clone(), vec![])),
        "a device without commands"
    );
    assert_eq!(
        tx.get_device_with_open_commands(device("nowhere").id)
            .await
            .unwrap(),
        None
    );
}));

on_every_backend!(concurrent_jtis_are_each_accepted_once, |store| {
    Box::pin(async move {
        // Many callers at once (several batches in flight on PostgreSQL), each jti sent twice,
        // the copies in opposite orders: every jti is admitted exactly once, nothing fails.
        let until = t0() + Duration::minutes(2);
        let jtis: Vec<String> = (0..300).map(|i| format!("concurrent-jti-{i:03}")).collect();
        let forward = jtis
            .iter()
            .map(|j| store.remember_jti("device:c", j, until, t0()));
        let backward = jtis
            .iter()
            .rev()
            .map(|j| store.remember_jti("device:c", j, until, t0()));
        let (first, second) = tokio::join!(
            futures::future::join_all(forward),
            futures::future::join_all(backward)
        );
        for (i, jti) in jtis.iter().enumerate() {
            let x = *first[i].as_ref().expect("remembered");
            let y = *second[jtis.len() - 1 - i].as_ref().expect("remembered");
            assert!(x ^ y, "{jti}: admitted exactly once ({x}, {y})");
        }
    })
});

on_every_backend!(issuing_a_command_wakes_its_device_at_commit, |store| {
    Box::pin(async move {
        let (a, b) = (device("a"), device("b"));
        insert_devices(store.as_ref(), &[&a, &b]).await;
        let mut wa = store.watch_device(a.id).await;
        let mut wb = store.watch_device(b.id).await;

        // Rolled back: nobody wakes.
        let mut tx = store.begin().await.unwrap();
        tx.insert_device_commands(&[command(a.id)]).await.unwrap();
        drop(tx);
        assert!(!wa.wait(StdDuration::from_millis(100)).await);

        let mut tx = store.begin().await.unwrap();
        tx.insert_device_commands(&[command(a.id)]).await.unwrap();
        tx.commit().await.unwrap();
        assert!(wa.wait(StdDuration::from_secs(10)).await);
        assert!(!wb.wait(StdDuration::from_millis(100)).await);
    })
});

/// With several `ulo serve` processes on one PostgreSQL database, a command issued by one wakes
/// a long-poll held by another (here: two stores, each with its own LISTEN connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuing_a_command_wakes_long_polls_of_other_processes_on_postgres() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let db = Database::new(Backend::Postgres).await.unwrap();
    let issuer = db.open().await.unwrap();
    let holder = db.open().await.unwrap();
    let d = device("a");
    insert_devices(issuer.as_ref(), &[&d]).await;
    let mut watch = holder.watch_device(d.id).await;
    let mut tx = issuer.begin().await.unwrap();
    tx.insert_device_commands(&[command(d.id)]).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        watch.wait(StdDuration::from_secs(10)).await,
        "the other process's long-poll was not woken"
    );
    drop(watch);
    drop((issuer, holder));
    db.cleanup().await;
}

/// With several processes on one PostgreSQL database, an agent request's `jti` is accepted by
/// one of them only, even when both see it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jti_is_accepted_once_across_processes_on_postgres() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let db = Database::new(Backend::Postgres).await.unwrap();
    let a = db.open().await.unwrap();
    let b = db.open().await.unwrap();
    let until = t0() + Duration::minutes(2);
    for i in 0..20 {
        let jti = format!("jti-{i}");
        let (x, y) = tokio::join!(
            a.remember_jti("device:d", &jti, until, t0()),
            b.remember_jti("device:d", &jti, until, t0()),
        );
        assert!(
            x.unwrap() ^ y.unwrap(),
            "{jti}: exactly one process admits it"
        );
    }
    drop((a, b));
    db.cleanup().await;
}
