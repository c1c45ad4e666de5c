//! Simulated lights and buzzer: records what was shown, for the demo screen and tests.

use super::{Buzz, Light, Signals};
use std::sync::Mutex;
use tokio::sync::mpsc;

pub struct SimulatedSignals {
    state: Mutex<(Light, Option<Buzz>)>,
    button_tx: mpsc::Sender<()>,
    button_rx: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Default for SimulatedSignals {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(8);
        SimulatedSignals {
            state: Mutex::new((Light::Off, None)),
            button_tx: tx,
            button_rx: Mutex::new(Some(rx)),
        }
    }
}

impl SimulatedSignals {
    pub fn current(&self) -> (Light, Option<Buzz>) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Presses the simulated button.
    pub fn press(&self) {
        let _ = self.button_tx.try_send(());
    }
}

impl Signals for SimulatedSignals {
    fn describe(&self) -> String {
        "simulerede lys".into()
    }
    fn light(&self, light: Light) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0 = light;
    }
    fn buzz(&self, buzz: Buzz) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(buzz);
    }
    fn button(&self) -> mpsc::Receiver<()> {
        self.button_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| mpsc::channel(1).1)
    }
}
