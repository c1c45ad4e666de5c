//! The election office's key: make it, sign voter lists with it.

use super::failure::CmdResult;
use crate::election::list_signature::sign_list;
use crate::store::keyfile;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum OfficeCmd {
    /// Make a new office key pair (secret file mode 0600).
    Keygen {
        /// Where the secret key goes.
        #[arg(long)]
        secret: PathBuf,
        /// Where the public key goes (give this to every table).
        #[arg(long)]
        public: PathBuf,
    },
    /// Sign a voter list file; writes a detached signature (hex).
    Sign {
        file: PathBuf,
        #[arg(long)]
        secret: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Make and sign an election-day change to the voter list (add, strike, reinstate,
    /// entitlement, brevstemme) for every table.
    Change(super::list_change::MakeChangeArgs),
}

pub fn run(cmd: OfficeCmd) -> CmdResult {
    match cmd {
        OfficeCmd::Change(a) => super::list_change::make(a),
        OfficeCmd::Keygen { secret, public } => {
            if secret.exists() {
                return Err(
                    format!("{} exists already; not overwriting a key", secret.display()).into(),
                );
            }
            let key = keyfile::load_or_create(&secret)?;
            std::fs::write(&public, format!("{}\n", key.public().to_hex()))
                .map_err(|e| format!("cannot write {}: {e}", public.display()))?;
            println!("office public key {}", key.public().to_hex());
            Ok(())
        }
        OfficeCmd::Sign { file, secret, out } => {
            let key = keyfile::load(&secret)?;
            let bytes =
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let sig = sign_list(&bytes, &key);
            std::fs::write(&out, format!("{}\n", hex::encode(sig)))
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!(
                "signed {} ({} bytes) -> {}",
                file.display(),
                bytes.len(),
                out.display()
            );
            Ok(())
        }
    }
}
