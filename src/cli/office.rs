//! The election office's key: make it, sign voter lists with it.

use super::failure::CmdResult;
use crate::election::list_signature::sign_list;
use crate::store::keyfile;
use anyhow::Context;
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
    Change(Box<super::list_change::MakeChangeArgs>),
}

pub fn run(cmd: OfficeCmd) -> CmdResult {
    match cmd {
        OfficeCmd::Change(a) => super::list_change::make(*a),
        OfficeCmd::Keygen { secret, public } => {
            if secret.exists() {
                return Err(anyhow::anyhow!(
                    "{} exists already; not overwriting a key",
                    secret.display()
                ));
            }
            let key = keyfile::load_or_create(&secret)?;
            std::fs::write(&public, format!("{}\n", key.public().to_hex()))
                .with_context(|| format!("cannot write {}", public.display()))?;
            println!("office public key {}", key.public().to_hex());
            Ok(())
        }
        OfficeCmd::Sign { file, secret, out } => {
            let key = keyfile::load(&secret)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let sig = sign_list(&bytes, &key);
            std::fs::write(&out, format!("{}\n", hex::encode(sig)))
                .with_context(|| format!("cannot write {}", out.display()))?;
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
