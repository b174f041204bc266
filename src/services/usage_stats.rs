//! Resource usage reports over kernels (21.03 `api/resource.py`): per group and container for
//! a month or a period of days, and 15-minute bins of the last 30 days. Figures come from the
//! kernels' allocations and their last statistics (`last_stat`), as 21.03 computed them.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entities::ResourceSlot;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value as SqlValue};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{Error, Result};

/// The longest period `usage/period` reports, in days (end date included).
pub const MAX_PERIOD_DAYS: i64 = 100;
/// The width of a bin of the monthly statistics.
const BIN_SECONDS: i64 = 15 * 60;
/// How far back the monthly statistics reach.
const STATS_DAYS: i64 = 30;

/// Days in the cluster's time zone: from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

fn invalid_dates() -> Error {
    Error::InvalidInput("Invalid date values".into())
}

impl Period {
    /// A month given as `YYYYMM`.
    pub fn month(yyyymm: &str) -> Result<Period> {
        let start = NaiveDate::parse_from_str(&format!("{yyyymm}01"), "%Y%m%d")
            .map_err(|_| invalid_dates())?;
        let end = start
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(invalid_dates)?;
        Ok(Period { start, end })
    }

    /// The days from `start` to `end` (`YYYYMMDD`, both included), at most
    /// [`MAX_PERIOD_DAYS`].
    pub fn days(start: &str, end: &str) -> Result<Period> {
        let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y%m%d").map_err(|_| invalid_dates());
        let start = parse(start)?;
        let end = parse(end)?.succ_opt().ok_or_else(invalid_dates)?;
        if (end - start).num_days() > MAX_PERIOD_DAYS {
            return Err(Error::InvalidInput(format!(
                "Cannot query more than {MAX_PERIOD_DAYS} days"
            )));
        }
        if end <= start {
            return Err(Error::InvalidInput(
                "end_date must be later than start_date.".into(),
            ));
        }
        Ok(Period { start, end })
    }
}

/// One kernel's usage (21.03's `c_info`, keys in its order).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContainerUsage {
    pub id: String,
    pub container_id: Option<String>,
    pub domain_name: String,
    pub group_id: String,
    pub group_name: String,
    pub name: Option<String>,
    pub access_key: Option<String>,
    pub email: Option<String>,
    pub agent: Option<String>,
    pub cpu_allocated: f64,
    pub cpu_used: f64,
    pub mem_allocated: i64,
    pub mem_used: i64,
    pub shared_memory: i64,
    pub disk_allocated: i64,
    pub disk_used: i64,
    pub io_read: i64,
    pub io_write: i64,
    pub used_time: Option<String>,
    pub used_days: Option<i32>,
    pub device_type: Vec<String>,
    pub smp: f64,
    pub gpu_mem_allocated: f64,
    pub gpu_allocated: f64,
    pub nfs: Option<Vec<String>>,
    pub image_id: Option<String>,
    pub image_name: Option<String>,
    pub created_at: String,
    pub terminated_at: String,
    pub status: String,
    pub status_changed: String,
}

/// A group's usage: the sums over its kernels, and the kernels.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupUsage {
    pub domain_name: String,
    pub g_id: String,
    pub g_name: String,
    pub g_cpu_allocated: f64,
    pub g_cpu_used: f64,
    pub g_mem_allocated: i64,
    pub g_mem_used: i64,
    pub g_shared_memory: i64,
    pub g_disk_allocated: i64,
    pub g_disk_used: i64,
    pub g_io_read: i64,
    pub g_io_write: i64,
    pub g_device_type: Vec<String>,
    pub g_smp: f64,
    pub g_gpu_mem_allocated: f64,
    pub g_gpu_allocated: f64,
    pub c_infos: Vec<ContainerUsage>,
}

impl GroupUsage {
    fn new(c: &ContainerUsage) -> GroupUsage {
        GroupUsage {
            domain_name: c.domain_name.clone(),
            g_id: c.group_id.clone(),
            g_name: c.group_name.clone(),
            g_cpu_allocated: 0.0,
            g_cpu_used: 0.0,
            g_mem_allocated: 0,
            g_mem_used: 0,
            g_shared_memory: 0,
            g_disk_allocated: 0,
            g_disk_used: 0,
            g_io_read: 0,
            g_io_write: 0,
            g_device_type: Vec::new(),
            g_smp: 0.0,
            g_gpu_mem_allocated: 0.0,
            g_gpu_allocated: 0.0,
            c_infos: Vec::new(),
        }
    }

