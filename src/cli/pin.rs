//! `valgbord pin hash`: make the hash of an official's personal PIN (for the officials
//! file of `valgbord election new`) or of a central user's password.

use super::failure::CmdResult;
use clap::Subcommand;
use std::io::BufRead;

/// The shortest PIN accepted: 10^6 guesses of argon2 (about 20 ms each with the
/// parameters of `password::hash_pin`) take longer than an election day on one core.
pub const MIN_DIGITS: usize = 6;

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
            // The central's passwords are hashed here too; they are held to the same length.
            if pin.chars().count() < MIN_DIGITS {
                return Err(anyhow::anyhow!(
                    "a PIN has at least {MIN_DIGITS} digits: a lost or copied USB stick holds the PIN hashes, and a PIN must withstand guessing offline for the hours of an election day (a 4-digit PIN falls in minutes)"
                ));
            }
            println!("{}", crate::password::hash_pin(pin)?);
            Ok(())
        }
    }
}
