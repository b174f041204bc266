//! `Image`, `KVPair` and `ResourceLimit`: container images as the etcd image registry
//! describes them.

use async_graphql::SimpleObject;

use super::scalars::BigInt;
use crate::services::images::ImageInfo;

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

impl From<ImageInfo> for Image {
    fn from(i: ImageInfo) -> Self {
        let some_strings = |v: Vec<String>| Some(v.into_iter().map(Some).collect());
        Image {
            humanized_name: Some(i.image.name.clone()),
            name: Some(i.image.name),
            tag: Some(i.image.tag),
            registry: Some(i.image.registry),
            hash: i.digest.clone(),
            digest: i.digest,
            labels: Some(
                i.labels
                    .into_iter()
                    .map(|(key, value)| {
                        Some(KVPair {
                            key: Some(key),
                            value: Some(value),
                        })
                    })
                    .collect(),
            ),
            aliases: some_strings(i.aliases),
            size_bytes: Some(BigInt(i.size_bytes)),
            resource_limits: Some(
                i.resource_limits
                    .into_iter()
                    .map(|(key, min, max)| {
                        Some(ResourceLimit {
                            key: Some(key),
                            min: Some(min),
                            max: Some(max),
                        })
                    })
                    .collect(),
            ),
            supported_accelerators: some_strings(i.supported_accelerators),
            installed: Some(i.installed),
            installed_agents: i.installed_agents.and_then(some_strings),
        }
    }
}
