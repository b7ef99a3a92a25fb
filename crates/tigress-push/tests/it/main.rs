//! Integration tests of tigress-push against local provider servers.
