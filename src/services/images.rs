//! Container images as the etcd image registry records them (`images/…` keys), and the admin
//! operations on that record.

use uuid::Uuid;

use super::auth::Identity;
use super::mutation::Outcome;
use super::scope::{require_admin, require_superadmin};
use super::{Error, Result};
use crate::config::etcd::Etcd;
use crate::percent;

/// Aliases are followed at most this many times (21.03's bound).
const MAX_ALIAS_HOPS: usize = 8;
/// The registry of references that name none.
const DEFAULT_REGISTRY: &str = "index.docker.io";

fn etcd_error(e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("etcd: {e}"))
}

/// A parsed image reference: `registry/name:tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: String,
    pub name: String,
    pub tag: String,
}

impl ImageRef {
    /// Parses `reference` as 21.03's `ImageRef`: the first path component is the registry when
    /// it is a known one (or `index.docker.io`, or looks like a host); Docker Hub names without
    /// a namespace get `lablup/`; the tag defaults to `latest`.
    pub fn parse(reference: &str, known_registries: &[String]) -> Result<ImageRef> {
        let invalid = |why: &str| Error::InvalidInput(format!("{why}: {reference:?}"));
        if reference.contains("://") || reference.starts_with("//") {
            return Err(invalid("ImageRef should not contain the protocol scheme"));
        }
        let (registry, rest) = match reference.split_once('/') {
            Some((first, rest))
                if first == DEFAULT_REGISTRY
                    || known_registries.iter().any(|r| r == first)
                    || first.contains('.')
                    || first.contains(':')
                    || first == "localhost" =>
            {
                (first.to_owned(), rest)
            }
            _ => (DEFAULT_REGISTRY.to_owned(), reference),
        };
        let (mut name, tag) = match rest.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
            _ => (rest.to_owned(), "latest".to_owned()),
        };
        if name.is_empty() {
            return Err(invalid("Empty image repository/name"));
        }
        let tag_ok = tag.starts_with(|c: char| c.is_ascii_alphanumeric())
            && tag.ends_with(|c: char| c.is_ascii_alphanumeric())
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if !tag_ok {
            return Err(invalid("Invalid image tag"));
        }
        let docker_hub = registry == "docker.io" || registry.ends_with(".docker.io");
        if docker_hub && !name.contains('/') {
            name = format!("lablup/{name}");
        }
        Ok(ImageRef {
            registry,
            name,
            tag,
        })
    }

    /// The etcd key of this image's tag (`images/{quoted registry}/{quoted name}/{tag}`).
    pub fn tag_path(&self) -> String {
        format!(
            "images/{}/{}/{}",
            percent::encode(&self.registry),
            percent::encode(&self.name),
            self.tag
        )
    }
}

fn alias_key(alias: &str) -> String {
    format!("images/_aliases/{}", percent::encode(alias))
}

/// Follows aliases from `reference` and parses what it ends at.
async fn resolve(etcd: &Etcd, reference: &str) -> Result<ImageRef> {
    let mut current = reference.to_owned();
    for _ in 0..MAX_ALIAS_HOPS {
        match etcd.get(&alias_key(&current)).await.map_err(etcd_error)? {
            Some(target) => current = target,
            None => {
                let known: Vec<String> = etcd
                    .get_prefix_pairs("config/docker/registry/")
                    .await
                    .map_err(etcd_error)?
                    .into_iter()
                    .filter_map(|(k, _)| k.split('/').next().map(percent::decode))
                    .collect();
                return ImageRef::parse(&current, &known);
            }
        }
    }
    Err(Error::InvalidInput(
        "Failed to resolve alias: Could not resolve the given image name!".into(),
    ))
}

/// `alias_image` (superadmins): `alias` stands for `target` from now on.
pub async fn alias(
    etcd: &Etcd,
    caller: &Identity,
    alias: &str,
    target: &str,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    if alias.is_empty() || target.is_empty() {
        return Err(Error::InvalidInput(
            "alias and target must not be empty".into(),
        ));
    }
    etcd.put(&alias_key(alias), target)
        .await
        .map_err(etcd_error)?;
    Ok(Outcome::Done(()))
}

/// `dealias_image` (superadmins).
pub async fn dealias(etcd: &Etcd, caller: &Identity, alias: &str) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    etcd.delete(&alias_key(alias)).await.map_err(etcd_error)?;
    Ok(Outcome::Done(()))
}

/// `forget_image` (superadmins): drops the record of one image tag (only that tag: 21.03's
/// prefix match also dropped tags that merely began with it).
pub async fn forget(etcd: &Etcd, caller: &Identity, reference: &str) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    let image = resolve(etcd, reference).await?;
    let path = image.tag_path();
    etcd.delete(&path).await.map_err(etcd_error)?;
    etcd.delete_prefix(&format!("{path}/"))
        .await
        .map_err(etcd_error)?;
    Ok(Outcome::Done(()))
}

