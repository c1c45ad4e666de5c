//! `valgbord pin hash`: make the hash that goes into a table's configuration.

use super::failure::CmdResult;
use clap::Subcommand;
use std::io::BufRead;

#[derive(Subcommand)]
pub enum PinCmd {
    /// Read a PIN on standard input and print its argon2 hash.
    Hash,
}

pub fn run(cmd: PinCmd) -> CmdResult {
    match cmd {
        PinCmd::Hash => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let pin = line.trim();
            if pin.len() < 4 {
                return Err(anyhow::anyhow!("a PIN has at least 4 characters"));
            }
            println!("{}", crate::password::hash_pin(pin)?);
            Ok(())
        }
    }
}
