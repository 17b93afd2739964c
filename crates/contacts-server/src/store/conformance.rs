//! A conformance suite.
