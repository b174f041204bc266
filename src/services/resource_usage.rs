//! What a keypair may still allocate, and the recount of what agents and keypairs occupy
//! (21.03 `api/resource.py`: `check-presets`, `recalculate-usage`).
//!
//! Amounts follow 21.03's `ResourceSlot`: slots missing on one side count as zero, limits a
//! policy leaves out are unlimited (groups, domains) or as the keypair policy says, and
//! keypair, group and domain usage count kernels that hold resources for their user (not
//! those terminating), while agents' usage counts everything still on an agent.

use std::collections::{BTreeMap, HashMap};

use entities::enums::{AgentStatus, DefaultForUnspecified, KernelStatus};
use entities::resource_slot::{SlotAmount, SlotError};
use entities::{agents, domains, groups, kernels, keypairs, resource_presets, ResourceSlot};
use sea_orm::sea_query::Expr;
use sea_orm::ActiveEnum;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::auth::Identity;
use super::groups::GroupRef;
use super::sessions::ACTIVE_STATUSES;
use super::{scaling_groups, Error, Result};
use crate::db::{self, RetryPolicy};

/// Slot name → unit (`count`, `bytes`, `unique`), as the shared configuration knows them.
pub type KnownSlots = BTreeMap<String, String>;

/// Kernel statuses that count against their user's limits: those holding resources, except
/// the ones already terminating (21.03's `USER_RESOURCE_OCCUPYING_KERNEL_STATUSES`).
pub fn user_occupying_statuses() -> Vec<KernelStatus> {
    ACTIVE_STATUSES
        .iter()
        .filter(|s| **s != KernelStatus::Terminating)
        .cloned()
        .collect()
}

fn slot_error(e: SlotError) -> Error {
    Error::Internal(format!("resource arithmetic failed: {e}"))
}

fn zeros(known: &KnownSlots) -> ResourceSlot {
    known
        .keys()
        .map(|k| (k.clone(), SlotAmount::ZERO))
        .collect()
}

/// `slots` with every known slot present (missing ones as zero).
fn with_known(slots: &ResourceSlot, known: &KnownSlots) -> Result<ResourceSlot> {
    slots.checked_add(&zeros(known)).map_err(slot_error)
}

/// `slots` without the slots nobody knows.
fn only_known(slots: &ResourceSlot, known: &KnownSlots) -> ResourceSlot {
    slots
        .iter()
        .filter(|(k, _)| known.contains_key(*k))
        .collect()
}

/// A policy's limits over the known slots (21.03's `ResourceSlot.from_policy`): counts are
/// rounded to three decimals, and slots the policy leaves out are unlimited or zero.
pub fn limits_from_policy(
    policy: &ResourceSlot,
    unspecified_unlimited: bool,
    known: &KnownSlots,
) -> ResourceSlot {
    known
        .iter()
        .map(|(slot, unit)| {
            let amount = match policy.get(slot) {
                Some(SlotAmount::Finite(d)) if unit != "bytes" => {
                    SlotAmount::Finite(d.round_dp(3).normalize())
                }
                Some(other) => other,
                None if unspecified_unlimited => SlotAmount::Infinity,
                None => SlotAmount::ZERO,
            };
            (slot.clone(), amount)
        })
        .collect()
}

/// Lowers each known slot of `slots` to `cap`'s where that is smaller.
fn cap_known(slots: &mut ResourceSlot, cap: &ResourceSlot, known: &KnownSlots) {
    for slot in known.keys() {
        if let Some(mine) = slots.get(slot) {
            slots.insert(slot.clone(), mine.min(cap.amount(slot)));
        }
    }
}

/// What the kernels in user-occupying statuses occupy: those of a keypair, of a group and of
/// a domain. One pass over the kernels, summed by PostgreSQL (a domain has thousands); slot
/// amounts that are not plain numbers are left out, and so are slots nobody knows.
struct Occupancy {
    keypair: ResourceSlot,
    group: ResourceSlot,
    domain: ResourceSlot,
}

