//! 21.03's two interfaces: `Item` (anything with an `id`) and `PaginatedList` (`items` and
//! `total_count`), which every `*List` type implements with `items` of its own item type.

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{
    ContextSelectionSet, Interface, OutputType, Positioned, ServerResult, Value, ID,
};

use super::agent::{Agent, AgentList};
use super::keypair::{KeyPair, KeyPairList};
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

impl<T: OutputType> OutputType for Items<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<Option<T>> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<Option<T>> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<Option<T>> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_list(ctx, field, &self.0, Some(self.0.len())).await
    }
}

/// `total_count` is an `Int` (32 bits) in 21.03's schema.
pub fn clamp_count(count: i64) -> i32 {
    count.clamp(0, i32::MAX.into()) as i32
}
