//! The encrypted data partition of hardware/data-protection.md, on an image file: the
//! documented `luksFormat` makes a LUKS2 volume that the table's key file unlocks and no
//! other key does, and the destruction step (`luksErase`) leaves no key that unlocks it.
//! Opening the mapped device needs device-mapper, which this sandbox lacks; everything
//! up to that (the key check uses `--test-passphrase`) runs here for real.

use std::path::Path;
use std::process::Command;

fn cryptsetup(args: &[&str]) -> std::process::Output {
    Command::new("cryptsetup")
        .args(args)
        .output()
        .expect("cryptsetup (Debian package cryptsetup-bin) is needed")
}

fn opens(image: &Path, key: &Path) -> bool {
    cryptsetup(&[
        "open",
        "--test-passphrase",
        "--key-file",
        key.to_str().expect("utf8"),
        image.to_str().expect("utf8"),
    ])
    .status
    .success()
}

#[test]
fn the_documented_partition_unlocks_with_its_key_only_and_not_after_luks_erase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("data.img");
    std::fs::File::create(&image)
        .and_then(|f| f.set_len(32 * 1024 * 1024))
        .expect("image");
    let key = dir.path().join("valg-3-2.key");
    let other = dir.path().join("valg-3-1.key");
    for (k, seed) in [(&key, 1u8), (&other, 2u8)] {
        let bytes: Vec<u8> = (0..64u8)
            .map(|i| i.wrapping_mul(31).wrapping_add(seed))
            .collect();
        std::fs::write(k, bytes).expect("key");
    }
    // As in the document (the fast key derivation only keeps the test quick).
    let out = cryptsetup(&[
        "luksFormat",
        "--type",
        "luks2",
        "--batch-mode",
        "--pbkdf",
        "pbkdf2",
        "--pbkdf-force-iterations",
        "1000",
        image.to_str().expect("utf8"),
        key.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump =
        String::from_utf8_lossy(&cryptsetup(&["luksDump", image.to_str().expect("utf8")]).stdout)
            .into_owned();
    assert!(dump.contains("Version:       \t2"), "{dump}");
    assert!(dump.contains("aes-xts-plain64"), "{dump}");
    // The data is not readable as plain text: the image holds only the header so far,
    // and no key material in the clear.
    let raw = std::fs::read(&image).expect("read");
    let key_bytes = std::fs::read(&key).expect("key");
    assert!(
        !raw.windows(key_bytes.len())
            .any(|w| w == key_bytes.as_slice())
    );

    assert!(opens(&image, &key), "the table's key unlocks its partition");
    assert!(!opens(&image, &other), "another table's key does not");

    // Destruction after the complaint period: every key slot erased.
    let out = cryptsetup(&["luksErase", "--batch-mode", image.to_str().expect("utf8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !opens(&image, &key),
        "after luksErase not even the right key unlocks it"
    );
}
