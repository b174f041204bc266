//! `User`, `UserGroup`, `UserInfo` and `UserList`.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use entities::enums::UserStatus;
use entities::users;
use sea_orm::ActiveEnum;
use uuid::Uuid;

use super::items::{clamp_count, Items};
use super::loaders::{load, prime, GroupsOfUser};
use super::scalars::DateTime;

#[derive(Clone)]
pub struct User(pub Arc<users::Model>);

impl From<users::Model> for User {
    fn from(m: users::Model) -> Self {
        User(Arc::new(m))
    }
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UserGroup {
    pub id: Option<Uuid>,
    pub name: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UserInfo {
    pub email: Option<String>,
    pub full_name: Option<String>,
}

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl User {
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<Option<ID>> {
        Ok(Some(ID(self.0.uuid.to_string())))
    }
    async fn uuid(&self) -> Option<Uuid> {
        Some(self.0.uuid)
    }
    async fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        Some(&self.0.email)
    }
    async fn need_password_change(&self) -> Option<bool> {
        self.0.need_password_change
    }
    async fn full_name(&self) -> Option<&str> {
        self.0.full_name.as_deref()
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn is_active(&self) -> Option<bool> {
        Some(self.0.status == UserStatus::Active)
    }
    async fn status(&self) -> Option<String> {
        Some(self.0.status.to_value())
    }
    async fn status_info(&self) -> Option<&str> {
        self.0.status_info.as_deref()
    }
    async fn created_at(&self) -> Option<DateTime> {
        self.0.created_at.map(DateTime)
    }
    async fn modified_at(&self) -> Option<DateTime> {
        self.0.modified_at.map(DateTime)
    }
    async fn domain_name(&self) -> Option<&str> {
        self.0.domain_name.as_deref()
    }
    async fn role(&self) -> Option<String> {
        self.0.role.map(|r| r.to_value())
    }
    async fn groups(&self, ctx: &Context<'_>) -> Result<Option<Vec<Option<UserGroup>>>> {
        let groups = load(ctx, GroupsOfUser(self.0.uuid)).await?;
        Ok(Some(
            groups
                .into_iter()
                .map(|(id, name)| {
                    Some(UserGroup {
                        id: Some(id),
                        name: Some(name),
                    })
                })
                .collect(),
        ))
    }
}

pub struct UserList {
    pub items: Vec<User>,
    pub total_count: i64,
}

impl UserList {
    pub fn new((rows, total_count): (Vec<users::Model>, i64)) -> Self {
        UserList {
            items: rows.into_iter().map(User::from).collect(),
            total_count,
        }
    }
}

#[Object(rename_fields = "snake_case")]
impl UserList {
    pub async fn items(&self, ctx: &Context<'_>) -> Result<Items<User>> {
        prime(
            ctx,
            &["groups"],
            self.items.iter().map(|u| GroupsOfUser(u.0.uuid)),
        )
        .await;
        Ok(Items(self.items.clone()))
    }
    pub async fn total_count(&self, _ctx: &Context<'_>) -> Result<i32> {
        Ok(clamp_count(self.total_count))
    }
}
