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
