//! Integration tests against real PostgreSQL and etcd (started by `scripts/test.sh`). One test
//! binary, so that the crate links once.

mod agents;
mod api_accounts;
mod api_auth;
mod auth;
mod cli;
mod client_cli;
mod config;
mod db;
mod entity_models;
mod etcd;
mod events;
mod fixtures;
mod gql_api;
mod gql_mutations;
mod gql_schema;
mod helpers;
mod http;
mod list_fields;
mod minilang;
mod properties;
mod rest_access;
mod rest_config;
mod rest_dotfiles;
mod rest_resource;
mod rest_templates;
mod rpc;
mod schema;
mod server;
mod watcher;
