//! The web-server domain of serversim: machine, load, request classes, the six architectures,
//! metrics, scenario files and presets, and the runner that compares servers on one load.
//!
//! Invariant: models never read the wall clock; results depend only on the scenario and seed.

pub mod analytic;
pub mod architectures;
pub mod bench;
#[cfg(feature = "calibrate")]
pub mod calibrate;
pub mod claim;
pub mod config;
pub mod engine;
pub mod grid;
pub mod json;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod plan;
pub mod runner;
pub mod scenario;
pub mod sweep;
pub mod view;
