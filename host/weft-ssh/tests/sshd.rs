//! Against a real OpenSSH server on loopback.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use weft_ssh::{HostKeyPolicy, KeyPair, Session, SshError, Target};
use weft_testkit::sshd::Sshd;

const T: Duration = Duration::from_secs(10);

fn target(sshd: &Sshd, key: &KeyPair, host_key: HostKeyPolicy) -> Target {
    Target {
        address: sshd.address.clone(),
        user: sshd.user.clone(),
        key: key.clone(),
        host_key,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_upload_and_download_with_a_pinned_host_key() {
    let key = KeyPair::generate();
    let sshd = Sshd::start(&key.public_openssh());
    let scanned = weft_ssh::scan_host_key(&sshd.address, T).await.unwrap();
    assert_eq!(scanned, sshd.host_key);
    let session = Session::connect(
        &target(&sshd, &key, HostKeyPolicy::Pinned(scanned.clone())),
        T,
    )
    .await
    .unwrap();
    assert_eq!(session.host_key(), scanned);

    let out = session
        .exec("echo out; echo err >&2; exit 3", None, 1024)
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.stdout.as_slice(), out.stderr.as_slice()),
        (3, &b"out\n"[..], &b"err\n"[..])
    );
    let cut = session.exec("seq 1 100000", None, 100).await.unwrap();
    assert!(cut.truncated && cut.stdout.len() == 100 && cut.exit_code == 0);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("it's here.txt");
    let path = file.to_str().unwrap();
    session.upload(path, b"payload\n", 0o640).await.unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"payload\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(session.download(path, 100).await.unwrap(), b"payload\n");
    assert!(session.download(path, 3).await.is_err());
    assert!(session.download("/no/such/file", 100).await.is_err());
    session.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_host_key_or_a_foreign_key_is_refused() {
    let key = KeyPair::generate();
    let sshd = Sshd::start(&key.public_openssh());
    let stale = KeyPair::generate().public_openssh();
    let refused = Session::connect(
        &target(&sshd, &key, HostKeyPolicy::Pinned(stale.clone())),
        T,
    )
    .await
    .unwrap_err();
    match refused {
        SshError::HostKeyMismatch {
            pinned, presented, ..
        } => {
            assert_eq!(presented, sshd.host_key);
            assert_eq!(pinned, stale);
        }
        other => panic!("{other:?}"),
    }
    let stranger = KeyPair::generate();
    let refused = Session::connect(&target(&sshd, &stranger, HostKeyPolicy::PinOnFirstUse), T)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, SshError::AuthFailed { .. }),
        "{refused:?}"
    );
}
