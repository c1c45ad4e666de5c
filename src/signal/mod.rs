//! Lights, buzzer and the confirm button. The table tells a [`Signals`] what to show;
//! whether a GPIO pin or a simulated one answers is not its concern.

pub mod button;
pub mod gpio;
pub mod pattern;
pub mod simulated;

use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Off,
    /// Admitted: hand out ballots.
    Green,
    /// Refused: look at the screen.
    Red,
    /// Waiting for the tilforordnet to confirm (both lights, or a blink).
    Pending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Buzz {
    /// One short beep: confirmed.
    Ok,
    /// Three beeps: refused.
    Refused,
}

pub trait Signals: Send + Sync + 'static {
    fn describe(&self) -> String;
    fn light(&self, light: Light);
    fn buzz(&self, buzz: Buzz);
    /// Presses of the confirm button. Called once; a driver without a button (or a
    /// second call) returns a receiver that is closed at once.
    fn button(&self) -> mpsc::Receiver<()>;
}