/// `rescan_images` (admins): reading container registries comes with the registry support of a
/// later release; until then the request is refused in the payload.
pub async fn rescan(caller: &Identity, registry: Option<String>) -> Result<Outcome<Uuid>> {
    require_admin(caller)?;
    let what = registry.map_or_else(
        || "the registries".to_owned(),
        |r| format!("registry {r:?}"),
    );
    Ok(Outcome::Refused(format!(
        "scanning {what} is not supported by this manager yet"
    )))
}

/// `preload_image` (superadmins): not implemented by 21.03 either, which answers the same.
pub async fn preload(
    caller: &Identity,
    _references: Option<Vec<String>>,
    _agents: Option<Vec<String>>,
) -> Result<Outcome<String>> {
    require_superadmin(caller)?;
    Ok(Outcome::Refused("Not implemented.".into()))
}

/// `unload_image` (superadmins): as [`preload`].
pub async fn unload(
    caller: &Identity,
    _references: Option<Vec<String>>,
    _agents: Option<Vec<String>>,
) -> Result<Outcome<String>> {
    require_superadmin(caller)?;
    Ok(Outcome::Refused("Not implemented.".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_21_03() {
        let known = vec!["cr.backend.ai".to_owned()];
        let parse = |r| ImageRef::parse(r, &known).unwrap();
        assert_eq!(
            parse("cr.backend.ai/stable/python:3.9-ubuntu20.04"),
            ImageRef {
                registry: "cr.backend.ai".into(),
                name: "stable/python".into(),
                tag: "3.9-ubuntu20.04".into()
            }
        );
        assert_eq!(
            parse("python"),
            ImageRef {
                registry: "index.docker.io".into(),
                name: "lablup/python".into(),
                tag: "latest".into()
            }
        );
        assert_eq!(parse("localhost:5000/x/y:1").registry, "localhost:5000");
        assert!(ImageRef::parse("https://x/y", &known).is_err());
        assert!(ImageRef::parse("x:-bad", &known).is_err());
        assert_eq!(
            parse("cr.backend.ai/stable/python:3.9").tag_path(),
            "images/cr.backend.ai/stable%2Fpython/3.9"
        );
    }
}

/// One image tag as the etcd record and the agents' reports describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub image: ImageRef,
    pub digest: Option<String>,
    pub labels: Vec<(String, String)>,
    pub aliases: Vec<String>,
    pub size_bytes: i64,
    /// `(slot, min, max)` as recorded (`"0"` and `"Infinity"` when unset).
    pub resource_limits: Vec<(String, String, String)>,
    pub supported_accelerators: Vec<String>,
    /// The agents that have it (`None` when hidden from the caller).
    pub installed_agents: Option<Vec<String>>,
    pub installed: bool,
}

impl ImageRef {
    pub fn canonical(&self) -> String {
        format!("{}/{}:{}", self.registry, self.name, self.tag)
    }
}

/// Reads the whole image record of etcd into one entry per tag.
async fn read_record(etcd: &Etcd) -> Result<Vec<ImageInfo>> {
    use std::collections::BTreeMap;
    let pairs = etcd.get_prefix_pairs("images/").await.map_err(etcd_error)?;
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    /// The digest of a tag and the attributes below it.
    type TagRecord = (Option<String>, Vec<(String, String)>);
    let mut tags: BTreeMap<(String, String, String), TagRecord> = BTreeMap::new();
    for (key, value) in pairs {
        let parts: Vec<&str> = key.splitn(4, '/').collect();
        match parts.as_slice() {
            ["_aliases", alias] => aliases
                .entry(value)
                .or_default()
                .push(percent::decode(alias)),
            [registry, name, tag] => {
                let k = (
                    percent::decode(registry),
                    percent::decode(name),
                    (*tag).to_owned(),
                );
                tags.entry(k).or_default().0 = Some(value);
            }
            [registry, name, tag, rest] => {
                let k = (
                    percent::decode(registry),
                    percent::decode(name),
                    (*tag).to_owned(),
                );
                tags.entry(k)
                    .or_default()
                    .1
                    .push(((*rest).to_owned(), value));
            }
            _ => {} // the `images/{registry}/{name}` markers
        }
    }
    Ok(tags
        .into_iter()
        .filter(|(_, (digest, attrs))| digest.is_some() || !attrs.is_empty())
        .map(|((registry, name, tag), (digest, attrs))| {
            let image = ImageRef {
                registry,
                name,
                tag,
            };
            let attr = |k: &str| attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
            let labels = attrs
                .iter()
                .filter_map(|(a, v)| a.strip_prefix("labels/").map(|l| (l.to_owned(), v.clone())))
                .collect();
            let mut slots: BTreeMap<String, (String, String)> = BTreeMap::new();
            for (a, v) in &attrs {
                if let Some((slot, bound)) =
                    a.strip_prefix("resource/").and_then(|r| r.split_once('/'))
                {
                    let entry = slots
                        .entry(slot.to_owned())
                        .or_insert_with(|| ("0".to_owned(), "Infinity".to_owned()));
                    match bound {
                        "min" => entry.0 = v.clone(),
                        "max" => entry.1 = v.clone(),
                        _ => {}
                    }
                }
            }
            // 21.03's rescan writes `accels`, its reader looks at `accelerators`: take either.
            let accelerators = attr("accelerators")
                .or_else(|| attr("accels"))
                .unwrap_or_default();
            ImageInfo {
                aliases: aliases.get(&image.canonical()).cloned().unwrap_or_default(),
                digest,
                labels,
                size_bytes: attr("size_bytes").and_then(|s| s.parse().ok()).unwrap_or(0),
                resource_limits: slots
                    .into_iter()
                    .map(|(s, (min, max))| (s, min, max))
                    .collect(),
                supported_accelerators: accelerators
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect(),
                installed_agents: None,
                installed: false,
                image,
            }
        })
        .collect())
}

/// Fills in which agents have each image (Redis, one pipeline for the page).
async fn with_installations(
    redis_image: &redis::aio::ConnectionManager,
    mut images: Vec<ImageInfo>,
    hide_agents: bool,
) -> Result<Vec<ImageInfo>> {
    if images.is_empty() {
        return Ok(images);
    }
    let mut pipe = redis::pipe();
    for info in &images {
        pipe.smembers(info.image.canonical());
    }
    let members: Vec<Vec<String>> = pipe
        .query_async(&mut redis_image.clone())
        .await
        .map_err(|e| Error::Internal(format!("reading image installations from Redis: {e}")))?;
    for (info, mut agents) in images.iter_mut().zip(members) {
        agents.sort();
        info.installed = !agents.is_empty();
        info.installed_agents = (!hide_agents).then_some(agents);
    }
    Ok(images)
}

/// The registries the caller's domain may use (`None`: all, for superadmins).
async fn allowed_registries(
    db: &sea_orm::DatabaseConnection,
    caller: &Identity,
) -> Result<Option<Vec<String>>> {
    use entities::enums::UserRole;
    use sea_orm::EntityTrait;
    match caller.role {
        UserRole::Superadmin => Ok(None),
        UserRole::Admin | UserRole::User => {
            let domain = match &caller.domain_name {
                Some(d) => {
                    entities::domains::Entity::find_by_id(d.as_str())
                        .one(db)
                        .await?
                }
                None => None,
            };
            Ok(Some(
                domain
                    .map(|d| d.allowed_docker_registries)
                    .unwrap_or_default(),
            ))
        }
        UserRole::Monitor => Err(Error::unknown_role()),
    }
}

/// Where an image query reads from.
pub struct ImageSources<'a> {
    pub db: &'a sea_orm::DatabaseConnection,
    pub etcd: &'a Etcd,
    pub redis_image: &'a redis::aio::ConnectionManager,
    pub hide_agents: bool,
}

