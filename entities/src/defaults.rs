//! Column defaults that 21.03 applies in Python rather than in the database, as the stored
//! values they were meant to produce. Loaders that write rows without going through a model
//! (fixtures) fill a missing column from here, so that a row written by bai-manager looks like
//! one written by 21.03. Where 21.03's default was broken (`'{}'` strings that became the array
//! `{"{","}"}` or failed the insert), the intended value (an empty array or object) is used.

use serde_json::{json, Value};

/// The tables of the system of record, parents before children, so that loading in this order
/// satisfies every foreign key.
pub const TABLES: &[&str] = &[
    "domains",
    "scaling_groups",
    "keypair_resource_policies",
    "resource_presets",
    "users",
    "groups",
    "association_groups_users",
    "keypairs",
    "sgroups_for_domains",
    "sgroups_for_groups",
    "sgroups_for_keypairs",
    "agents",
    "kernels",
    "session_dependencies",
    "session_templates",
    "error_logs",
    "vfolders",
    "vfolder_attachment",
    "vfolder_invitations",
    "vfolder_permissions",
];

/// Resource-slot columns per table: values must read as a [`crate::ResourceSlot`].
pub fn resource_slot_columns(table: &str) -> &'static [&'static str] {
    match table {
        "agents" => &["available_slots", "occupied_slots"],
        "kernels" => &["occupied_slots"],
        "domains" | "groups" | "keypair_resource_policies" => &["total_resource_slots"],
        "resource_presets" => &["resource_slots"],
        _ => &[],
    }
}

/// The application-side defaults of `table`, as JSON values PostgreSQL reads into the columns.
pub fn application_defaults(table: &str) -> Vec<(&'static str, Value)> {
    // bytea `\x90`: a msgpack-encoded empty list, 21.03's "no dotfiles".
    let no_dotfiles = || json!("\\x90");
    match table {
        "agents" => vec![("status", json!("ALIVE")), ("compute_plugins", json!({}))],
        "domains" => vec![
            ("is_active", json!(true)),
            ("total_resource_slots", json!({})),
            ("allowed_vfolder_hosts", json!([])),
            ("allowed_docker_registries", json!([])),
            ("dotfiles", no_dotfiles()),
        ],
        "groups" => vec![
            ("is_active", json!(true)),
            ("total_resource_slots", json!({})),
            ("allowed_vfolder_hosts", json!([])),
            ("dotfiles", no_dotfiles()),
        ],
        "kernels" => vec![
            ("cluster_mode", json!("single-node")),
            ("cluster_size", json!(1)),
            ("cluster_role", json!("main")),
            ("cluster_idx", json!(0)),
            ("occupied_shares", json!({})),
            ("mount_map", json!({})),
            ("attached_devices", json!({})),
            ("resource_opts", json!({})),
            ("num_queries", json!(0)),
        ],
        "keypairs" => vec![
            ("is_admin", json!(false)),
            ("dotfiles", no_dotfiles()),
            ("bootstrap_script", json!("")),
        ],
        "keypair_resource_policies" => vec![("default_for_unspecified", json!("LIMITED"))],
        "users" => vec![("status", json!("active")), ("role", json!("user"))],
        "vfolders" => vec![
            ("usage_mode", json!("general")),
            ("permission", json!("rw")),
            ("max_files", json!(1000)),
            ("num_files", json!(0)),
            ("cur_size", json!(0)),
            ("ownership_type", json!("user")),
            ("cloneable", json!(false)),
        ],
        "vfolder_invitations" => vec![("permission", json!("rw")), ("state", json!("pending"))],
        "vfolder_permissions" => vec![("permission", json!("rw"))],
        "scaling_groups" => vec![
            ("is_active", json!(true)),
            ("driver_opts", json!({})),
            ("scheduler_opts", json!({})),
        ],
        "session_templates" => vec![("is_active", json!(true))],
        "error_logs" => vec![("is_read", json!(false)), ("is_cleared", json!(false))],
        _ => Vec::new(),
    }
}

/// `kernels.cluster_hostname` defaults to the role followed by the index (`main0`, `sub3`).
pub fn default_cluster_hostname(role: &str, idx: i64) -> String {
    format!("{role}{idx}")
}
