//! Lights, buzzer and confirm button on the Raspberry Pi's GPIO header, through rppal.
//!
//! Wiring assumed: LEDs and buzzer are on when their pin is high (LED with a resistor to
//! ground, buzzer through a transistor); the button connects its pin to ground, with
//! the internal pull-up, so pressed reads low. Pins are BCM numbers (GPIO17 is 17, not
//! header pin 11).
//!
//! rppal builds everywhere but only works on a Pi: elsewhere [`GpioSignals::new`]
//! returns [`GpioError::Unavailable`] and the daemon falls back to the simulated
//! driver. The lights and buzzer run on a thread of their own, so a three-beep pattern
//! never holds up the check-in that asked for it. [`Light::Pending`] blinks both LEDs
//! together at 2 Hz; [`super::pattern`] says why.

use super::button::{DEBOUNCE, Debouncer, SAMPLE_EVERY};
use super::pattern::{self, Command, Output, Outputs};
use super::{Buzz, Light, Signals};
use rppal::gpio::{Gpio, InputPin, Level, OutputPin};
use std::sync::Mutex;
use std::sync::mpsc as std_mpsc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Which BCM pin does what.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GpioPins {
    pub green: u8,
    pub red: u8,
    #[serde(default)]
    pub buzzer: Option<u8>,
    /// A passive buzzer (a bare piezo disc) only clicks on a steady level and needs a
    /// tone, e.g. 2700 Hz (software PWM). Leave out for an active buzzer, which makes
    /// its own tone.
    #[serde(default)]
    pub buzzer_tone_hz: Option<f64>,
    #[serde(default)]
    pub button: Option<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    #[error("GPIO is not available (not a Raspberry Pi, or no access to /dev/gpiomem): {0}")]
    Unavailable(#[source] rppal::gpio::Error),
    #[error("GPIO pin {pin} for the {role} cannot be used: {source}")]
    Pin {
        pin: u8,
        role: &'static str,
        #[source]
        source: rppal::gpio::Error,
    },
    #[error("GPIO pin {pin} is configured for both the {first} and the {second}")]
    PinTwice {
        pin: u8,
        first: &'static str,
        second: &'static str,
    },
    #[error("buzzer tone of {0} Hz is not between 100 and 10000 Hz")]
    Tone(f64),
    #[error("cannot start the GPIO thread: {0}")]
    Thread(#[source] std::io::Error),
}

impl GpioPins {
    fn roles(&self) -> Vec<(u8, &'static str)> {
        let mut v = vec![(self.green, "green LED"), (self.red, "red LED")];
        v.extend(self.buzzer.map(|p| (p, "buzzer")));
        v.extend(self.button.map(|p| (p, "button")));
        v
    }

    /// Checks the configuration before any pin is touched.
    pub fn validate(&self) -> Result<(), GpioError> {
        let roles = self.roles();
        for (i, &(pin, first)) in roles.iter().enumerate() {
            if let Some(&(_, second)) = roles[i + 1..].iter().find(|(p, _)| *p == pin) {
                return Err(GpioError::PinTwice { pin, first, second });
            }
        }
        if let Some(hz) = self.buzzer_tone_hz
            && !(100.0..=10_000.0).contains(&hz)
        {
            return Err(GpioError::Tone(hz));
        }
        Ok(())
    }
}

pub struct GpioSignals {
    pins: GpioPins,
    commands: std_mpsc::Sender<Command>,
    button_rx: Mutex<Option<mpsc::Receiver<()>>>,
}

impl GpioSignals {
    /// Claims the pins and starts the light and button threads. Lights start off.
    pub fn new(pins: GpioPins) -> Result<Self, GpioError> {
        pins.validate()?;
        let gpio = Gpio::new().map_err(GpioError::Unavailable)?;
        let get = |pin: u8, role: &'static str| {
            gpio.get(pin)
                .map_err(|source| GpioError::Pin { pin, role, source })
        };
        let outs = PinOutputs {
            green: get(pins.green, "green LED")?.into_output_low(),
            red: get(pins.red, "red LED")?.into_output_low(),
            buzzer: match pins.buzzer {
                Some(p) => Some(get(p, "buzzer")?.into_output_low()),
                None => None,
            },
            tone_hz: pins.buzzer_tone_hz,
        };
        let button = match pins.button {
            Some(p) => Some(get(p, "button")?.into_input_pullup()),
            None => None,
        };

        let (commands, rx) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("gpio-lights".into())
            .spawn(move || pattern::run(rx, outs))
            .map_err(GpioError::Thread)?;

        let button_rx = match button {
            Some(pin) => {
                let (tx, rx) = mpsc::channel(8);
                std::thread::Builder::new()
                    .name("gpio-button".into())
                    .spawn(move || watch_button(pin, tx))
                    .map_err(GpioError::Thread)?;
                Some(rx)
            }
            None => None,
        };
        tracing::info!(?pins, "GPIO signals ready");
        Ok(GpioSignals {
            pins,
            commands,
            button_rx: Mutex::new(button_rx),
        })
    }

    fn send(&self, cmd: Command) {
        if self.commands.send(cmd).is_err() {
            tracing::error!(?cmd, "GPIO light thread is gone; signal not shown");
        }
    }
}

impl Signals for GpioSignals {
    fn describe(&self) -> String {
        let p = &self.pins;
        let mut s = format!("GPIO: grøn {}, rød {}", p.green, p.red);
        if let Some(b) = p.buzzer {
            s.push_str(&format!(", summer {b}"));
        }
        if let Some(b) = p.button {
            s.push_str(&format!(", knap {b}"));
        }
        s
    }

    fn light(&self, light: Light) {
        self.send(Command::Light(light));
    }

    fn buzz(&self, buzz: Buzz) {
        self.send(Command::Buzz(buzz));
    }

    fn button(&self) -> mpsc::Receiver<()> {
        self.button_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| mpsc::channel(1).1)
    }
}

