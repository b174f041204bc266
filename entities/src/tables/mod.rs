//! The tables of the 21.03 system of record, one module per table.

pub mod agents;
pub mod association_groups_users;
pub mod domains;
pub mod error_logs;
pub mod groups;
pub mod kernels;
pub mod keypair_resource_policies;
pub mod keypairs;
pub mod resource_presets;
pub mod scaling_groups;
pub mod session_dependencies;
pub mod session_templates;
pub mod sgroups_for_domains;
pub mod sgroups_for_groups;
pub mod sgroups_for_keypairs;
pub mod users;
pub mod vfolder_attachment;
pub mod vfolder_invitations;
pub mod vfolder_permissions;
pub mod vfolders;
