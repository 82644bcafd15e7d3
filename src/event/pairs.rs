//! Events made of `(name, value)` pairs: rule examples, tests, and the
//! fields parsed out of an XML `_raw` ([`crate::event::raw_xml`]).

use std::borrow::Cow;

use crate::event::{Event, Field, F};

/// An event made of `(name, value)` pairs: rule examples, tests and the
/// fields parsed out of an XML `_raw`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairsEvent<'a> {
    /// The fields, by source name.
    pub pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> PairsEvent<'a> {
    /// Builds one from borrowed pairs.
    pub fn from_pairs(pairs: &[(&'a str, &'a str)]) -> Self {
        PairsEvent {
            pairs: pairs
                .iter()
                .map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v)))
                .collect(),
        }
    }

    /// First non-empty value of any of `names`, in the order of `names`.
    pub fn lookup(&self, names: &[&str]) -> Field<'_> {
        for name in names {
            for (k, v) in &self.pairs {
                if k == name && !v.is_empty() && v != "-" {
                    return Field::Value(Cow::Borrowed(v));
                }
            }
        }
        Field::Missing
    }
}

impl Event for PairsEvent<'_> {
    fn get(&self, field: F) -> Field<'_> {
        self.lookup(field.sources())
    }
}
