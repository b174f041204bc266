//! Integration tests against real PostgreSQL and etcd (started by `scripts/test.sh`). One test
//! binary, so that the crate links once.

mod cli;
mod config;
mod db;
mod etcd;
mod fixtures;
mod helpers;
mod schema;
mod server;
