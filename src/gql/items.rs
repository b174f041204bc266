//! 21.03's two interfaces: `Item` (anything with an `id`) and `PaginatedList` (`items` and
//! `total_count`), which every `*List` type implements with `items` of its own item type.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::ContainerType;
use async_graphql::{
    ContextSelectionSet, Interface, Name, OutputType, Positioned, ServerResult, Value, ID,
};

use super::agent::{Agent, AgentList};
use super::keypair::{KeyPair, KeyPairList};
use super::response;
use super::session::{
    ComputeContainer, ComputeContainerList, ComputeSession, ComputeSessionList,
    LegacyComputeSession, LegacyComputeSessionList,
};
use super::storage::{StorageVolume, StorageVolumeList};
use super::user::{User, UserList};
use super::vfolder::{VirtualFolder, VirtualFolderList};

#[derive(Interface)]
#[graphql(field(name = "id", ty = "Option<ID>"))]
pub enum Item {
    Agent(Agent),
    ComputeContainer(ComputeContainer),
    ComputeSession(ComputeSession),
    KeyPair(KeyPair),
    LegacyComputeSession(LegacyComputeSession),
    StorageVolume(StorageVolume),
    User(User),
    VirtualFolder(VirtualFolder),
}

#[derive(Interface)]
#[graphql(
    rename_fields = "snake_case",
    field(name = "items", ty = "AnyItems"),
    field(name = "total_count", ty = "i32")
)]
pub enum PaginatedList {
    AgentList(AgentList),
    ComputeContainerList(ComputeContainerList),
    ComputeSessionList(ComputeSessionList),
    KeyPairList(KeyPairList),
    LegacyComputeSessionList(LegacyComputeSessionList),
    StorageVolumeList(StorageVolumeList),
    UserList(UserList),
    VirtualFolderList(VirtualFolderList),
}

/// The items of one page: a non-null list of nullable `T` (`[T]!`), as 21.03 declares them.
/// A type of our own, so that each list's items convert into the interface's `[Item]!`.
pub struct Items<T>(pub Vec<T>);

/// Marks a request whose document selects an object field twice under one key somewhere: its
/// items are answered as values, which the engine can merge, not as written JSON.
pub struct MergedSelections;

/// The interface's `items`: `[Item]!`.
pub struct AnyItems(Items<Item>);

impl<T: Into<Item>> From<Items<T>> for AnyItems {
    fn from(items: Items<T>) -> Self {
        AnyItems(Items(items.0.into_iter().map(Into::into).collect()))
    }
}

impl OutputType for AnyItems {
    fn type_name() -> Cow<'static, str> {
        Items::<Item>::type_name()
    }

    fn qualified_type_name() -> String {
        Items::<Item>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Items::<Item>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        self.0.resolve(ctx, field).await
    }
}

impl<T: ContainerType> OutputType for Items<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<Option<T>> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<Option<T>> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<Option<T>> as OutputType>::create_type_info(registry)
    }

    /// Pages are what the admin API serves most, so their items are resolved leaner than the
    /// engine resolves objects: the selection (fragments expanded) is worked out once per item
    /// type rather than per item, each item's fields are resolved one after the other instead
    /// of as a boxed future each (items still resolve side by side, so loads batch), and each
    /// item is written as JSON at once (see `response`) instead of as a tree of values to be
    /// written later. The schema registers no extensions, which this path would bypass.
    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let mut selections: Vec<(Cow<'static, str>, Vec<&Positioned<Field>>)> = Vec::new();
        for item in &self.0 {
            let type_name = item.introspection_type_name();
            if !selections.iter().any(|(name, _)| *name == type_name) {
                let fields = selected_fields::<T>(ctx, &type_name);
                selections.push((type_name, fields));
            }
        }
        let fields_of = |item: &T| {
            let type_name = item.introspection_type_name();
            selections
                .iter()
                .find(|(name, _)| *name == type_name)
                .map(|(_, fields)| fields.as_slice())
                .unwrap_or_default()
        };
        // A key selected twice merges its answers, which needs them as values.
        if ctx.data_opt::<MergedSelections>().is_some()
            || selections
                .iter()
                .any(|(_, fields)| has_repeated_keys(fields))
        {
            let items = self.0.iter().enumerate().map(|(idx, item)| {
                let ctx_idx = ctx.with_index(idx);
                async move { resolve_fields(&ctx_idx, item, fields_of(item)).await }
            });
            return Ok(Value::List(futures::future::join_all(items).await));
        }
        let items = self.0.iter().enumerate().map(|(idx, item)| {
            let ctx_idx = ctx.with_index(idx);
            async move { write_fields(&ctx_idx, item, fields_of(item)).await }
        });
        let items = futures::future::join_all(items).await;
        Ok(Value::List(
            items
                .into_iter()
                .map(|item| response::raw(item.into()))
                .collect(),
        ))
    }
}

fn has_repeated_keys(fields: &[&Positioned<Field>]) -> bool {
    fields.iter().enumerate().any(|(i, field)| {
        let key = field.node.response_key();
        fields[..i]
            .iter()
            .any(|f| f.node.response_key().node == key.node)
    })
}