    fn add(&mut self, c: ContainerUsage) {
        self.g_cpu_allocated += c.cpu_allocated;
        self.g_cpu_used += c.cpu_used;
        self.g_mem_allocated += c.mem_allocated;
        self.g_mem_used += c.mem_used;
        self.g_shared_memory += c.shared_memory;
        self.g_disk_allocated += c.disk_allocated;
        self.g_disk_used += c.disk_used;
        self.g_io_read += c.io_read;
        self.g_io_write += c.io_write;
        for d in &c.device_type {
            if !self.g_device_type.contains(d) {
                self.g_device_type.push(d.clone());
            }
        }
        self.g_smp += c.smp;
        self.g_gpu_mem_allocated += c.gpu_mem_allocated;
        self.g_gpu_allocated += c.gpu_allocated;
        self.c_infos.push(c);
    }
}

/// The number at `path` of a statistics document (numbers or decimal strings), zero when
/// absent or unreadable.
fn number_at(doc: Option<&Value>, path: &[&str]) -> f64 {
    let mut node = doc;
    for key in path {
        node = node.and_then(|n| n.get(key));
    }
    match node {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn slot_f64(slots: &ResourceSlot, slot: &str) -> Option<f64> {
    match slots.get(slot)? {
        entities::resource_slot::SlotAmount::Finite(d) => d.to_f64(),
        _ => None,
    }
}

/// Python's `str(datetime)` of a UTC timestamp (`2021-06-01 03:04:05.123456+00:00`).
pub fn python_datetime(at: Option<DateTime<Utc>>) -> String {
    match at {
        None => "None".to_owned(),
        Some(at) if at.timestamp_subsec_micros() == 0 => {
            at.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
        }
        Some(at) => at.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string(),
    }
}

/// Python's `str(timedelta)`: `5:03:01.250000`, `1 day, 2:00:00`, `-1 day, 23:59:59`.
pub fn python_timedelta(delta: Duration) -> String {
    let micros_total = delta.num_microseconds().unwrap_or(i64::MAX);
    let day = 86_400_000_000i64;
    let days = micros_total.div_euclid(day);
    let rest = micros_total.rem_euclid(day);
    let (secs, micros) = (rest / 1_000_000, rest % 1_000_000);
    let clock = format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60);
    let clock = if micros == 0 {
        clock
    } else {
        format!("{clock}.{micros:06}")
    };
    match days {
        0 => clock,
        1 | -1 => format!("{days} day, {clock}"),
        _ => format!("{days} days, {clock}"),
    }
}

const CONTAINER_QUERY: &str = "\
SELECT k.id, k.container_id, k.domain_name, k.group_id, g.name, k.session_name, k.access_key, \
       u.email, k.agent, k.occupied_slots, k.last_stat, k.resource_opts, k.attached_devices, \
       to_jsonb(k.mounts), k.image, k.created_at, k.terminated_at, k.status::text, \
       k.status_changed, \
       ((k.terminated_at AT TIME ZONE $3)::date - (k.created_at AT TIME ZONE $3)::date + 1)::int4 \
FROM kernels k JOIN groups g ON g.id = k.group_id JOIN users u ON u.uuid = k.user_uuid \
WHERE ((k.terminated_at >= ($1::date::timestamp AT TIME ZONE $3) \
        AND k.created_at < ($2::date::timestamp AT TIME ZONE $3) \
        AND k.status IN ('TERMINATED', 'RUNNING')) \
       OR (k.created_at < ($2::date::timestamp AT TIME ZONE $3) AND k.status = 'RUNNING'))";

/// The usage of kernels that ran during `period` (in the time zone `tz`), by group in order of
/// first appearance; only in `group_ids` when some are given.
pub async fn containers(
    db: &DatabaseConnection,
    tz: &str,
    period: Period,
    group_ids: &[Uuid],
) -> Result<Vec<GroupUsage>> {
    let mut sql = CONTAINER_QUERY.to_owned();
    let mut values: Vec<SqlValue> = vec![
        period.start.to_string().into(),
        period.end.to_string().into(),
        tz.into(),
    ];
    if !group_ids.is_empty() {
        let marks: Vec<String> = (0..group_ids.len())
            .map(|i| format!("${}", i + 4))
            .collect();
        sql.push_str(&format!(" AND k.group_id IN ({})", marks.join(", ")));
        values.extend(group_ids.iter().map(|g| SqlValue::from(*g)));
    }
    sql.push_str(" ORDER BY k.terminated_at ASC");
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await?;
    let mut groups: Vec<GroupUsage> = Vec::new();
    for row in rows {
        let c = container_usage(&row)?;
        match groups.iter_mut().find(|g| g.g_id == c.group_id) {
            Some(g) => g.add(c),
            None => {
                let mut g = GroupUsage::new(&c);
                g.add(c);
                groups.push(g);
            }
        }
    }
    Ok(groups)
}

fn container_usage(row: &sea_orm::QueryResult) -> Result<ContainerUsage> {
    let get_json = |i: usize| -> Result<Option<Value>> { Ok(row.try_get_by_index(i)?) };
    let id: Uuid = row.try_get_by_index(0)?;
    let group_id: Uuid = row.try_get_by_index(3)?;
    let slots: ResourceSlot = row.try_get_by_index(9)?;
    let last_stat = get_json(10)?;
    let resource_opts = get_json(11)?;
    let devices = get_json(12)?;
    let mounts = get_json(13)?;
    let image: Option<String> = row.try_get_by_index(14)?;
    let created_at: Option<DateTime<Utc>> = row.try_get_by_index(15)?;
    let terminated_at: Option<DateTime<Utc>> = row.try_get_by_index(16)?;
    let status_changed: Option<DateTime<Utc>> = row.try_get_by_index(18)?;
    let stat = last_stat.as_ref();
    let gpus: Vec<&Value> = devices
        .as_ref()
        .and_then(|d| d.get("cuda"))
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default();
    let mut device_type: Vec<String> = Vec::new();
    for gpu in &gpus {
        if let Some(model) = gpu.get("model_name").and_then(Value::as_str) {
            if !device_type.iter().any(|d| d == model) {
                device_type.push(model.to_owned());
            }
        }
    }
    let nfs = mounts.as_ref().and_then(Value::as_array).map(|list| {
        list.iter()
            .filter_map(|m| m.get(1).and_then(Value::as_str).map(str::to_owned))
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect()
    });
    let used_time = match (created_at, terminated_at) {
        (Some(c), Some(t)) => Some(python_timedelta(t - c)),
        _ => None,
    };
    Ok(ContainerUsage {
        id: id.to_string(),
        container_id: row.try_get_by_index(1)?,
        domain_name: row.try_get_by_index(2)?,
        group_id: group_id.to_string(),
        group_name: row.try_get_by_index(4)?,
        name: row.try_get_by_index(5)?,
        access_key: row.try_get_by_index(6)?,
        email: row.try_get_by_index(7)?,
        agent: row.try_get_by_index(8)?,
        cpu_allocated: slot_f64(&slots, "cpu").unwrap_or(0.0),
        cpu_used: number_at(stat, &["cpu_used", "current"]),
        mem_allocated: slot_f64(&slots, "mem").unwrap_or(0.0) as i64,
        mem_used: number_at(stat, &["mem", "capacity"]) as i64,
        shared_memory: number_at(resource_opts.as_ref(), &["shmem"]) as i64,
        disk_allocated: 0,
        disk_used: number_at(stat, &["io_scratch_size", "stats.max"]) as i64,
        io_read: number_at(stat, &["io_read", "current"]) as i64,
        io_write: number_at(stat, &["io_write", "current"]) as i64,
        used_days: if terminated_at.is_some() {
            row.try_get_by_index(19)?
        } else {
            None
        },
        used_time,
        device_type,
        smp: gpus.iter().map(|g| number_at(Some(g), &["smp"])).sum(),
        gpu_mem_allocated: gpus.iter().map(|g| number_at(Some(g), &["mem"])).sum(),
        gpu_allocated: slot_f64(&slots, "cuda.shares")
            .or_else(|| slot_f64(&slots, "cuda.device"))
            .unwrap_or(0.0),
        nfs,
        image_id: image.clone(),
        image_name: image,
        created_at: python_datetime(created_at),
        terminated_at: python_datetime(terminated_at),
        status: row.try_get_by_index(17)?,
        status_changed: python_datetime(status_changed),
    })
}

/// One 15-minute bin of the monthly statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsBin {
    /// The bin's start, in seconds since the epoch.
    pub date: f64,
    pub num_sessions: i64,
    pub cpu_allocated: i64,
    pub mem_allocated: i64,
    pub gpu_allocated: f64,
    pub io_read_bytes: i64,
    pub io_write_bytes: i64,
    pub disk_used: i64,
}

