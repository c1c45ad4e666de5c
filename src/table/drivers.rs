//! The table's hardware as configured: the scanner and the lights, buzzer and button.
//! Each falls back or fails with a sentence a person can act on.

use super::config::{ScannerConfig, SignalsConfig};
use crate::scan::Scanner;
use crate::scan::camera::{CameraScanner, CommandFrames, StreamFormat};
use crate::scan::evdev_hid::EvdevScanner;
use crate::scan::serial::SerialScanner;
use crate::signal::Signals;
use crate::signal::gpio::{GpioPins, GpioSignals};
use crate::signal::simulated::SimulatedSignals;
use std::sync::Arc;

pub fn make_signals(cfg: &SignalsConfig) -> Arc<dyn Signals> {
    match cfg {
        SignalsConfig::Simulated => Arc::new(SimulatedSignals::default()),
        SignalsConfig::Gpio {
            green,
            red,
            buzzer,
            buzzer_tone_hz,
            button,
        } => {
            let pins = GpioPins {
                green: *green,
                red: *red,
                buzzer: *buzzer,
                buzzer_tone_hz: *buzzer_tone_hz,
                button: *button,
            };
            match GpioSignals::new(pins) {
                Ok(g) => Arc::new(g),
                Err(e) => {
                    // Off a Pi (or with the pins taken) the table still works: the
                    // screen and the sound of the browser carry the signal.
                    tracing::error!(error = %e, "GPIO unavailable; lights and buzzer are simulated");
                    Arc::new(SimulatedSignals::default())
                }
            }
        }
    }
}

/// An evdev scanner configured without saying which device it is.
#[derive(Debug, thiserror::Error)]
#[error("[scanner] evdev needs `path` or `name`")]
pub struct ScannerUnnamed;

pub fn make_scanner(cfg: &ScannerConfig) -> Result<Box<dyn Scanner>, ScannerUnnamed> {
    Ok(match cfg {
        ScannerConfig::Simulated => Box::new(crate::scan::simulated::simulated().0),
        ScannerConfig::Evdev { path, name, layout } => match (path, name) {
            (Some(p), _) => Box::new(EvdevScanner::new(p.clone(), *layout)),
            (None, Some(n)) => Box::new(EvdevScanner::by_name(n.clone(), *layout)),
            (None, None) => return Err(ScannerUnnamed),
        },
        ScannerConfig::Serial { path, baud } => Box::new(SerialScanner::new(path.clone(), *baud)),
        ScannerConfig::Camera {
            command,
            yuv_width,
            yuv_height,
        } => {
            let format = match (yuv_width, yuv_height) {
                (Some(width), Some(height)) => StreamFormat::Yuv420 {
                    width: *width,
                    height: *height,
                },
                _ => StreamFormat::Images,
            };
            Box::new(CameraScanner::new(CommandFrames::stream(
                command.clone(),
                format,
            )))
        }
    })
}
