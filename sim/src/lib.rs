//! The discrete-event simulation kernel: simulated time, a deterministic event queue, seeded RNG
//! streams, distributions configured by their mean, and streaming statistics.
//!
//! Invariant: this crate knows nothing about web servers, serde or GUIs.

pub mod dist;
pub mod queue;
pub mod rng;
pub mod simulation;
pub mod stats;

pub use dist::{Dist, DistError};
pub use queue::EventQueue;
pub use rng::{SimRng, stream};
pub use simulation::{Model, Scheduler, Simulation};
