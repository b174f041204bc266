//! Session and cluster templates (21.03 `session_template.py`, `cluster_template.py` and the
//! schemas of `models/session_template.py`): documents given as JSON or YAML, checked and
//! stored with their defaults filled in.
//!
//! Unlike 21.03, malformed templates are refused with a 400 naming the field (21.03 answered
//! 500), stored templates read back in both formats (21.03 failed on its own schema), and only
//! their owner, the admins of their domain and superadmins may change or delete them (21.03
//! let anyone).

use chrono::{DateTime, Utc};
use entities::enums::{TemplateType, UserRole};
use entities::{association_groups_users, domains, groups, session_templates};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::auth::Identity;
use super::scope::ActingFor;
use super::{Error, Named, Result};

/// Paths a template may not mount folders at (21.03's `verify_vfolder_name`).
const RESERVED_FOLDER_NAMES: [&str; 4] = [".terminfo", ".jupyter", ".tmux.conf", ".ssh"];
/// Where templates mount folders.
const MOUNT_ROOT: &str = "/home/work/";
/// The role every cluster needs exactly one of.
const MAIN_ROLE: &str = "main";

fn invalid(path: &str, why: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{path}: {why}"))
}

/// Reads a template document: JSON, or else YAML; it must be a mapping.
pub fn parse_payload(payload: &str) -> Result<Map<String, Value>> {
    let parsed: Value = match serde_json::from_str(payload) {
        Ok(v) => v,
        Err(_) => serde_yaml::from_str(payload)
            .map_err(|_| Error::InvalidInput("Malformed payload".into()))?,
    };
    match parsed {
        Value::Object(map) => Ok(map),
        _ => Err(Error::InvalidInput(
            "Malformed payload: the template must be a mapping".into(),
        )),
    }
}

/// Reads the fields of one mapping of a template, in order, refusing keys it does not know.
struct Fields {
    path: String,
    map: Map<String, Value>,
    out: Map<String, Value>,
}

