//! hawkeye-mpc: static communication profiling and e-graph optimization of neural networks
//! under secure multi-party computation.
//!
//! The pipeline, one module per stage:
//! `frontend` (model files in) > `graph` (the IR) > `cost` (framework cost models) >
//! `profile` (cost attribution) > `report` (rendering). `zoo` holds the built-in models;
//! `autograd` turns a model into a training step (backward pass, loss, optimizer update).

pub mod autograd;
pub mod cost;
pub mod frontend;
pub mod graph;
pub mod profile;
pub mod report;
pub mod zoo;