/// The fields selected of an object of `type_name` (listed as `T`), fragments expanded where
/// their type condition holds.
fn selected_fields<'a, T: OutputType>(
    ctx: &ContextSelectionSet<'a>,
    type_name: &str,
) -> Vec<&'a Positioned<Field>> {
    let registry = &ctx.schema_env.registry;
    let applies = |condition: Option<&Name>| match condition {
        None => true,
        Some(c) => {
            c.as_str() == type_name
                || *c == *T::type_name()
                || registry
                    .implements
                    .get(type_name)
                    .is_some_and(|interfaces| interfaces.contains(c.as_str()))
        }
    };
    let mut fields = Vec::new();
    let mut pending = vec![ctx.item.node.items.iter()];
    while let Some(selections) = pending.last_mut() {
        let Some(selection) = selections.next() else {
            pending.pop();
            continue;
        };
        match &selection.node {
            Selection::Field(field) => fields.push(field),
            Selection::FragmentSpread(spread) => {
                let fragment = ctx.query_env.fragments.get(&spread.node.fragment_name.node);
                if let Some(fragment) = fragment {
                    if applies(Some(&fragment.node.type_condition.node.on.node)) {
                        pending.push(fragment.node.selection_set.node.items.iter());
                    }
                }
            }
            Selection::InlineFragment(inline) => {
                let condition = inline.node.type_condition.as_ref().map(|c| &c.node.on.node);
                if applies(condition) {
                    pending.push(inline.node.selection_set.node.items.iter());
                }
            }
        }
    }
    fields
}

/// Resolves `fields` of `object` in order. A failed field is left out with its error, and a
/// field selected twice merges its answers, as the engine does.
async fn resolve_fields<T: ContainerType>(
    ctx: &ContextSelectionSet<'_>,
    object: &T,
    fields: &[&Positioned<Field>],
) -> Value {
    let mut answer = IndexMap::with_capacity(fields.len());
    for field in fields {
        let key = field.node.response_key().node.clone();
        let value = if field.node.name.node == "__typename" {
            Value::String(object.introspection_type_name().into_owned())
        } else {
            match object.resolve_field(&ctx.with_field(field)).await {
                Ok(value) => value.unwrap_or_default(),
                Err(e) => {
                    ctx.add_error(e);
                    continue;
                }
            }
        };
        merge_into(&mut answer, key, value);
    }
    if answer.is_empty() {
        Value::Null
    } else {
        Value::Object(answer)
    }
}

/// `fields` of `object` written as a JSON object, in order. A failed field is `null` beside
/// its error (as graphene answered); an object whose every field failed is `null`.
async fn write_fields<T: ContainerType>(
    ctx: &ContextSelectionSet<'_>,
    object: &T,
    fields: &[&Positioned<Field>],
) -> Vec<u8> {
    // All answers first, so that the item is written into a buffer of its size.
    let mut answers = Vec::with_capacity(fields.len());
    for field in fields {
        let answer = if field.node.name.node == "__typename" {
            Some(Value::String(object.introspection_type_name().into_owned()))
        } else {
            match object.resolve_field(&ctx.with_field(field)).await {
                Ok(value) => Some(value.unwrap_or_default()),
                Err(e) => {
                    ctx.add_error(e);
                    None
                }
            }
        };
        answers.push(answer);
    }
    if answers.iter().all(Option::is_none) {
        return b"null".to_vec();
    }
    let keys = fields.iter().map(|f| f.node.response_key().node.as_str());
    let len: usize = keys
        .clone()
        .zip(&answers)
        .map(|(key, answer)| key.len() + 4 + answer.as_ref().map_or(4, response::len_hint))
        .sum();
    let mut out = Vec::with_capacity(len + 2);
    out.push(b'{');
    for (i, (key, answer)) in keys.zip(&answers).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        response::write_str(&mut out, key);
        out.push(b':');
        match answer {
            Some(value) => response::write_value(&mut out, value),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    out
}

fn merge_into(answer: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    match (answer.get_mut(&key), read_back(value)) {
        (Some(Value::Object(known)), Value::Object(more)) => {
            for (k, v) in more {
                merge_into(known, k, v);
            }
        }
        (Some(Value::List(known)), Value::List(more)) => {
            for (known, more) in known.iter_mut().zip(more) {
                if let (Value::Object(known), Value::Object(more)) = (known, more) {
                    for (k, v) in more {
                        merge_into(known, k, v);
                    }
                }
            }
        }
        (Some(_), _) => {}
        (None, value) => {
            answer.insert(key, value);
        }
    }
}

/// `value` with its pieces already written as JSON (nested items, see `response::raw`) read
/// back into values, so that answers of a key selected twice can be merged.
fn read_back(value: Value) -> Value {
    match value {
        Value::Binary(json) => serde_json::from_slice(&json)
            .and_then(Value::from_json)
            .unwrap_or(Value::Null),
        Value::List(items) => Value::List(items.into_iter().map(read_back).collect()),
        Value::Object(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, read_back(v))).collect())
        }
        other => other,
    }
}

/// `total_count` is an `Int` (32 bits) in 21.03's schema.
pub fn clamp_count(count: i64) -> i32 {
    count.clamp(0, i32::MAX.into()) as i32
}