async fn occupancy(
    conn: &impl ConnectionTrait,
    access_key: &str,
    group: Uuid,
    domain: &str,
    known: &KnownSlots,
) -> Result<Occupancy> {
    let statuses: Vec<String> = user_occupying_statuses()
        .iter()
        .map(|s| format!("'{}'", s.to_value()))
        .collect();
    let sql = format!(
        "SELECT s.key, \
           (sum(s.value::numeric) FILTER (WHERE k.access_key = $1))::text, \
           (sum(s.value::numeric) FILTER (WHERE k.group_id = $2))::text, \
           (sum(s.value::numeric) FILTER (WHERE k.domain_name = $3))::text \
         FROM kernels k CROSS JOIN LATERAL jsonb_each_text(k.occupied_slots) s \
         WHERE k.status IN ({}) AND (k.access_key = $1 OR k.group_id = $2 OR k.domain_name = $3) \
           AND s.value ~ '^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$' \
         GROUP BY s.key",
        statuses.join(", ")
    );
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            conn.get_database_backend(),
            sql,
            [access_key.into(), group.into(), domain.into()],
        ))
        .await?;
    let mut occupancy = Occupancy {
        keypair: ResourceSlot::new(),
        group: ResourceSlot::new(),
        domain: ResourceSlot::new(),
    };
    for row in rows {
        let slot: String = row.try_get_by_index(0)?;
        if !known.contains_key(&slot) {
            continue;
        }
        let targets = [
            &mut occupancy.keypair,
            &mut occupancy.group,
            &mut occupancy.domain,
        ];
        for (i, target) in targets.into_iter().enumerate() {
            let total: Option<String> = row.try_get_by_index(i + 1)?;
            if let Some(amount) = total.and_then(|t| t.parse::<SlotAmount>().ok()) {
                target.insert(slot.clone(), amount);
            }
        }
    }
    Ok(occupancy)
}

/// Limits, usage and what remains of one holder (keypair or group).
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub limits: ResourceSlot,
    pub using: ResourceSlot,
    pub remaining: ResourceSlot,
}

impl Standing {
    fn new(limits: ResourceSlot, using: ResourceSlot) -> Result<Standing> {
        let remaining = limits.checked_sub(&using).map_err(slot_error)?;
        // 21.03's subtraction gave both sides every slot of the other.
        let using = using
            .checked_add(&zeros_like(&limits))
            .map_err(slot_error)?;
        Ok(Standing {
            limits,
            using,
            remaining,
        })
    }
}

fn zeros_like(slots: &ResourceSlot) -> ResourceSlot {
    slots.iter().map(|(k, _)| (k, SlotAmount::ZERO)).collect()
}

/// A scaling group's usage by the caller and what its agents have left.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingGroupStanding {
    pub name: String,
    pub using: ResourceSlot,
    pub remaining: ResourceSlot,
}

/// A preset and whether some agent could take it within the caller's limits now.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetAvailability {
    pub preset: Preset,
    pub allocatable: bool,
}

/// A resource preset over the known slots (unknown slots dropped, missing ones zero).
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub name: String,
    pub resource_slots: ResourceSlot,
    pub shared_memory: Option<i64>,
}

async fn known_presets(conn: &impl ConnectionTrait, known: &KnownSlots) -> Result<Vec<Preset>> {
    let presets = resource_presets::Entity::find().all(conn).await?;
    presets
        .into_iter()
        .map(|p| {
            Ok(Preset {
                resource_slots: with_known(&only_known(&p.resource_slots, known), known)?,
                name: p.name,
                shared_memory: p.shared_memory,
            })
        })
        .collect()
}

/// The etcd key that lets users see their group's limits and usage in `check-presets`.
const GROUP_VISIBILITY_KEY: &str = "config/api/resources/group_resource_visibility";

/// Whether group figures are shown: a boolean in 21.03's spellings, off unless set.
pub async fn group_figures_visible(etcd: &crate::config::etcd::Etcd) -> Result<bool> {
    let raw = etcd.get(GROUP_VISIBILITY_KEY).await?;
    Ok(raw.is_some_and(|v| crate::config::reader::parse_bool(&v).unwrap_or(false)))
}

/// What `check-presets` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetCheck {
    /// The keypair's own limits and usage; `remaining` is also bounded by the group's and
    /// the domain's.
    pub keypair: Standing,
    pub scaling_group_remaining: ResourceSlot,
    pub scaling_groups: Vec<ScalingGroupStanding>,
    pub presets: Vec<PresetAvailability>,
    /// `None` where the cluster hides group figures (`config/api/resources/
    /// group_resource_visibility`, off by default).
    pub group: Option<Standing>,
    pub known: KnownSlots,
}

/// `POST /resource/check-presets` for `caller`, in the group named `group` of the caller's
/// domain, optionally in one scaling group.
pub async fn check_presets(
    db: &DatabaseConnection,
    caller: &Identity,
    known: KnownSlots,
    group: &str,
    scaling_group: Option<&str>,
    show_group: bool,
) -> Result<PresetCheck> {
    let caller = caller.clone();
    let group = group.to_owned();
    let scaling_group = scaling_group.map(str::to_owned);
    db::read_only(db, move |txn| {
        Box::pin(async move {
            check_presets_in(txn, &caller, known, &group, scaling_group, show_group).await
        })
    })
    .await
}

