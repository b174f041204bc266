//! The names that 21.03's paginated lists accept in `filter` and `order`, per type, with the
//! column each stands for and the rows it is read from.
//!
//! These are 21.03's field specs (`models/{agent,user,keypair,kernel,vfolder}.py`, with the
//! additions of #458, #459, #464), with its broken entries fixed to what was obviously meant:
//! agent `schedulable` and `first_contact` (misspelt columns), user `is_active` (a column that no
//! longer exists: now "status is active"), session `group_name` (a wrong join key), ordering by
//! `status_changed` (which sorted by `status_info`), and `vfolder_list`'s inner join that hid
//! group-owned folders. Entries that could never work (`concurrency_limit`,
//! `cluster_template`) are left out. Enumerations accept the member name, as 21.03 did, or the
//! stored value, as 21.03's output shows it.

use queryfilter::{FieldKind, FieldSpec};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query, SelectStatement};

/// The filter and order names of one list, and the rows they are read from.
pub struct ListFields {
    pub filter: FieldSpec,
    pub order: FieldSpec,
    /// `FROM …` with the joins the fields refer to.
    pub from: SelectStatement,
    /// Where the joins of `from` never change which rows match (inner joins along non-null
    /// foreign keys): the base table alone, and the names whose columns come from the joins.
    /// Counting and reading rows then skip the joins unless the filter (or, for reading, the
    /// order) names one of those: planning a join costs PostgreSQL more than running the
    /// whole query on a page. The list's row columns must then not refer to the joined tables.
    pub base_from: Option<(SelectStatement, &'static [&'static str])>,
}

fn col(table: &str, column: &str) -> Expr {
    Expr::col((Alias::new(table), Alias::new(column)))
}