impl Fields {
    fn of(path: &str, value: Option<Value>, required: bool) -> Result<Option<Fields>> {
        match value {
            None | Some(Value::Null) if !required => Ok(None),
            None => Err(invalid(path, "is required")),
            Some(Value::Object(map)) => Ok(Some(Fields {
                path: path.to_owned(),
                map,
                out: Map::new(),
            })),
            Some(_) => Err(invalid(path, "must be a mapping")),
        }
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Takes the first of `names` present (the first name is the stored one).
    fn take(&mut self, names: &[&str]) -> Option<Value> {
        let mut found = None;
        for name in names {
            if let Some(v) = self.map.remove(*name) {
                found.get_or_insert(v);
            }
        }
        found
    }

    fn string(&mut self, names: &[&str], required: bool) -> Result<Option<String>> {
        let key = self.at(names[0]);
        match self.take(names) {
            None | Some(Value::Null) if !required => {
                self.out.insert(names[0].to_owned(), Value::Null);
                Ok(None)
            }
            Some(Value::String(s)) if !s.is_empty() => {
                self.out
                    .insert(names[0].to_owned(), Value::from(s.as_str()));
                Ok(Some(s))
            }
            Some(Value::String(_)) => Err(invalid(&key, "blank value is not allowed")),
            None | Some(Value::Null) => Err(invalid(&key, "is required")),
            Some(_) => Err(invalid(&key, "value is not a string")),
        }
    }

    fn choice(
        &mut self,
        names: &[&str],
        allowed: &[&str],
        default: Option<&str>,
    ) -> Result<String> {
        let key = self.at(names[0]);
        let value = match (self.take(names), default) {
            (None | Some(Value::Null), Some(d)) => d.to_owned(),
            (Some(Value::String(s)), _) if allowed.contains(&s.as_str()) => s,
            (None, None) => return Err(invalid(&key, "is required")),
            _ => {
                return Err(invalid(
                    &key,
                    format!("must be one of {}", allowed.join(", ")),
                ))
            }
        };
        self.out
            .insert(names[0].to_owned(), Value::from(value.as_str()));
        Ok(value)
    }

    /// A mapping of strings to strings (`{}` when absent).
    fn string_map(&mut self, name: &str) -> Result<()> {
        let key = self.at(name);
        let value = match self.take(&[name]) {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(Value::Object(m)) => {
                if let Some((k, _)) = m.iter().find(|(_, v)| !v.is_string()) {
                    return Err(invalid(&format!("{key}.{k}"), "value is not a string"));
                }
                Value::Object(m)
            }
            Some(_) => return Err(invalid(&key, "must be a mapping")),
        };
        self.out.insert(name.to_owned(), value);
        Ok(())
    }

    /// Any mapping, or `default` when absent.
    fn mapping(&mut self, name: &str, default: Value) -> Result<Option<Map<String, Value>>> {
        let key = self.at(name);
        match self.take(&[name]) {
            None | Some(Value::Null) => {
                self.out.insert(name.to_owned(), default);
                Ok(None)
            }
            Some(Value::Object(m)) => {
                self.out.insert(name.to_owned(), Value::Object(m.clone()));
                Ok(Some(m))
            }
            Some(_) => Err(invalid(&key, "must be a mapping")),
        }
    }

    fn nested(&mut self, name: &str, value: Option<Value>) {
        self.out
            .insert(name.to_owned(), value.unwrap_or(Value::Null));
    }

    /// The checked mapping; unknown keys are refused unless `keep_extra`.
    fn finish(mut self, keep_extra: bool) -> Result<Value> {
        if let Some(extra) = self.map.keys().next() {
            if !keep_extra {
                return Err(invalid(&self.at(extra), "is not an allowed key"));
            }
        }
        self.out.append(&mut self.map);
        Ok(Value::Object(self.out))
    }
}

/// `.bashrc`, `.zshrc`, `.bash_profile`, … (21.03 kept them for the session's own use).
fn is_shell_config(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let stem = rest
        .strip_suffix("_profile")
        .or_else(|| rest.strip_suffix("rc"));
    stem.is_some_and(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

fn check_mount_path(key: &str, path: &Value) -> Result<()> {
    let Value::String(path) = path else {
        return if path.is_null() {
            Ok(())
        } else {
            Err(invalid(key, "value is not a string"))
        };
    };
    let Some(name) = path.strip_prefix(MOUNT_ROOT) else {
        return Err(Error::InvalidInput(format!(
            "Path {path} should start with {MOUNT_ROOT}"
        )));
    };
    let reserved = RESERVED_FOLDER_NAMES.contains(&name) || is_shell_config(name);
    if reserved {
        return Err(Error::InvalidInput(format!(
            "Path {path} is reserved for internal operations."
        )));
    }
    Ok(())
}

/// Checks a session (task) template and fills in its defaults (21.03's `task_template_v1`).
pub fn check_task_template(doc: Map<String, Value>) -> Result<Value> {
    let mut top = Fields::of("", Some(Value::Object(doc)), true)?.expect("required");
    top.string(&["api_version", "apiVersion"], true)?;
    top.choice(&["kind"], &["taskTemplate", "task_template"], None)?;
    let mut metadata = Fields::of("metadata", top.take(&["metadata"]), true)?.expect("required");
    metadata.string(&["name"], true)?;
    metadata.string(&["tag"], false)?;
    top.nested("metadata", Some(metadata.finish(false)?));

    let mut spec = Fields::of("spec", top.take(&["spec"]), true)?.expect("required");
    spec.choice(
        &["session_type", "type", "sessionType"],
        &["interactive", "batch"],
        Some("interactive"),
    )?;
    let mut kernel = Fields::of("spec.kernel", spec.take(&["kernel"]), true)?.expect("required");
    kernel.string(&["image"], true)?;
    kernel.string_map("environ")?;
    let run = match Fields::of("spec.kernel.run", kernel.take(&["run"]), false)? {
        Some(mut run) => {
            run.string(&["bootstrap"], false)?;
            run.string(&["startup_command", "startup", "startupCommand"], false)?;
            Some(run.finish(false)?)
        }
        None => None,
    };
    kernel.nested("run", run);
    let git = match Fields::of("spec.kernel.git", kernel.take(&["git"]), false)? {
        Some(mut git) => {
            git.string(&["repository"], true)?;
            git.string(&["commit"], false)?;
            git.string(&["branch"], false)?;
            let credential = match Fields::of(
                "spec.kernel.git.credential",
                git.take(&["credential"]),
                false,
            )? {
                Some(mut c) => {
                    c.string(&["username"], true)?;
                    c.string(&["password"], true)?;
                    Some(c.finish(false)?)
                }
                None => None,
            };
            git.nested("credential", credential);
            git.string(&["dest_dir", "destination_dir", "destinationDir"], false)?;
            Some(git.finish(false)?)
        }
        None => None,
    };
    kernel.nested("git", git);
    spec.nested("kernel", Some(kernel.finish(false)?));
    if let Some(mounts) = spec.mapping("mounts", Value::Object(Map::new()))? {
        for (folder, path) in &mounts {
            check_mount_path(&format!("spec.mounts.{folder}"), path)?;
        }
    }
    spec.mapping("resources", Value::Null)?;
    // 21.03 refused it here but read it when creating sessions from templates.
    spec.string(&["scaling_group"], false)?;
    top.nested("spec", Some(spec.finish(false)?));
    top.finish(true)
}

/// Checks a cluster template and fills in its defaults (21.03's `cluster_template_v1`).
pub fn check_cluster_template(doc: Map<String, Value>) -> Result<Value> {
    let mut top = Fields::of("", Some(Value::Object(doc)), true)?.expect("required");
    top.string(&["api_version", "apiVersion"], true)?;
    top.choice(&["kind"], &["clusterTemplate", "cluster_template"], None)?;
    top.choice(&["mode"], &["single-node", "multi-node"], None)?;
    let mut metadata = Fields::of("metadata", top.take(&["metadata"]), true)?.expect("required");
    metadata.string(&["name"], true)?;
    top.nested("metadata", Some(metadata.finish(false)?));
    let mut spec = Fields::of("spec", top.take(&["spec"]), true)?.expect("required");
    spec.string_map("environ")?;
    spec.mapping("mounts", Value::Object(Map::new()))?;
    let nodes = match spec.take(&["nodes"]) {
        Some(Value::Array(nodes)) => nodes,
        None => return Err(invalid("spec.nodes", "is required")),
        Some(_) => return Err(invalid("spec.nodes", "must be a list")),
    };
    let mut roles: Vec<String> = Vec::new();
    let mut checked = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.into_iter().enumerate() {
        let path = format!("spec.nodes.{i}");
        let mut n = Fields::of(&path, Some(node), true)?.expect("required");
        let role = n.string(&["role"], true)?.unwrap_or_default();
        let template = n
            .string(&["session_template", "sessionTemplate"], true)?
            .unwrap_or_default();
        let template = Uuid::parse_str(&template)
            .map_err(|_| invalid(&format!("{path}.session_template"), "is not a UUID"))?;
        n.out
            .insert("session_template".into(), Value::from(template.to_string()));
        let replicas = match n.take(&["replicas"]) {
            None | Some(Value::Null) => 1,
            Some(Value::Number(v)) if v.as_i64().is_some() => v.as_i64().unwrap_or(1),
            Some(_) => return Err(invalid(&format!("{path}.replicas"), "is not an integer")),
        };
        n.out.insert("replicas".into(), Value::from(replicas));
        if roles.contains(&role) {
            return Err(Error::InvalidInput(
                "Each role can only be defined once".into(),
            ));
        }
        if role == MAIN_ROLE && replicas != 1 {
            return Err(Error::InvalidInput(
                "One and only one main node must be created per cluster".into(),
            ));
        }
        roles.push(role);
        checked.push(n.finish(false)?);
    }
    if !roles.iter().any(|r| r == MAIN_ROLE) {
        return Err(Error::InvalidInput(
            "One and only one main node must be created per cluster".into(),
        ));
    }
    spec.out.insert("nodes".into(), Value::Array(checked));
    top.nested("spec", Some(spec.finish(false)?));
    top.finish(true)
}

/// Checks a template of `kind`.
pub fn check(kind: TemplateType, doc: Map<String, Value>) -> Result<Value> {
    match kind {
        TemplateType::Task => check_task_template(doc),
        TemplateType::Cluster => check_cluster_template(doc),
    }
}

fn template_name(template: &Value) -> Option<String> {
    template["metadata"]["name"].as_str().map(str::to_owned)
}

/// A created template's id and owner.
pub struct Created {
    pub id: Uuid,
    pub user: Uuid,
}

/// Creates a template owned by `owner` in the group named `group` of `domain`. Users create in
/// their own domain and groups they belong to, admins in their own domain, superadmins
/// anywhere (as 21.03; creating for oneself counts as a user).
pub async fn create(
    db: &DatabaseConnection,
    owner: &ActingFor,
    domain: &str,
    group: &str,
    kind: TemplateType,
    payload: &str,
) -> Result<Created> {
    let template = check(kind, parse_payload(payload)?)?;
    let owner_domain = owner.domain_name.clone().unwrap_or_default();
    let active_domain = domains::Entity::find_by_id(owner_domain.as_str())
        .filter(domains::Column::IsActive.eq(true))
        .one(db)
        .await?;
    if active_domain.is_none() {
        return Err(Error::InvalidInput("Invalid domain".into()));
    }
    let role = if owner.is_caller {
        UserRole::User
    } else {
        owner.role
    };
    if role != UserRole::Superadmin && domain != owner_domain {
        return Err(Error::InvalidInput(match role {
            UserRole::Admin => "You can only set the domain to the owner's domain.".into(),
            _ => "You can only set the domain to your domain.".into(),
        }));
    }
    let mut q = groups::Entity::find()
        .select_only()
        .column(groups::Column::Id)
        .filter(groups::Column::DomainName.eq(domain))
        .filter(groups::Column::Name.eq(group))
        .filter(groups::Column::IsActive.eq(true));
    if !matches!(role, UserRole::Superadmin | UserRole::Admin) {
        q = q
            .inner_join(association_groups_users::Entity)
            .filter(association_groups_users::Column::UserId.eq(owner.user_uuid));
    }
    let group_id: Uuid = q
        .into_tuple()
        .one(db)
        .await?
        .ok_or_else(|| Error::InvalidInput("Invalid group".into()))?;
    let id = Uuid::new_v4();
    session_templates::Entity::insert(session_templates::ActiveModel {
        id: Set(id),
        created_at: Set(Some(Utc::now().into())),
        is_active: Set(Some(true)),
        domain_name: Set(domain.to_owned()),
        group_id: Set(Some(group_id)),
        user_uuid: Set(owner.user_uuid),
        r#type: Set(kind),
        name: Set(template_name(&template)),
        template: Set(template),
    })
    .exec_without_returning(db)
    .await?;
    Ok(Created {
        id,
        user: owner.user_uuid,
    })
}

/// A template as `GET /template/*` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub id: Uuid,
    pub name: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub is_owner: bool,
    pub user: Option<Uuid>,
    pub group: Option<Uuid>,
    pub user_email: Option<String>,
    pub group_name: Option<String>,
}

async fn caller_groups(db: &DatabaseConnection, caller: &Identity) -> Result<Vec<Uuid>> {
    let q = if caller.role == UserRole::Admin {
        groups::Entity::find()
            .select_only()
            .column(groups::Column::Id)
            .filter(groups::Column::DomainName.eq(caller.domain_name.clone()))
            .into_tuple()
            .all(db)
            .await?
    } else {
        association_groups_users::Entity::find()
            .select_only()
            .column(association_groups_users::Column::GroupId)
            .filter(association_groups_users::Column::UserId.eq(caller.user_uuid))
            .into_tuple()
            .all(db)
            .await?
    };
    Ok(q)
}

type Row = (
    Uuid,
    Option<String>,
    Option<chrono::DateTime<chrono::FixedOffset>>,
    Uuid,
    Option<Uuid>,
    Option<String>,
    Option<String>,
);

async fn rows(db: &DatabaseConnection, kind: TemplateType, filter: Condition) -> Result<Vec<Row>> {
    Ok(session_templates::Entity::find()
        .select_only()
        .columns([
            session_templates::Column::Id,
            session_templates::Column::Name,
            session_templates::Column::CreatedAt,
            session_templates::Column::UserUuid,
            session_templates::Column::GroupId,
        ])
        .expr(Expr::cust(
            "(SELECT email FROM users WHERE users.uuid = session_templates.user_uuid)",
        ))
        .expr(Expr::cust(
            "(SELECT name FROM groups WHERE groups.id = session_templates.group_id)",
        ))
        .filter(session_templates::Column::IsActive.eq(true))
        .filter(session_templates::Column::Type.eq(kind))
        .filter(filter)
        .into_tuple()
        .all(db)
        .await?)
}

/// The caller's templates, then those of their groups (all of their domain's for admins);
/// with `all`, superadmins see every template.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Identity,
    kind: TemplateType,
    all: bool,
    group_id: Option<Uuid>,
) -> Result<Vec<Listed>> {
    let in_group = |c: Condition| match group_id {
        Some(g) => c.add(session_templates::Column::GroupId.eq(g)),
        None => c,
    };
    let listed = |r: Row, is_owner: bool, email: bool, group: bool| Listed {
        id: r.0,
        name: r.1,
        created_at: r.2.map(|t| t.with_timezone(&Utc)),
        is_owner,
        user: Some(r.3),
        group: r.4,
        user_email: if email { r.5 } else { None },
        group_name: if group { r.6 } else { None },
    };
    if all && caller.role == UserRole::Superadmin {
        let found = rows(db, kind, Condition::all()).await?;
        return Ok(found
            .into_iter()
            .map(|r| {
                let own = r.3 == caller.user_uuid;
                listed(r, own, true, true)
            })
            .collect());
    }
    let own = rows(
        db,
        kind,
        in_group(Condition::all().add(session_templates::Column::UserUuid.eq(caller.user_uuid))),
    )
    .await?;
    let groups = caller_groups(db, caller).await?;
    let shared = rows(
        db,
        kind,
        in_group(
            Condition::all()
                .add(session_templates::Column::GroupId.is_in(groups))
                .add(session_templates::Column::UserUuid.ne(caller.user_uuid)),
        ),
    )
    .await?;
    let admin = caller.role == UserRole::Admin;
    Ok(own
        .into_iter()
        .map(|r| listed(r, true, true, false))
        .chain(shared.into_iter().map(|r| listed(r, admin, false, true)))
        .collect())
}

async fn find(
    db: &DatabaseConnection,
    kind: TemplateType,
    id: Uuid,
) -> Result<session_templates::Model> {
    session_templates::Entity::find_by_id(id)
        .filter(session_templates::Column::IsActive.eq(true))
        .filter(session_templates::Column::Type.eq(kind))
        .one(db)
        .await?
        .ok_or(Error::Named(Named::TaskTemplateNotFound, None))
}

/// Whether `caller` may change `t`: its owner, an admin of its domain, or a superadmin.
fn may_change(caller: &Identity, t: &session_templates::Model) -> bool {
    match caller.role {
        UserRole::Superadmin => true,
        UserRole::Admin => caller.domain_name.as_deref() == Some(t.domain_name.as_str()),
        _ => t.user_uuid == caller.user_uuid,
    }
}

/// Whether `caller` may read `t`: whoever may change it, and the members of its group.
async fn may_read(
    db: &DatabaseConnection,
    caller: &Identity,
    t: &session_templates::Model,
) -> Result<bool> {
    if may_change(caller, t) {
        return Ok(true);
    }
    match t.group_id {
        Some(g) => super::groups::is_member(db, caller.user_uuid, g).await,
        None => Ok(false),
    }
}

/// A template's document (stored as a JSON object, or as a JSON string by older schemas).
pub async fn get(
    db: &DatabaseConnection,
    caller: &Identity,
    kind: TemplateType,
    id: Uuid,
) -> Result<Value> {
    let t = find(db, kind, id).await?;
    if !may_read(db, caller, &t).await? {
        return Err(Error::Named(Named::TaskTemplateNotFound, None));
    }
    Ok(match t.template {
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        other => other,
    })
}

/// Replaces a template's document.
pub async fn put(
    db: &DatabaseConnection,
    caller: &Identity,
    kind: TemplateType,
    id: Uuid,
    payload: &str,
) -> Result<()> {
    let t = find(db, kind, id).await?;
    if !may_change(caller, &t) {
        return Err(Error::Forbidden(Some(
            "Only the owner, the domain's admins and superadmins may change a template".into(),
        )));
    }
    let template = check(kind, parse_payload(payload)?)?;
    session_templates::Entity::update_many()
        .col_expr(
            session_templates::Column::Name,
            Expr::value(template_name(&template)),
        )
        .col_expr(session_templates::Column::Template, Expr::value(template))
        .filter(session_templates::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a template (it stays in the table, inactive, as in 21.03).
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Identity,
    kind: TemplateType,
    id: Uuid,
) -> Result<()> {
    let t = find(db, kind, id).await?;
    if !may_change(caller, &t) {
        return Err(Error::Forbidden(Some(
            "Only the owner, the domain's admins and superadmins may delete a template".into(),
        )));
    }
    session_templates::Entity::update_many()
        .col_expr(session_templates::Column::IsActive, Expr::value(false))
        .filter(session_templates::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A document as YAML (for `format=yaml`).
pub fn to_yaml(template: &Value) -> Result<String> {
    serde_yaml::to_string(template).map_err(|e| Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(doc: Value) -> Result<Value> {
        check_task_template(doc.as_object().unwrap().clone())
    }

    #[test]
    fn task_templates_get_their_defaults() {
        let checked = task(json!({
            "apiVersion": "6", "kind": "taskTemplate", "note": "kept",
            "metadata": {"name": "x"},
            "spec": {"kernel": {"image": "python:3.6", "run": {"startupCommand": "ls"}}},
        }))
        .unwrap();
        assert_eq!(
            checked,
            json!({
                "api_version": "6", "kind": "taskTemplate",
                "metadata": {"name": "x", "tag": null},
                "spec": {"session_type": "interactive",
                         "kernel": {"image": "python:3.6", "environ": {},
                                    "run": {"bootstrap": null, "startup_command": "ls"}, "git": null},
                         "mounts": {}, "resources": null, "scaling_group": null},
                "note": "kept",
            })
        );
        // The stored form checks again (21.03 refused its own output).
        assert_eq!(task(checked.clone()).unwrap(), checked);
    }

    #[test]
    fn task_template_errors_name_the_field() {
        let base = |spec: Value| json!({"api_version": "6", "kind": "taskTemplate", "metadata": {"name": "x"}, "spec": spec});
        let err = |doc| task(doc).unwrap_err().to_string();
        assert_eq!(err(base(json!({}))), "spec.kernel: is required");
        assert_eq!(
            err(base(json!({"kernel": {"image": ""}}))),
            "spec.kernel.image: blank value is not allowed"
        );
        assert_eq!(
            err(base(json!({"kernel": {"image": "a", "gpu": 1}}))),
            "spec.kernel.gpu: is not an allowed key"
        );
        assert_eq!(
            err(base(
                json!({"kernel": {"image": "a"}, "mounts": {"data": "/tmp/data"}})
            )),
            "Path /tmp/data should start with /home/work/"
        );
        assert_eq!(
            err(base(
                json!({"kernel": {"image": "a"}, "mounts": {"d": "/home/work/.bashrc"}})
            )),
            "Path /home/work/.bashrc is reserved for internal operations."
        );
        assert!(task(base(
            json!({"kernel": {"image": "a"}, "mounts": {"d": "/home/work/data"}})
        ))
        .is_ok());
        assert_eq!(
            err(json!({"kind": "taskTemplate"})),
            "api_version: is required"
        );
    }

    #[test]
    fn cluster_templates_need_one_main_node() {
        let doc = |nodes: Value| {
            json!({"api_version": "6", "kind": "clusterTemplate", "mode": "multi-node",
                   "metadata": {"name": "c"}, "spec": {"nodes": nodes}})
            .as_object()
            .unwrap()
            .clone()
        };
        let t = "6b0a4f5e00004000800000000000000a";
        let ok = check_cluster_template(doc(json!([
            {"role": "main", "sessionTemplate": t},
            {"role": "worker", "session_template": t, "replicas": 3},
        ])))
        .unwrap();
        assert_eq!(
            ok["spec"]["nodes"][0]["session_template"],
            "6b0a4f5e-0000-4000-8000-00000000000a"
        );
        assert_eq!(ok["spec"]["nodes"][0]["replicas"], 1);
        let err = |nodes| check_cluster_template(doc(nodes)).unwrap_err().to_string();
        assert_eq!(
            err(json!([])),
            "One and only one main node must be created per cluster"
        );
        assert_eq!(
            err(json!([{"role": "main", "session_template": t, "replicas": 2}])),
            "One and only one main node must be created per cluster"
        );
        assert_eq!(
            err(
                json!([{"role": "main", "session_template": t}, {"role": "main", "session_template": t}])
            ),
            "Each role can only be defined once"
        );
    }

    #[test]
    fn payloads_are_json_or_yaml_mappings() {
        assert!(parse_payload("{\"a\": 1}").is_ok());
        assert_eq!(parse_payload("a: 1\nb: [x]").unwrap()["b"], json!(["x"]));
        assert_eq!(
            parse_payload("[1]").unwrap_err().to_string(),
            "Malformed payload: the template must be a mapping"
        );
        assert_eq!(
            parse_payload("a: [").unwrap_err().to_string(),
            "Malformed payload"
        );
    }
}