async fn check_presets_in(
    txn: &impl ConnectionTrait,
    caller: &Identity,
    known: KnownSlots,
    group: &str,
    scaling_group: Option<String>,
    show_group: bool,
) -> Result<PresetCheck> {
    let domain = caller.domain_name.clone().unwrap_or_default();
    // The group, which must be one of the caller's in their domain (21.03 looked it up in
    // any domain and failed with a 500 when there was none).
    let group_ref = GroupRef::Name(group.to_owned());
    let group_id = match super::groups::resolve(txn, Some(&domain), &group_ref).await? {
        Some((id, _)) if super::groups::is_member(txn, caller.user_uuid, id).await? => id,
        _ => return Err(Error::InvalidInput("Unknown user group".into())),
    };
    let used = occupancy(txn, &caller.access_key, group_id, &domain, &known).await?;

    // The keypair.
    let policy = &caller.resource_policy;
    let unlimited = policy.default_for_unspecified == DefaultForUnspecified::Unlimited;
    let keypair_limits = limits_from_policy(&policy.total_resource_slots, unlimited, &known);
    let mut keypair = Standing::new(keypair_limits, used.keypair)?;

    // The group.
    let group_slots: Option<ResourceSlot> = groups::Entity::find_by_id(group_id)
        .select_only()
        .column(groups::Column::TotalResourceSlots)
        .into_tuple()
        .one(txn)
        .await?
        .flatten();
    let group_standing = Standing::new(
        limits_from_policy(&group_slots.unwrap_or_default(), true, &known),
        used.group,
    )?;

    // The domain: it only bounds what remains.
    let domain_slots: Option<ResourceSlot> = domains::Entity::find_by_id(domain.as_str())
        .select_only()
        .column(domains::Column::TotalResourceSlots)
        .into_tuple()
        .one(txn)
        .await?
        .flatten();
    let domain_standing = Standing::new(
        limits_from_policy(&domain_slots.unwrap_or_default(), true, &known),
        used.domain,
    )?;
    cap_known(&mut keypair.remaining, &group_standing.remaining, &known);
    cap_known(&mut keypair.remaining, &domain_standing.remaining, &known);

    // Scaling groups.
    let allowed = scaling_groups::allowed(txn, &domain, Some(group_id), &caller.access_key).await?;
    let names = match scaling_group {
        Some(sg) if allowed.contains(&sg) => vec![sg],
        Some(_) => return Err(Error::InvalidInput("Unknown scaling group".into())),
        None => allowed,
    };
    let mut per_group: Vec<ScalingGroupStanding> = names
        .iter()
        .map(|name| ScalingGroupStanding {
            name: name.clone(),
            using: zeros(&known),
            remaining: zeros(&known),
        })
        .collect();
    let index: HashMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), i))
        .collect();
    let used: Vec<(ResourceSlot, Option<String>)> = kernels::Entity::find()
        .select_only()
        .columns([
            kernels::Column::OccupiedSlots,
            kernels::Column::ScalingGroup,
        ])
        .filter(kernels::Column::UserUuid.eq(caller.user_uuid))
        .filter(kernels::Column::Status.is_in(ACTIVE_STATUSES.iter().cloned()))
        .filter(kernels::Column::ScalingGroup.is_in(names.iter().cloned()))
        .into_tuple()
        .all(txn)
        .await?;
    for (slots, sg) in used {
        if let Some(&i) = sg.as_ref().and_then(|sg| index.get(sg)) {
            per_group[i].using = per_group[i].using.checked_add(&slots).map_err(slot_error)?;
        }
    }
    let agent_rows: Vec<(ResourceSlot, ResourceSlot, String)> = agents::Entity::find()
        .select_only()
        .columns([
            agents::Column::AvailableSlots,
            agents::Column::OccupiedSlots,
            agents::Column::ScalingGroup,
        ])
        .filter(agents::Column::Status.eq(AgentStatus::Alive))
        .filter(agents::Column::ScalingGroup.is_in(names.iter().cloned()))
        .into_tuple()
        .all(txn)
        .await?;
    let mut scaling_group_remaining = zeros(&known);
    let mut agent_left = Vec::with_capacity(agent_rows.len());
    for (available, occupied, sg) in agent_rows {
        let left = with_known(
            &available.checked_sub(&occupied).map_err(slot_error)?,
            &known,
        )?;
        scaling_group_remaining = scaling_group_remaining
            .checked_add(&left)
            .map_err(slot_error)?;
        if let Some(&i) = index.get(&sg) {
            per_group[i].remaining = per_group[i]
                .remaining
                .checked_add(&left)
                .map_err(slot_error)?;
        }
        agent_left.push(left);
    }
    for standing in &mut per_group {
        cap_known(&mut standing.remaining, &keypair.remaining, &known);
    }
    cap_known(&mut scaling_group_remaining, &keypair.remaining, &known);

    // Presets: allocatable when one agent has room for it and the caller's limits allow it.
    let presets = known_presets(txn, &known)
        .await?
        .into_iter()
        .map(|preset| {
            let slots = &preset.resource_slots;
            let allocatable = agent_left
                .iter()
                .any(|left| left.ge(slots) && keypair.remaining.ge(slots));
            PresetAvailability {
                preset,
                allocatable,
            }
        })
        .collect();

    Ok(PresetCheck {
        keypair,
        scaling_group_remaining,
        scaling_groups: per_group,
        presets,
        group: show_group.then_some(group_standing),
        known,
    })
}

