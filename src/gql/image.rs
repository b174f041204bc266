//! `Image`, `KVPair` and `ResourceLimit`: container images as the etcd image registry
//! describes them.

use async_graphql::SimpleObject;

use super::scalars::BigInt;

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Image {
    pub name: Option<String>,
    pub humanized_name: Option<String>,
    pub tag: Option<String>,
    pub registry: Option<String>,
    pub digest: Option<String>,
    pub labels: Option<Vec<Option<KVPair>>>,
    pub aliases: Option<Vec<Option<String>>>,
    pub size_bytes: Option<BigInt>,
    pub resource_limits: Option<Vec<Option<ResourceLimit>>>,
    pub supported_accelerators: Option<Vec<Option<String>>>,
    pub installed: Option<bool>,
    pub installed_agents: Option<Vec<Option<String>>>,
    pub hash: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "KVPair", rename_fields = "snake_case")]
pub struct KVPair {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ResourceLimit {
    pub key: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
}
