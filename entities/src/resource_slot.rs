//! Resource slots: a map of slot name (`cpu`, `mem`, `cuda.device`, …) to an exact amount.
//!
//! Stored as JSONB exactly as 21.03 stores it: an object of decimal strings printed without
//! exponent (`{"cpu": "1", "mem": "1073741824"}`), with `"Infinity"` for an unlimited amount.
//! Arithmetic and comparison follow 21.03's `ResourceSlot` and never go through floats.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use sea_orm::FromJsonQueryResult;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// An exact amount of one resource slot; 21.03 uses infinity for "unlimited".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotAmount {
    Finite(Decimal),
    Infinity,
    NegInfinity,
}

impl SlotAmount {
    pub const ZERO: SlotAmount = SlotAmount::Finite(Decimal::ZERO);

    pub fn is_zero(self) -> bool {
        matches!(self, SlotAmount::Finite(d) if d.is_zero())
    }

    pub fn is_finite(self) -> bool {
        matches!(self, SlotAmount::Finite(_))
    }

    /// `None` on overflow and on `∞ - ∞` (which 21.03's decimal context rejects as well).
    pub fn checked_add(self, other: SlotAmount) -> Option<SlotAmount> {
        use SlotAmount::*;
        match (self, other) {
            (Finite(a), Finite(b)) => a.checked_add(b).map(Finite),
            (Infinity, NegInfinity) | (NegInfinity, Infinity) => None,
            (Infinity, _) | (_, Infinity) => Some(Infinity),
            (NegInfinity, _) | (_, NegInfinity) => Some(NegInfinity),
        }
    }

    pub fn checked_sub(self, other: SlotAmount) -> Option<SlotAmount> {
        self.checked_add(other.negated())
    }

    pub fn negated(self) -> SlotAmount {
        match self {
            SlotAmount::Finite(d) => SlotAmount::Finite(-d),
            SlotAmount::Infinity => SlotAmount::NegInfinity,
            SlotAmount::NegInfinity => SlotAmount::Infinity,
        }
    }
}

impl From<Decimal> for SlotAmount {
    fn from(d: Decimal) -> Self {
        SlotAmount::Finite(d)
    }
}

impl From<i64> for SlotAmount {
    fn from(v: i64) -> Self {
        SlotAmount::Finite(Decimal::from(v))
    }
}

impl PartialOrd for SlotAmount {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SlotAmount {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        use SlotAmount::*;
        match (self, other) {
            (Finite(a), Finite(b)) => a.cmp(b),
            (Infinity, Infinity) | (NegInfinity, NegInfinity) => Equal,
            (Infinity, _) | (_, NegInfinity) => Greater,
            (NegInfinity, _) | (_, Infinity) => Less,
        }
    }
}

/// Prints as 21.03's `_stringify_number`: plain notation, `Infinity`, `-Infinity`.
impl fmt::Display for SlotAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotAmount::Finite(d) => write!(f, "{d}"),
            SlotAmount::Infinity => f.write_str("Infinity"),
            SlotAmount::NegInfinity => f.write_str("-Infinity"),
        }
    }
}

/// Why a slot amount or a slot map could not be read or computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("slot {slot:?}: {value:?} is not a decimal number")]
    NotANumber { slot: String, value: String },
    #[error(
        "slot {slot:?}: {value:?} is not a binary size (such as 1073741824, \"512m\" or \"1.5g\")"
    )]
    NotABinarySize { slot: String, value: String },
    #[error("slot {slot:?}: the result is out of range")]
    OutOfRange { slot: String },
    #[error("unknown slot {slot:?}")]
    UnknownSlot { slot: String },
}

impl FromStr for SlotAmount {
    type Err = ();

