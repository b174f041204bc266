//! Domain errors as GraphQL errors, with the message graphene gave 21.03's exceptions.

use crate::services::Error;

pub fn to_gql(e: &Error) -> async_graphql::Error {
    async_graphql::Error::new(e.problem().message())
}

/// `?` on service results inside resolvers.
pub trait OrGql<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> OrGql<T> for Result<T, Error> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| to_gql(&e))
    }
}
