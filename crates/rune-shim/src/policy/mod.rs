//! The Rune policy: its JSON model and the validator.

pub mod explain;
pub mod lint;
pub mod model;
pub mod resolve;
pub mod validate;

pub use model::Policy;
pub use validate::{Backend, PolicyError, Problem, RuleRef, parse};
