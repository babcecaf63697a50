//! End-to-end tests live in `it/`; this library is empty so the package has a target.