/// 15-minute bins of the last 30 days, of `user`'s kernels or everyone's. As in 21.03, each
/// kernel counts in the first bin it overlaps, read in order of creation.
pub async fn monthly_bins(db: &DatabaseConnection, user: Option<Uuid>) -> Result<Vec<StatsBin>> {
    let now = Utc::now();
    let start = now - Duration::days(STATS_DAYS);
    let mut sql = "SELECT created_at, terminated_at, occupied_slots, last_stat FROM kernels \
                   WHERE terminated_at >= $1 AND status IN ('TERMINATED', 'RUNNING')"
        .to_owned();
    let mut values: Vec<SqlValue> = vec![start.into()];
    if let Some(user) = user {
        sql.push_str(" AND user_uuid = $2");
        values.push(user.into());
    }
    sql.push_str(" ORDER BY created_at ASC");
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await?;
    struct Row {
        created: i64,
        terminated: i64,
        slots: ResourceSlot,
        stat: Option<Value>,
    }
    let rows = rows
        .iter()
        .map(|r| {
            let created: Option<DateTime<Utc>> = r.try_get_by_index(0)?;
            let terminated: Option<DateTime<Utc>> = r.try_get_by_index(1)?;
            Ok(Row {
                created: created.map_or(0, |t| t.timestamp()),
                terminated: terminated.map_or(0, |t| t.timestamp()),
                slots: r.try_get_by_index(2)?,
                stat: r.try_get_by_index(3)?,
            })
        })
        .collect::<Result<Vec<Row>, sea_orm::DbErr>>()?;
    let mut bins = Vec::new();
    let mut next = 0;
    let mut ts = start.timestamp();
    while ts < now.timestamp() {
        let mut bin = StatsBin {
            date: ts as f64,
            ..StatsBin::default()
        };
        while let Some(row) = rows.get(next) {
            if !(ts + BIN_SECONDS > row.created && ts < row.terminated) {
                break;
            }
            bin.num_sessions += 1;
            bin.cpu_allocated += slot_f64(&row.slots, "cpu").unwrap_or(0.0) as i64;
            bin.mem_allocated += slot_f64(&row.slots, "mem").unwrap_or(0.0) as i64;
            bin.gpu_allocated += slot_f64(&row.slots, "cuda.device").map_or(0.0, f64::trunc)
                + slot_f64(&row.slots, "cuda.shares").unwrap_or(0.0);
            if let Some(stat) = &row.stat {
                bin.io_read_bytes += number_at(Some(stat), &["io_read", "current"]) as i64;
                bin.io_write_bytes += number_at(Some(stat), &["io_write", "current"]) as i64;
                bin.disk_used += number_at(Some(stat), &["io_scratch_size", "stats.max"]) as i64;
            }
            next += 1;
        }
        bins.push(bin);
        ts += BIN_SECONDS;
    }
    Ok(bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timedeltas_print_as_python() {
        assert_eq!(python_timedelta(Duration::seconds(303)), "0:05:03");
        assert_eq!(
            python_timedelta(Duration::milliseconds(303_250)),
            "0:05:03.250000"
        );
        assert_eq!(python_timedelta(Duration::hours(26)), "1 day, 2:00:00");
        assert_eq!(python_timedelta(Duration::hours(50)), "2 days, 2:00:00");
        assert_eq!(python_timedelta(Duration::seconds(-1)), "-1 day, 23:59:59");
    }

    #[test]
    fn periods_as_21_03_bounds_them() {
        let p = Period::month("202012").unwrap();
        assert_eq!(
            (p.start.to_string(), p.end.to_string()),
            ("2020-12-01".into(), "2021-01-01".into())
        );
        assert!(Period::month("202013").is_err());
        let p = Period::days("20210101", "20210101").unwrap();
        assert_eq!(p.end.to_string(), "2021-01-02");
        assert!(Period::days("20210101", "20210410").is_ok()); // 100 days with the end
        let e = Period::days("20210101", "20210411").unwrap_err();
        assert_eq!(e.to_string(), "Cannot query more than 100 days");
        let e = Period::days("20210105", "20210101").unwrap_err();
        assert_eq!(e.to_string(), "end_date must be later than start_date.");
        assert_eq!(
            Period::days("20210230", "20210301")
                .unwrap_err()
                .to_string(),
            "Invalid date values"
        );
    }
}