    /// Accepts what Python's `Decimal(str)` accepts for finite and infinite values (plain and
    /// scientific notation, `Infinity`/`inf` with a sign), and rejects NaN.
    fn from_str(s: &str) -> Result<Self, ()> {
        let t = s.trim();
        let (negative, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        if body.eq_ignore_ascii_case("infinity") || body.eq_ignore_ascii_case("inf") {
            return Ok(if negative {
                SlotAmount::NegInfinity
            } else {
                SlotAmount::Infinity
            });
        }
        if body.is_empty() || !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return Err(());
        }
        let parsed = if body.contains(['e', 'E']) {
            Decimal::from_scientific(t)
        } else {
            Decimal::from_str_exact(t)
        };
        parsed.map(SlotAmount::Finite).map_err(|_| ())
    }
}

/// How a slot's amounts are written by users: a plain count, or a size in bytes that may carry a
/// binary suffix (`"4g"`). 21.03 calls these slot types `count` and `bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotUnit {
    Count,
    Bytes,
}

impl SlotUnit {
    /// 21.03's guess when no slot types are known: anything named like memory is in bytes.
    pub fn guess(slot: &str) -> SlotUnit {
        if slot.contains("mem") {
            SlotUnit::Bytes
        } else {
            SlotUnit::Count
        }
    }
}

/// Parses a binary size as 21.03's `BinarySize.from_str`: an integer, or a decimal with a
/// `k/m/g/t/p/e/z/y` suffix (powers of 1024), optionally followed by `b`, `byte(s)`, `ib`,
/// `ibyte(s)`; `inf`/`infinity` is unlimited. Underscores are ignored.
pub fn parse_binary_size(input: &str) -> Option<SlotAmount> {
    let lowered = input.trim().replace('_', "").to_ascii_lowercase();
    if matches!(lowered.as_str(), "inf" | "infinite" | "infinity") {
        return Some(SlotAmount::Infinity);
    }
    if let Ok(whole) = lowered.parse::<i128>() {
        return Decimal::from_i128_with_scale(whole, 0).pipe_finite();
    }
    const ENDINGS: [&str; 6] = ["ibytes", "ibyte", "ib", "bytes", "byte", "b"];
    let stem = ENDINGS
        .iter()
        .find_map(|ending| lowered.strip_suffix(ending))
        .unwrap_or(&lowered);
    let suffix = stem.chars().last()?;
    let exponent = match suffix {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        'z' => 7,
        'y' => 8,
        ' ' => 0,
        _ => return None,
    };
    let number = stem[..stem.len() - 1].trim();
    let value = Decimal::from_str_exact(number).ok()?;
    let mut multiplier = Decimal::ONE;
    for _ in 0..exponent {
        multiplier = multiplier.checked_mul(Decimal::from(1024))?;
    }
    // Python truncates the product to an integer number of bytes.
    value.checked_mul(multiplier)?.trunc().pipe_finite()
}

trait PipeFinite {
    fn pipe_finite(self) -> Option<SlotAmount>;
}

impl PipeFinite for Decimal {
    fn pipe_finite(self) -> Option<SlotAmount> {
        Some(SlotAmount::Finite(self))
    }
}

/// A map of slot name to amount.
#[derive(Debug, Clone, Default, FromJsonQueryResult)]
pub struct ResourceSlot(BTreeMap<String, SlotAmount>);

