//! The enumerations of the system of record.
//!
//! PostgreSQL enum types become `DeriveActiveEnum` enums whose string values are the labels the
//! rows hold; serde uses the same strings, so fixtures and JSON round-trip unchanged. Columns that
//! 21.03 declares as plain strings but treats as enums (`kernels.cluster_mode`) get a string-backed
//! enum with the same stored values.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// `agentstatus`: the life of an agent as the registry sees it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "agentstatus")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgentStatus {
    #[sea_orm(string_value = "ALIVE")]
    Alive,
    #[sea_orm(string_value = "LOST")]
    Lost,
    #[sea_orm(string_value = "RESTARTING")]
    Restarting,
    #[sea_orm(string_value = "TERMINATED")]
    Terminated,
}

/// `defaultforunspecified`: whether a resource slot the policy does not name is unlimited.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "Enum",
    enum_name = "defaultforunspecified"
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DefaultForUnspecified {
    #[sea_orm(string_value = "LIMITED")]
    Limited,
    #[sea_orm(string_value = "UNLIMITED")]
    Unlimited,
}

/// `errorlog_severity`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "errorlog_severity")]
#[serde(rename_all = "lowercase")]
pub enum ErrorLogSeverity {
    #[sea_orm(string_value = "critical")]
    Critical,
    #[sea_orm(string_value = "error")]
    Error,
    #[sea_orm(string_value = "warning")]
    Warning,
}

/// `kernelstatus`: the life of a kernel (and, through its main kernel, of a session).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "kernelstatus")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KernelStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "SCHEDULED")]
    Scheduled,
    #[sea_orm(string_value = "PREPARING")]
    Preparing,
    #[sea_orm(string_value = "BUILDING")]
    Building,
    #[sea_orm(string_value = "PULLING")]
    Pulling,
    #[sea_orm(string_value = "RUNNING")]
    Running,
    #[sea_orm(string_value = "RESTARTING")]
    Restarting,
    #[sea_orm(string_value = "RESIZING")]
    Resizing,
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
    #[sea_orm(string_value = "TERMINATING")]
    Terminating,
    #[sea_orm(string_value = "TERMINATED")]
    Terminated,
    #[sea_orm(string_value = "ERROR")]
    Error,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

impl KernelStatus {
    /// Statuses after which a kernel never changes again.
    pub const DEAD: [KernelStatus; 2] = [KernelStatus::Terminated, KernelStatus::Cancelled];

    /// Whether the kernel has reached a final status.
    pub fn is_dead(self) -> bool {
        Self::DEAD.contains(&self)
    }
}

/// `sessionresult`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "sessionresult")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionResult {
    #[sea_orm(string_value = "UNDEFINED")]
    Undefined,
    #[sea_orm(string_value = "SUCCESS")]
    Success,
    #[sea_orm(string_value = "FAILURE")]
    Failure,
}

/// `sessiontypes`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "sessiontypes")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionTypes {
    #[sea_orm(string_value = "INTERACTIVE")]
    Interactive,
    #[sea_orm(string_value = "BATCH")]
    Batch,
}

/// `templatetype`: what a session template describes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "templatetype")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateType {
    #[sea_orm(string_value = "TASK")]
    Task,
    #[sea_orm(string_value = "CLUSTER")]
    Cluster,
}

/// `userrole`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "userrole")]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    #[sea_orm(string_value = "superadmin")]
    Superadmin,
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "user")]
    User,
    #[sea_orm(string_value = "monitor")]
    Monitor,
}

/// `userstatus`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "userstatus")]
#[serde(rename_all = "kebab-case")]
pub enum UserStatus {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "inactive")]
    Inactive,
    #[sea_orm(string_value = "deleted")]
    Deleted,
    #[sea_orm(string_value = "before-verification")]
    BeforeVerification,
}

/// `vfolderinvitationstate`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "Enum",
    enum_name = "vfolderinvitationstate"
)]
#[serde(rename_all = "lowercase")]
pub enum VFolderInvitationState {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "canceled")]
    Canceled,
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "rejected")]
    Rejected,
}

/// `vfolderownershiptype`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "Enum",
    enum_name = "vfolderownershiptype"
)]
#[serde(rename_all = "lowercase")]
pub enum VFolderOwnershipType {
    #[sea_orm(string_value = "user")]
    User,
    #[sea_orm(string_value = "group")]
    Group,
}

/// `vfolderpermission`: read-only, read-write, read-write-delete.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "vfolderpermission")]
pub enum VFolderPermission {
    #[sea_orm(string_value = "ro")]
    #[serde(rename = "ro")]
    ReadOnly,
    #[sea_orm(string_value = "rw")]
    #[serde(rename = "rw")]
    ReadWrite,
    #[sea_orm(string_value = "wd")]
    #[serde(rename = "wd")]
    RwDelete,
}

/// `vfolderusagemode`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "vfolderusagemode")]
#[serde(rename_all = "lowercase")]
pub enum VFolderUsageMode {
    #[sea_orm(string_value = "general")]
    General,
    #[sea_orm(string_value = "model")]
    Model,
    #[sea_orm(string_value = "data")]
    Data,
}

/// `kernels.cluster_mode` (a `varchar(16)` column): how the kernels of a session are spread.
/// Rows hold the Python enum's values (`single-node`), or the name `SINGLE_NODE` where the
/// column's server default filled it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "kebab-case")]
pub enum ClusterMode {
    #[sea_orm(string_value = "single-node")]
    SingleNode,
    #[sea_orm(string_value = "multi-node")]
    MultiNode,
}

impl ClusterMode {
    /// Reads a stored `kernels.cluster_mode`: the value (`single-node`) or the name
    /// (`SINGLE_NODE`, the column's server default).
    pub fn from_stored(stored: &str) -> Option<ClusterMode> {
        match stored {
            "single-node" | "SINGLE_NODE" => Some(ClusterMode::SingleNode),
            "multi-node" | "MULTI_NODE" => Some(ClusterMode::MultiNode),
            _ => None,
        }
    }
}