struct PinOutputs {
    green: OutputPin,
    red: OutputPin,
    buzzer: Option<OutputPin>,
    tone_hz: Option<f64>,
}

impl Outputs for PinOutputs {
    fn set(&mut self, output: Output, on: bool) {
        let pin = match output {
            Output::Green => &mut self.green,
            Output::Red => &mut self.red,
            Output::Buzzer => match &mut self.buzzer {
                Some(b) => b,
                None => return,
            },
        };
        match (output, self.tone_hz) {
            (Output::Buzzer, Some(hz)) => {
                let res = if on {
                    pin.set_pwm_frequency(hz, 0.5)
                } else {
                    pin.clear_pwm().map(|()| pin.set_low())
                };
                if let Err(e) = res {
                    tracing::warn!(error = %e, "cannot drive the passive buzzer");
                }
            }
            _ => pin.write(Level::from(on)),
        }
    }
}

/// Samples the button until nobody listens for presses any more.
fn watch_button(pin: InputPin, presses: mpsc::Sender<()>) {
    let mut debounce = Debouncer::new(DEBOUNCE, Instant::now());
    while !presses.is_closed() {
        if debounce.sample(pin.is_low(), Instant::now()) {
            tracing::debug!("confirm button pressed");
            if presses.try_send(()).is_err() {
                tracing::warn!("confirm button press dropped: presses are not being read");
            }
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins() -> GpioPins {
        GpioPins {
            green: 17,
            red: 27,
            buzzer: Some(22),
            buzzer_tone_hz: None,
            button: Some(23),
        }
    }

    #[test]
    fn a_pin_given_twice_is_refused_before_touching_hardware() {
        let mut p = pins();
        p.button = Some(17);
        let err = GpioSignals::new(p).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("GPIO pin 17 is configured for both the green LED and the button")
        );
        let mut p = pins();
        p.buzzer_tone_hz = Some(5.0);
        assert!(matches!(p.validate(), Err(GpioError::Tone(_))));
        assert!(pins().validate().is_ok());
    }

    #[test]
    fn off_a_pi_new_returns_an_error_instead_of_panicking() {
        let model = std::fs::read_to_string("/proc/device-tree/model").unwrap_or_default();
        if model.contains("Raspberry Pi") {
            eprintln!("on a {model}: real GPIO present, nothing to check here");
            return;
        }
        match GpioSignals::new(pins()) {
            Err(GpioError::Unavailable(_)) => {}
            Err(other) => panic!("expected Unavailable, got {other}"),
            Ok(_) => panic!("GPIO opened on a machine that is not a Pi"),
        }
    }

    #[test]
    fn pins_from_config() {
        let p: GpioPins = toml::from_str("green = 17\nred = 27\nbutton = 23").unwrap();
        assert_eq!(p.buzzer, None);
        assert_eq!(p.button, Some(23));
    }
}
