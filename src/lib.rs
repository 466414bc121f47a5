//! hawkeye-mpc: static communication profiling and e-graph optimization of neural networks
//! under secure multi-party computation.
//!
//! The pipeline, one module per stage:
//! `frontend` (model files in and out) > `graph` (the IR) > `autograd` (training steps:
//! backward pass, loss, optimizer update) > `cost` (framework cost models) > `profile` (cost
//! attribution) > `optimize` (cheaper equivalent graphs with e-graphs) > `report` (rendering).
//! `zoo` holds the built-in models; `interpret` evaluates a graph on concrete tensors, in
//! `f64` or emulated MPC fixed point; `validate` checks that a variant of a model computes
//! what the original does. `output` writes every output file atomically. `request` carries out
//! one front-end request (model, framework, options) end to end, for the Python bindings.

pub mod autograd;
pub mod cost;
pub mod frontend;
pub mod graph;
pub mod interpret;
pub mod optimize;
pub mod output;
pub mod profile;
pub mod report;
pub mod request;
pub mod suggest;
pub mod validate;
pub mod zoo;