impl ResourceSlot {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, slot: &str) -> Option<SlotAmount> {
        self.0.get(slot).copied()
    }

    /// The amount of a slot, zero when absent (21.03 treats a missing slot as zero).
    pub fn amount(&self, slot: &str) -> SlotAmount {
        self.get(slot).unwrap_or(SlotAmount::ZERO)
    }

    pub fn insert(&mut self, slot: impl Into<String>, amount: impl Into<SlotAmount>) {
        self.0.insert(slot.into(), amount.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, SlotAmount)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn union_keys<'a>(&'a self, other: &'a ResourceSlot) -> impl Iterator<Item = &'a String> {
        let mut keys: Vec<&String> = self.0.keys().chain(other.0.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
    }

    /// Slot-wise sum over the union of slots.
    pub fn checked_add(&self, other: &ResourceSlot) -> Result<ResourceSlot, SlotError> {
        self.combine(other, SlotAmount::checked_add)
    }

    /// Slot-wise difference over the union of slots.
    pub fn checked_sub(&self, other: &ResourceSlot) -> Result<ResourceSlot, SlotError> {
        self.combine(other, SlotAmount::checked_sub)
    }

    fn combine(
        &self,
        other: &ResourceSlot,
        op: fn(SlotAmount, SlotAmount) -> Option<SlotAmount>,
    ) -> Result<ResourceSlot, SlotError> {
        self.union_keys(other)
            .map(|k| {
                op(self.amount(k), other.amount(k))
                    .map(|v| (k.clone(), v))
                    .ok_or_else(|| SlotError::OutOfRange { slot: k.clone() })
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(ResourceSlot)
    }

    /// Every slot of either side is at most the other side's (missing slots count as zero).
    pub fn le(&self, other: &ResourceSlot) -> bool {
        self.union_keys(other)
            .all(|k| self.amount(k) <= other.amount(k))
    }

    /// `le` and not equal.
    pub fn lt(&self, other: &ResourceSlot) -> bool {
        self.le(other) && self != other
    }

    /// Every slot of either side is at least the other side's (missing slots count as zero).
    pub fn ge(&self, other: &ResourceSlot) -> bool {
        other.le(self)
    }

    /// `ge` and not equal.
    pub fn gt(&self, other: &ResourceSlot) -> bool {
        other.lt(self)
    }

    /// The slots both sides have are equal, and those only `other` has are zero.
    pub fn eq_contains(&self, other: &ResourceSlot) -> bool {
        other.0.iter().all(|(k, v)| match self.0.get(k) {
            Some(mine) => mine == v,
            None => v.is_zero(),
        })
    }

    /// The slots both sides have are equal, and those only `self` has are zero.
    pub fn eq_contained(&self, other: &ResourceSlot) -> bool {
        other.eq_contains(self)
    }

    /// Reads user input as 21.03's `from_user_input`: values may be numbers or strings (sizes
    /// with suffixes for byte slots), nulls are dropped. With `known`, every slot must be known
    /// and the known ones missing from the input are filled with zero.
    pub fn from_user_input(
        input: &serde_json::Map<String, serde_json::Value>,
        known: Option<&BTreeMap<String, SlotUnit>>,
    ) -> Result<ResourceSlot, SlotError> {
        let mut slots = ResourceSlot::new();
        for (slot, value) in input {
            if value.is_null() {
                continue;
            }
            let unit = match known {
                Some(known) => *known
                    .get(slot)
                    .ok_or_else(|| SlotError::UnknownSlot { slot: slot.clone() })?,
                None => SlotUnit::guess(slot),
            };
            slots.insert(slot.clone(), parse_user_amount(slot, value, unit)?);
        }
        if let Some(known) = known {
            for slot in known.keys() {
                slots.0.entry(slot.clone()).or_insert(SlotAmount::ZERO);
            }
        }
        Ok(slots)
    }
}

fn json_scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_user_amount(
    slot: &str,
    value: &serde_json::Value,
    unit: SlotUnit,
) -> Result<SlotAmount, SlotError> {
    let text = json_scalar_text(value);
    match unit {
        SlotUnit::Bytes => {
            text.as_deref()
                .and_then(parse_binary_size)
                .ok_or_else(|| SlotError::NotABinarySize {
                    slot: slot.to_owned(),
                    value: value.to_string(),
                })
        }
        SlotUnit::Count => {
            let amount = text
                .as_deref()
                .and_then(|t| t.parse::<SlotAmount>().ok())
                .ok_or_else(|| SlotError::NotANumber {
                    slot: slot.to_owned(),
                    value: value.to_string(),
                })?;
            // 21.03 quantizes counts to three decimal places and strips trailing zeros.
            Ok(match amount {
                SlotAmount::Finite(d) => SlotAmount::Finite(d.round_dp(3).normalize()),
                other => other,
            })
        }
    }
}

/// Equality as 21.03's: missing slots count as zero.
impl PartialEq for ResourceSlot {
    fn eq(&self, other: &Self) -> bool {
        self.union_keys(other)
            .all(|k| self.amount(k) == other.amount(k))
    }
}

impl Eq for ResourceSlot {}

impl<K: Into<String>, V: Into<SlotAmount>> FromIterator<(K, V)> for ResourceSlot {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        ResourceSlot(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Serialize for ResourceSlot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v.to_string())))
    }
}