/// The presets as `GET /resource/presets` lists them.
pub async fn presets(db: &DatabaseConnection, known: &KnownSlots) -> Result<Vec<Preset>> {
    known_presets(db, known).await
}

/// What a recount changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recount {
    pub agents: usize,
    pub keypairs: usize,
}

/// Recomputes each agent's occupied slots and each keypair's concurrency from the kernels
/// (21.03's `recalc_resource_usage`; since #531 also run after a session fails to start).
/// Kernels without an agent or a keypair are skipped, where 21.03's reset of the others then
/// matched nothing.
pub async fn recalculate(db: &DatabaseConnection) -> Result<Recount> {
    db::serializable(db, RetryPolicy::default(), |txn| {
        Box::pin(async move {
            let rows: Vec<(Option<String>, Option<String>, ResourceSlot, KernelStatus)> =
                kernels::Entity::find()
                    .select_only()
                    .columns([
                        kernels::Column::AccessKey,
                        kernels::Column::Agent,
                        kernels::Column::OccupiedSlots,
                        kernels::Column::Status,
                    ])
                    .filter(kernels::Column::Status.is_in(ACTIVE_STATUSES.iter().cloned()))
                    .into_tuple()
                    .all(txn)
                    .await?;
            let user_statuses = user_occupying_statuses();
            let mut per_agent: BTreeMap<String, ResourceSlot> = BTreeMap::new();
            let mut per_keypair: BTreeMap<String, i32> = BTreeMap::new();
            for (access_key, agent, slots, status) in rows {
                if let Some(agent) = agent {
                    let base = [("cpu", SlotAmount::ZERO), ("mem", SlotAmount::ZERO)];
                    let total = per_agent
                        .entry(agent)
                        .or_insert_with(|| base.into_iter().collect());
                    *total = total.checked_add(&slots).map_err(slot_error)?;
                }
                if let Some(access_key) = access_key.filter(|_| user_statuses.contains(&status)) {
                    *per_keypair.entry(access_key).or_default() += 1;
                }
            }
            for (access_key, count) in &per_keypair {
                keypairs::Entity::update_many()
                    .col_expr(keypairs::Column::ConcurrencyUsed, Expr::value(*count))
                    .filter(keypairs::Column::AccessKey.eq(access_key.as_str()))
                    .exec(txn)
                    .await?;
            }
            keypairs::Entity::update_many()
                .col_expr(keypairs::Column::ConcurrencyUsed, Expr::value(0))
                .filter(keypairs::Column::ConcurrencyUsed.ne(0))
                .filter(keypairs::Column::AccessKey.is_not_in(per_keypair.keys().cloned()))
                .exec(txn)
                .await?;
            for (agent, slots) in &per_agent {
                agents::Entity::update_many()
                    .col_expr(agents::Column::OccupiedSlots, Expr::value(slots.clone()))
                    .filter(agents::Column::Id.eq(agent.as_str()))
                    .exec(txn)
                    .await?;
            }
            agents::Entity::update_many()
                .col_expr(
                    agents::Column::OccupiedSlots,
                    Expr::value(ResourceSlot::new()),
                )
                .filter(agents::Column::Status.eq(AgentStatus::Alive))
                .filter(agents::Column::Id.is_not_in(per_agent.keys().cloned()))
                .exec(txn)
                .await?;
            Ok(Recount {
                agents: per_agent.len(),
                keypairs: per_keypair.len(),
            })
        })
    })
    .await
}
