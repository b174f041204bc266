//! The GraphQL admin API: 21.03's schema (`schema.graphql`) over the services, with every nested
//! read batched through DataLoaders.
//!
//! Resolvers are adapters: they turn arguments into service calls and rows into objects; the
//! rules (who may see what, validation) live in `services`.

pub mod agent;
pub mod documents;
pub mod domain;
pub mod error;
pub mod group;
pub mod image;
pub mod items;
pub mod keypair;
pub mod loaders;
pub mod mutation;
pub mod policy;
pub mod query;
pub mod response;
pub mod scalars;
pub mod scaling_group;
pub mod session;
pub mod storage;
pub mod user;
pub mod variables;
pub mod vfolder;

use std::sync::LazyLock;

use async_graphql::{EmptySubscription, Request, Response, Schema};

use crate::services::auth::Identity;
use crate::AppState;

pub use mutation::Mutations;
pub use query::Queries;

pub type AdminSchema = Schema<Queries, Mutations, EmptySubscription>;

/// How deep a document may nest; 21.03's deepest sensible query (sessions → containers) is 4.
pub const MAX_DEPTH: usize = 16;
/// The most fields one document may select, counting each field of a list once.
pub const MAX_COMPLEXITY: usize = 2_000;

static SCHEMA: LazyLock<AdminSchema> = LazyLock::new(|| {
    Schema::build(Queries, Mutations, EmptySubscription)
        // No field returns the interfaces themselves; register them so that the schema lists
        // them and the types that implement them, as 21.03's does.
        .register_output_type::<items::Item>()
        .register_output_type::<items::PaginatedList>()
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
});

/// The schema; built once, shared by every request.
pub fn schema() -> &'static AdminSchema {
    &SCHEMA
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema().sdl()
}

/// What every resolver of one request can reach: the services' state and the caller.
pub struct RequestContext {
    pub state: AppState,
    pub identity: Identity,
}

impl RequestContext {
    /// Whether agent ids are hidden from this caller (`[manager] hide-agents`, non-superadmins).
    pub fn image_sources(&self) -> crate::services::images::ImageSources<'_> {
        crate::services::images::ImageSources {
            db: &self.state.db,
            etcd: &self.state.etcd,
            redis_image: &self.state.redis_image,
            hide_agents: self.hide_agents(),
        }
    }

    pub fn hide_agents(&self) -> bool {
        crate::services::scope::hides_agents(&self.identity, self.state.local.manager.hide_agents)
    }
}

/// Runs one GraphQL request for `identity`, with a fresh set of DataLoaders (their caches are
/// per request: what one caller may see is not what another may).
pub async fn execute(state: AppState, identity: Identity, request: Request) -> Response {
    // A mutation may change what authentication reads (see `services::keypair_cache`). Every
    // mutation document holds the word; a query that merely mentions it costs a cache refill.
    let may_mutate = request.query.contains("mutation");
    if may_mutate && runs_mutation(&request) {
        if let Err(refusal) = mutations_allowed(&state).await {
            return Response::from_errors(vec![async_graphql::ServerError::new(
                refusal.problem().message(),
                None,
            )]);
        }
    }
    let keypair_cache = state.keypair_cache.clone();
    let request =
        loaders::register(request, &state, &identity).data(RequestContext { state, identity });
    let mut response = schema().execute(request).await;
    if may_mutate {
        keypair_cache.forget_all();
    }
    null_failed_fields(&mut response);
    response
}

/// Whether the operation the request runs is a mutation (an unparsable document is left to the
/// engine, which reports it).
fn runs_mutation(request: &Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let operation = match (&document.operations, &request.operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()),
        (DocumentOperations::Multiple(ops), None) => ops.values().next(),
    };
    operation.is_some_and(|op| op.node.ty == OperationType::Mutation)
}

/// Mutations wait while the cluster is frozen for maintenance (21.03's
/// `GQLMutationUnfrozenRequiredMiddleware`).
async fn mutations_allowed(state: &AppState) -> crate::services::Result<()> {
    let status = state.manager_status.get(&state.etcd).await?;
    crate::services::manager::Requirement::AllAllowed.check(status)
}

/// A field whose resolver failed is `null` in `data`, beside its error (as graphene answered;
/// the engine leaves such fields out).
fn null_failed_fields(response: &mut Response) {
    use async_graphql::{Name, PathSegment, Value};
    if response.errors.iter().all(|e| e.path.is_empty()) {
        return;
    }
    if matches!(response.data, Value::Null) {
        response.data = Value::Object(Default::default());
    }
    for error in &response.errors {
        let mut node = &mut response.data;
        for (i, segment) in error.path.iter().enumerate() {
            let last = i + 1 == error.path.len();
            node = match (node, segment) {
                (Value::Object(map), PathSegment::Field(name)) => {
                    let entry = map.entry(Name::new(name)).or_insert(Value::Null);
                    if last || matches!(entry, Value::Null) {
                        break;
                    }
                    entry
                }
                (Value::List(items), PathSegment::Index(i)) if *i < items.len() => &mut items[*i],
                _ => break,
            };
        }
    }
}
