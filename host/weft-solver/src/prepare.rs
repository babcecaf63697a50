//! Coopr's pre-checks (coopr-notes §3.1): from a resolved template, a request and the catalog to
//! a [`Problem`].