/// `images(is_installed, is_operation)`: the images the caller's domain may use.
/// `is_operation` selects the images labelled as operation (service) images, or the others.
pub async fn list(
    from: &ImageSources<'_>,
    caller: &Identity,
    is_installed: Option<bool>,
    is_operation: Option<bool>,
) -> Result<Vec<ImageInfo>> {
    let allowed = allowed_registries(from.db, caller).await?;
    let images: Vec<ImageInfo> = read_record(from.etcd)
        .await?
        .into_iter()
        .filter(|i| {
            allowed
                .as_ref()
                .is_none_or(|a| a.contains(&i.image.registry))
        })
        .filter(|i| {
            is_operation.is_none_or(|wanted| {
                let operation = i.labels.iter().any(|(k, v)| {
                    k == "ai.backend.features" && v.split_whitespace().any(|f| f == "operation")
                });
                operation == wanted
            })
        })
        .collect();
    let images = with_installations(from.redis_image, images, from.hide_agents).await?;
    Ok(images
        .into_iter()
        .filter(|i| is_installed.is_none_or(|wanted| i.installed == wanted))
        .collect())
}

/// `image(reference)`: one image (aliases followed), if the caller's domain may use it.
pub async fn get(from: &ImageSources<'_>, caller: &Identity, reference: &str) -> Result<ImageInfo> {
    let wanted = resolve(from.etcd, reference).await?;
    let not_found = || Error::InvalidInput(format!("Unknown image reference: {reference}"));
    let info = read_record(from.etcd)
        .await?
        .into_iter()
        .find(|i| i.image == wanted)
        .ok_or_else(not_found)?;
    if let Some(allowed) = allowed_registries(from.db, caller).await? {
        if !allowed.contains(&info.image.registry) {
            return Err(Error::NotFound("image".into()));
        }
    }
    let mut with = with_installations(from.redis_image, vec![info], from.hide_agents).await?;
    Ok(with.remove(0))
}