/// Reads the stored form: decimal strings, and also plain JSON numbers (which older rows and
/// hand-written fixtures contain); nulls are dropped as 21.03's `from_json` drops them.
impl<'de> Deserialize<'de> for ResourceSlot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SlotsVisitor)
    }
}

/// Reads the amounts as they come (every kernel row has one of these maps, so no intermediate
/// JSON tree is built).
struct SlotsVisitor;

impl<'de> de::Visitor<'de> for SlotsVisitor {
    type Value = ResourceSlot;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of resource slot amounts")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<ResourceSlot, A::Error> {
        let mut slots = BTreeMap::new();
        while let Some(slot) = map.next_key::<String>()? {
            let StoredAmount(amount) = map.next_value()?;
            match amount {
                Some(Ok(amount)) => {
                    slots.insert(slot, amount);
                }
                Some(Err(value)) => {
                    return Err(de::Error::custom(SlotError::NotANumber { slot, value }))
                }
                None => {}
            }
        }
        Ok(ResourceSlot(slots))
    }
}

/// One stored amount: absent for null, else the amount or the offending value as JSON text.
struct StoredAmount(Option<Result<SlotAmount, String>>);

impl<'de> Deserialize<'de> for StoredAmount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;

        impl AmountVisitor {
            fn parsed(text: &str, shown: impl FnOnce() -> String) -> StoredAmount {
                StoredAmount(Some(text.parse::<SlotAmount>().map_err(|_| shown())))
            }
        }

        impl<'de> de::Visitor<'de> for AmountVisitor {
            type Value = StoredAmount;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StoredAmount, E> {
                Ok(Self::parsed(v, || serde_json::Value::from(v).to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StoredAmount, E> {
                Ok(StoredAmount(Some(Ok(SlotAmount::from(v)))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StoredAmount, E> {
                Ok(Self::parsed(&v.to_string(), || v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<StoredAmount, E> {
                let text = serde_json::Value::from(v).to_string();
                Ok(Self::parsed(&text, || text.clone()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StoredAmount, E> {
                Ok(StoredAmount(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<StoredAmount, E> {
                Ok(StoredAmount(None))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<StoredAmount, E> {
                Ok(StoredAmount(Some(Err(v.to_string()))))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<StoredAmount, A::Error> {
                let value =
                    serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(StoredAmount(Some(Err(value.to_string()))))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<StoredAmount, A::Error> {
                let value =
                    serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(StoredAmount(Some(Err(value.to_string()))))
            }
        }

        deserializer.deserialize_any(AmountVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn slots(v: serde_json::Value) -> ResourceSlot {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn stored_form_round_trips_as_strings() {
        let s =
            slots(json!({"cpu": "1.5", "mem": 1073741824, "cuda.shares": "Infinity", "x": null}));
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"cpu": "1.5", "mem": "1073741824", "cuda.shares": "Infinity"})
        );
    }

    #[test]
    fn rejects_nan_and_garbage() {
        assert!(serde_json::from_value::<ResourceSlot>(json!({"cpu": "NaN"})).is_err());
        assert!(serde_json::from_value::<ResourceSlot>(json!({"cpu": "one"})).is_err());
        assert!(serde_json::from_value::<ResourceSlot>(json!({"cpu": [1]})).is_err());
    }

    #[test]
    fn arithmetic_is_exact_and_over_the_union() {
        let a = slots(json!({"cpu": "0.1", "mem": "2"}));
        let b = slots(json!({"cpu": "0.2", "gpu": "1"}));
        let sum = a.checked_add(&b).unwrap();
        assert_eq!(sum, slots(json!({"cpu": "0.3", "mem": "2", "gpu": "1"})));
        let diff = sum.checked_sub(&b).unwrap();
        assert_eq!(diff, a);
        let inf = slots(json!({"cpu": "Infinity"}));
        assert!(inf.checked_sub(&inf).is_err());
    }

    #[test]
    fn comparisons_follow_21_03() {
        let small = slots(json!({"cpu": "1", "mem": "1"}));
        let big = slots(json!({"cpu": "2", "mem": "1", "gpu": "1"}));
        assert!(small.le(&big) && small.lt(&big) && big.ge(&small) && big.gt(&small));
        assert!(!big.le(&small));
        assert!(small.le(&small) && !small.lt(&small));
        assert!(slots(json!({"cpu": "1"})) == slots(json!({"cpu": "1", "gpu": "0"})));
        assert!(slots(json!({"cpu": "1", "gpu": "0"})).eq_contains(&slots(json!({"cpu": "1"}))));
        assert!(!slots(json!({"cpu": "1"})).eq_contains(&slots(json!({"gpu": "1"}))));
        assert!(slots(json!({"cpu": "1"})).eq_contained(&slots(json!({"cpu": "1", "gpu": "3"}))));
    }

    #[test]
    fn binary_sizes() {
        let d = |s: &str| parse_binary_size(s);
        assert_eq!(d("1024"), Some(SlotAmount::from(1024)));
        assert_eq!(d("1k"), Some(SlotAmount::from(1024)));
        assert_eq!(d("1.5g"), Some(SlotAmount::from(1610612736)));
        assert_eq!(d("2 GiB"), Some(SlotAmount::from(2147483648)));
        assert_eq!(d("512MB"), Some(SlotAmount::from(536870912)));
        assert_eq!(d("inf"), Some(SlotAmount::Infinity));
        assert_eq!(d("1.5"), None);
        assert_eq!(d("g"), None);
        assert_eq!(d("12q"), None);
        assert_eq!(d(""), None);
    }

    #[test]
    fn user_input_units_and_known_slots() {
        let input = json!({"cpu": "2.00001", "mem": "1g", "cuda.device": 1});
        let known: BTreeMap<String, SlotUnit> = [
            ("cpu".to_owned(), SlotUnit::Count),
            ("mem".to_owned(), SlotUnit::Bytes),
            ("cuda.device".to_owned(), SlotUnit::Count),
            ("cuda.shares".to_owned(), SlotUnit::Count),
        ]
        .into();
        let s = ResourceSlot::from_user_input(input.as_object().unwrap(), Some(&known)).unwrap();
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"cpu": "2", "mem": "1073741824", "cuda.device": "1", "cuda.shares": "0"})
        );
        let err =
            ResourceSlot::from_user_input(json!({"tpu": 1}).as_object().unwrap(), Some(&known));
        assert_eq!(
            err.unwrap_err(),
            SlotError::UnknownSlot { slot: "tpu".into() }
        );
        let err = ResourceSlot::from_user_input(json!({"mem": "lots"}).as_object().unwrap(), None);
        assert!(matches!(err, Err(SlotError::NotABinarySize { .. })));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsers_never_panic(s in any::<String>()) {
            let _ = parse_binary_size(&s);
            let _ = s.parse::<SlotAmount>();
        }

        #[test]
        fn stored_form_never_panics(map in proptest::collection::btree_map(any::<String>(), any::<String>(), 0..6)) {
            let _ = serde_json::from_value::<ResourceSlot>(serde_json::to_value(map).unwrap());
        }

        #[test]
        fn finite_amounts_round_trip(mantissa in any::<i64>(), scale in 0u32..12) {
            let amount = SlotAmount::Finite(Decimal::new(mantissa, scale));
            prop_assert_eq!(amount.to_string().parse::<SlotAmount>(), Ok(amount));
        }

        #[test]
        fn addition_then_subtraction_is_identity(a in any::<i32>(), b in any::<i32>()) {
            let x: ResourceSlot = [("cpu", SlotAmount::from(i64::from(a)))].into_iter().collect();
            let y: ResourceSlot = [("cpu", SlotAmount::from(i64::from(b))), ("mem", SlotAmount::from(1))].into_iter().collect();
            prop_assert_eq!(x.checked_add(&y).unwrap().checked_sub(&y).unwrap(), x);
        }
    }
}