/// Adds order-only names (the kind matters only when filtering).
fn orderable(spec: FieldSpec, names: &[(&'static str, Expr)]) -> FieldSpec {
    names.iter().cloned().fold(spec, |spec, (name, column)| {
        spec.field(name, column, FieldKind::Text)
    })
}

const AGENT_STATUS: &[(&str, &str)] = &[
    ("ALIVE", "ALIVE"),
    ("LOST", "LOST"),
    ("RESTARTING", "RESTARTING"),
    ("TERMINATED", "TERMINATED"),
];
const USER_STATUS: &[(&str, &str)] = &[
    ("ACTIVE", "active"),
    ("INACTIVE", "inactive"),
    ("DELETED", "deleted"),
    ("BEFORE_VERIFICATION", "before-verification"),
];
const USER_ROLE: &[(&str, &str)] = &[
    ("SUPERADMIN", "superadmin"),
    ("ADMIN", "admin"),
    ("USER", "user"),
    ("MONITOR", "monitor"),
];
const KERNEL_STATUS: &[(&str, &str)] = &[
    ("PENDING", "PENDING"),
    ("SCHEDULED", "SCHEDULED"),
    ("PREPARING", "PREPARING"),
    ("BUILDING", "BUILDING"),
    ("PULLING", "PULLING"),
    ("RUNNING", "RUNNING"),
    ("RESTARTING", "RESTARTING"),
    ("RESIZING", "RESIZING"),
    ("SUSPENDED", "SUSPENDED"),
    ("TERMINATING", "TERMINATING"),
    ("TERMINATED", "TERMINATED"),
    ("ERROR", "ERROR"),
    ("CANCELLED", "CANCELLED"),
];
const SESSION_TYPES: &[(&str, &str)] = &[("INTERACTIVE", "INTERACTIVE"), ("BATCH", "BATCH")];
const SESSION_RESULT: &[(&str, &str)] = &[
    ("UNDEFINED", "UNDEFINED"),
    ("SUCCESS", "SUCCESS"),
    ("FAILURE", "FAILURE"),
];
const CLUSTER_MODE: &[(&str, &str)] =
    &[("SINGLE_NODE", "single-node"), ("MULTI_NODE", "multi-node")];
const VFOLDER_USAGE_MODE: &[(&str, &str)] =
    &[("GENERAL", "general"), ("MODEL", "model"), ("DATA", "data")];
const VFOLDER_PERMISSION: &[(&str, &str)] = &[
    ("READ_ONLY", "ro"),
    ("READ_WRITE", "rw"),
    ("RW_DELETE", "wd"),
    ("OWNER_PERM", "wd"),
];
const VFOLDER_OWNERSHIP: &[(&str, &str)] = &[("USER", "user"), ("GROUP", "group")];

fn pg_enum(pg_type: &'static str, members: &'static [(&'static str, &'static str)]) -> FieldKind {
    FieldKind::Enum {
        pg_type: Some(pg_type),
        members,
    }
}

/// `agent_list`.
pub fn agents() -> ListFields {
    let a = |c| col("agents", c);
    let filter = FieldSpec::new()
        .field("id", a("id"), FieldKind::Text)
        .field("status", a("status"), pg_enum("agentstatus", AGENT_STATUS))
        .field("status_changed", a("status_changed"), FieldKind::DateTime)
        .field("region", a("region"), FieldKind::Text)
        .field("scaling_group", a("scaling_group"), FieldKind::Text)
        .field("schedulable", a("schedulable"), FieldKind::Boolean)
        .field("addr", a("addr"), FieldKind::Text)
        .field("first_contact", a("first_contact"), FieldKind::DateTime)
        .field("lost_at", a("lost_at"), FieldKind::DateTime)
        .field("version", a("version"), FieldKind::Text);
    let order = orderable(
        FieldSpec::new(),
        &[
            ("id", a("id")),
            ("status", a("status")),
            ("status_changed", a("status_changed")),
            ("region", a("region")),
            ("scaling_group", a("scaling_group")),
            ("schedulable", a("schedulable")),
            ("available_slots", a("available_slots")),
            ("occupied_slots", a("occupied_slots")),
            ("first_contact", a("first_contact")),
            ("lost_at", a("lost_at")),
            ("version", a("version")),
        ],
    );
    ListFields {
        filter,
        order,
        from: Query::select().from(Alias::new("agents")).to_owned(),
        base_from: None,
    }
}

/// `user_list`.
pub fn users() -> ListFields {
    let u = |c| col("users", c);
    // 21.03 replaced the `is_active` column with `status`; the name now means "status is active".
    let is_active = || u("status").eq(Expr::val("active").cast_as(Alias::new("userstatus")));
    let filter = FieldSpec::new()
        .field("uuid", u("uuid"), FieldKind::Uuid)
        .field("username", u("username"), FieldKind::Text)
        .field("email", u("email"), FieldKind::Text)
        .field(
            "need_password_change",
            u("need_password_change"),
            FieldKind::Boolean,
        )
        .field("full_name", u("full_name"), FieldKind::Text)
        .field("description", u("description"), FieldKind::Text)
        .field("is_active", is_active(), FieldKind::Boolean)
        .field("status", u("status"), pg_enum("userstatus", USER_STATUS))
        .field("status_info", u("status_info"), FieldKind::Text)
        .field("created_at", u("created_at"), FieldKind::DateTime)
        .field("modified_at", u("modified_at"), FieldKind::DateTime)
        .field("domain_name", u("domain_name"), FieldKind::Text)
        .field("role", u("role"), pg_enum("userrole", USER_ROLE));
    let order = orderable(
        FieldSpec::new(),
        &[
            ("uuid", u("uuid")),
            ("username", u("username")),
            ("email", u("email")),
            ("need_password_change", u("need_password_change")),
            ("full_name", u("full_name")),
            ("is_active", is_active()),
            ("status", u("status")),
            ("status_info", u("status_info")),
            ("created_at", u("created_at")),
            ("modified_at", u("modified_at")),
            ("domain_name", u("domain_name")),
            ("role", u("role")),
        ],
    );
    ListFields {
        filter,
        order,
        from: Query::select().from(Alias::new("users")).to_owned(),
        base_from: None,
    }
}

/// `keypair_list`: keypairs with their users. `user_id` is the column of that name (the owner's
/// email, as the `KeyPair.user_id` field shows it); 21.03 compared it with the user's UUID.
/// `num_queries` is the database column, as in 21.03 (the live counter is in Redis).
pub fn keypairs() -> ListFields {
    let k = |c| col("keypairs", c);
    let u = |c| col("users", c);
    let filter = FieldSpec::new()
        .field("access_key", k("access_key"), FieldKind::Text)
        .field("user_id", k("user_id"), FieldKind::Text)
        .field("email", u("email"), FieldKind::Text)
        .field("full_name", u("full_name"), FieldKind::Text)
        .field("is_active", k("is_active"), FieldKind::Boolean)
        .field("is_admin", k("is_admin"), FieldKind::Boolean)
        .field("resource_policy", k("resource_policy"), FieldKind::Text)
        .field("created_at", k("created_at"), FieldKind::DateTime)
        .field("last_used", k("last_used"), FieldKind::DateTime)
        .field(
            "concurrency_used",
            k("concurrency_used"),
            FieldKind::Integer,
        )
        .field("rate_limit", k("rate_limit"), FieldKind::Integer)
        .field("num_queries", k("num_queries"), FieldKind::Integer)
        .field("ssh_public_key", k("ssh_public_key"), FieldKind::Text);
    let order = orderable(
        FieldSpec::new(),
        &[
            ("access_key", k("access_key")),
            ("email", u("email")),
            ("full_name", u("full_name")),
            ("is_active", k("is_active")),
            ("is_admin", k("is_admin")),
            ("resource_policy", k("resource_policy")),
            ("created_at", k("created_at")),
            ("last_used", k("last_used")),
            ("concurrency_used", k("concurrency_used")),
            ("rate_limit", k("rate_limit")),
            ("num_queries", k("num_queries")),
        ],
    );
    let from = Query::select()
        .from(Alias::new("keypairs"))
        .join(
            JoinType::InnerJoin,
            Alias::new("users"),
            k("user").equals((Alias::new("users"), Alias::new("uuid"))),
        )
        .to_owned();
    ListFields {
        filter,
        order,
        from,
        base_from: None,
    }
}

/// `compute_session_list`: main kernels with their groups and users. With `hide_agents` (for
/// callers other than superadmins when `manager.hide-agents` is set), the agent fields are not
/// offered, so that filtering cannot reveal what the output hides.
pub fn sessions(hide_agents: bool) -> ListFields {
    let k = |c| col("kernels", c);
    let mut filter = FieldSpec::new()
        .field("id", k("id"), FieldKind::Uuid)
        .field(
            "type",
            k("session_type"),
            pg_enum("sessiontypes", SESSION_TYPES),
        )
        .field("name", k("session_name"), FieldKind::Text)
        .field("image", k("image"), FieldKind::Text)
        .field("domain_name", k("domain_name"), FieldKind::Text)
        .field("group_name", col("groups", "name"), FieldKind::Text)
        .field("user_email", col("users", "email"), FieldKind::Text)
        .field("access_key", k("access_key"), FieldKind::Text)
        .field("scaling_group", k("scaling_group"), FieldKind::Text)
        .field(
            "cluster_mode",
            k("cluster_mode"),
            FieldKind::Enum {
                pg_type: None,
                members: CLUSTER_MODE,
            },
        )
        .field("cluster_size", k("cluster_size"), FieldKind::Integer)
        .field(
            "status",
            k("status"),
            pg_enum("kernelstatus", KERNEL_STATUS),
        )
        .field("status_info", k("status_info"), FieldKind::Text)
        .field("status_changed", k("status_changed"), FieldKind::DateTime)
        .field(
            "result",
            k("result"),
            pg_enum("sessionresult", SESSION_RESULT),
        )
        .field("created_at", k("created_at"), FieldKind::DateTime)
        .field("terminated_at", k("terminated_at"), FieldKind::DateTime)
        .field("starts_at", k("starts_at"), FieldKind::DateTime)
        .field("startup_command", k("startup_command"), FieldKind::Text);
    if !hide_agents {
        filter = filter.field("agent", k("agent"), FieldKind::Text).field(
            "agents",
            k("agent"),
            FieldKind::Text,
        );
    }
    let order = orderable(
        FieldSpec::new(),
        &[
            ("id", k("id")),
            ("type", k("session_type")),
            ("name", k("session_name")),
            ("image", k("image")),
            ("domain_name", k("domain_name")),
            ("group_name", col("groups", "name")),
            ("user_email", col("users", "email")),
            ("access_key", k("access_key")),
            ("scaling_group", k("scaling_group")),
            ("cluster_mode", k("cluster_mode")),
            ("cluster_size", k("cluster_size")),
            ("status", k("status")),
            ("status_info", k("status_info")),
            ("status_changed", k("status_changed")),
            ("result", k("result")),
            ("created_at", k("created_at")),
            ("terminated_at", k("terminated_at")),
            ("starts_at", k("starts_at")),
        ],
    );
    let from = Query::select()
        .from(Alias::new("kernels"))
        .join(
            JoinType::InnerJoin,
            Alias::new("groups"),
            col("groups", "id").equals((Alias::new("kernels"), Alias::new("group_id"))),
        )
        .join(
            JoinType::InnerJoin,
            Alias::new("users"),
            col("users", "uuid").equals((Alias::new("kernels"), Alias::new("user_uuid"))),
        )
        .to_owned();
    ListFields {
        filter,
        order,
        from,
        base_from: Some((
            Query::select().from(Alias::new("kernels")).to_owned(),
            &["group_name", "user_email"],
        )),
    }
}

/// `compute_container_list`: the kernels of one session. `hide_agents` as for [`sessions`].
pub fn containers(hide_agents: bool) -> ListFields {
    let k = |c| col("kernels", c);
    let mut filter = FieldSpec::new()
        .field("image", k("image"), FieldKind::Text)
        .field("cluster_idx", k("cluster_idx"), FieldKind::Integer)
        .field("cluster_role", k("cluster_role"), FieldKind::Text)
        .field("cluster_hostname", k("cluster_hostname"), FieldKind::Text)
        .field(
            "status",
            k("status"),
            pg_enum("kernelstatus", KERNEL_STATUS),
        )
        .field("status_info", k("status_info"), FieldKind::Text)
        .field("created_at", k("created_at"), FieldKind::DateTime)
        .field("status_changed", k("status_changed"), FieldKind::DateTime)
        .field("terminated_at", k("terminated_at"), FieldKind::DateTime);
    let mut order_names = vec![
        ("image", k("image")),
        ("cluster_idx", k("cluster_idx")),
        ("cluster_role", k("cluster_role")),
        ("cluster_hostname", k("cluster_hostname")),
        ("status", k("status")),
        ("status_info", k("status_info")),
        ("created_at", k("created_at")),
        ("status_changed", k("status_changed")),
        ("terminated_at", k("terminated_at")),
    ];
    if !hide_agents {
        filter = filter.field("agent", k("agent"), FieldKind::Text);
        order_names.push(("agent", k("agent")));
    }
    let order = orderable(FieldSpec::new(), &order_names);
    ListFields {
        filter,
        order,
        from: Query::select().from(Alias::new("kernels")).to_owned(),
        base_from: None,
    }
}

/// `vfolder_list`: folders with their owning user, if any (21.03's inner join dropped the
/// group-owned folders).
pub fn vfolders() -> ListFields {
    let v = |c| col("vfolders", c);
    let filter = FieldSpec::new()
        .field("id", v("id"), FieldKind::Uuid)
        .field("host", v("host"), FieldKind::Text)
        .field("name", v("name"), FieldKind::Text)
        .field("group", v("group"), FieldKind::Uuid)
        .field("user", v("user"), FieldKind::Uuid)
        .field("user_email", col("users", "email"), FieldKind::Text)
        .field("creator", v("creator"), FieldKind::Text)
        .field("unmanaged_path", v("unmanaged_path"), FieldKind::Text)
        .field(
            "usage_mode",
            v("usage_mode"),
            pg_enum("vfolderusagemode", VFOLDER_USAGE_MODE),
        )
        .field(
            "permission",
            v("permission"),
            pg_enum("vfolderpermission", VFOLDER_PERMISSION),
        )
        .field(
            "ownership_type",
            v("ownership_type"),
            pg_enum("vfolderownershiptype", VFOLDER_OWNERSHIP),
        )
        .field("max_files", v("max_files"), FieldKind::Integer)
        .field("max_size", v("max_size"), FieldKind::Integer)
        .field("created_at", v("created_at"), FieldKind::DateTime)
        .field("last_used", v("last_used"), FieldKind::DateTime)
        .field("cloneable", v("cloneable"), FieldKind::Boolean);
    let order = orderable(
        FieldSpec::new(),
        &[
            ("id", v("id")),
            ("host", v("host")),
            ("name", v("name")),
            ("group", v("group")),
            ("user", v("user")),
            ("user_email", col("users", "email")),
            ("usage_mode", v("usage_mode")),
            ("permission", v("permission")),
            ("ownership_type", v("ownership_type")),
            ("max_files", v("max_files")),
            ("max_size", v("max_size")),
            ("created_at", v("created_at")),
            ("last_used", v("last_used")),
            ("cloneable", v("cloneable")),
        ],
    );
    let from = Query::select()
        .from(Alias::new("vfolders"))
        .join(
            JoinType::LeftJoin,
            Alias::new("users"),
            col("users", "uuid").equals((Alias::new("vfolders"), Alias::new("user"))),
        )
        .to_owned();
    ListFields {
        filter,
        order,
        from,
        base_from: None,
    }
}
