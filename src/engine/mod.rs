//! The engine's composition root: its settings (`settings`), the builder that composes the
//! stages from them and starts their threads (`builder`), the running engine (`running`), and
//! catalog updates applied to it while it runs (`catalog_link`). Everything else in the
//! library is a part it composes; nothing below depends on it.

pub mod builder;
pub mod catalog_link;
pub mod ops;
pub mod running;
pub mod settings;

pub use builder::{DispatchMode, EngineBuilder};
pub use running::{Pipeline, PipelineError, PipelineReport, PipelineStats};
pub use settings::EngineSettings;
