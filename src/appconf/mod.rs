//! The Splunk app's generated files, made from the rule table: the
//! scheduled searches (`default/savedsearches.conf`) with their pre-filters
//! (channels and event codes the rules read, from [`Class::sources`]) and
//! risk actions, and the macros (`default/macros.conf`). A test checks the
//! shipped files are these; `winrmdetect print-app-conf` writes them.
//!
//! The searches are typed plans ([`SavedSearch`]): the SPL is rendered
//! from a plan, and the tests run the same plan over the command's output
//! to apply the risk action as Enterprise Security would.

mod macros;
mod searches;

pub use macros::{macros_conf, SourceMacro, SOURCE_MACROS};
pub use searches::{
    saved_searches, savedsearches_conf, Kind, RiskEntry, SavedSearch, PER_EVENT_FIELDS,
};
