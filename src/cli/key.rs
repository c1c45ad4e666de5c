//! `valgbord key init` and `valgbord key show`: a Pi makes its own device key and says
//! its public half, so the office can enrol the device without a secret key ever
//! leaving it.

use super::failure::CmdResult;
use crate::election::keys::DevicePublic;
use crate::store::keyfile;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Where the Pi's image keeps the device key (the state folder of `election load`).
const DEFAULT_KEY: &str = "/var/lib/valgbord/device.key";

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Make this device's key (when it has none) and print its public key for enrolment.
    Init(KeyArgs),
    /// Print this device's public key and fingerprint again.
    Show(KeyArgs),
}

#[derive(Args)]
pub struct KeyArgs {
    /// The device key file (mode 0600; never copied off the device).
    #[arg(long, default_value = DEFAULT_KEY)]
    pub key: PathBuf,
    /// Also draw the public key as a QR code in the terminal, for the office's phone.
    #[arg(long)]
    pub qr: bool,
}

pub fn run(cmd: KeyCmd) -> CmdResult {
    let qr = match &cmd {
        KeyCmd::Init(a) | KeyCmd::Show(a) => a.qr,
    };
    let (key, made) = match cmd {
        KeyCmd::Init(a) => {
            let existed = a.key.exists();
            (keyfile::load_or_create(&a.key)?, !existed)
        }
        KeyCmd::Show(a) => {
            if !a.key.exists() {
                anyhow::bail!(
                    "no device key at {path}: make it with `valgbord key init --key {path}`",
                    path = a.key.display()
                );
            }
            (keyfile::load(&a.key)?, false)
        }
    };
    print!("{}", enrolment_text(key.public(), made));
    if qr {
        let code = qrcode::QrCode::new(key.public().to_hex().as_bytes())?;
        println!(
            "{}",
            code.render::<qrcode::render::unicode::Dense1x2>()
                .quiet_zone(true)
                .build()
        );
    }
    Ok(())
}

/// What the person at the Pi reads out or copies to the office: the whole public key
/// (what the office enrols) and a fingerprint short enough to compare by voice.
fn enrolment_text(public: DevicePublic, made: bool) -> String {
    format!(
        "{}public key:  {}\nfingerprint: {}\nenrol it with the election office: place,table|reserve,table_no,{}\n",
        if made { "made a new device key\n" } else { "" },
        public.to_hex(),
        public.fingerprint(),
        public.to_hex()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::keys::DeviceSecret;

    #[test]
    fn the_text_has_the_whole_key_and_its_fingerprint() {
        let k = DeviceSecret::from_seed([7; 32]).public();
        let t = enrolment_text(k, true);
        assert!(t.contains(&k.to_hex()), "{t}");
        assert!(t.contains(&k.fingerprint()), "{t}");
        assert!(t.starts_with("made a new device key"), "{t}");
    }
}
