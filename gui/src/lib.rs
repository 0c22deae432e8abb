//! The serversim window (eframe/egui): live side-by-side simulation of the architectures.
