//! `bai-manager etcd …`, as 21.03's `mgr etcd`: keys are relative to `/sorna/{namespace}/`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use crate::config::etcd::{quote, tree_to_json, unquote, Etcd};
use crate::config::LocalConfig;

/// 21.03's configuration scopes. The manager has only the global scope, so all of them address
/// the same keys; the option is accepted for compatibility.
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum Scope {
    Merged,
    Global,
    Sgroup,
    Node,
}

#[derive(Subcommand)]
pub enum EtcdCommand {
    /// Put a single key.
    Put {
        key: String,
        value: String,
        #[arg(short, long, value_enum, default_value = "GLOBAL")]
        scope: Scope,
    },
    /// Put a JSON object's contents under a key prefix (nested objects become sub-keys).
    PutJson {
        key: String,
        file: PathBuf,
        #[arg(short, long, value_enum, default_value = "GLOBAL")]
        scope: Scope,
    },
    /// Move every key under one prefix to another.
    MoveSubtree {
        src_prefix: String,
        dst_prefix: String,
        #[arg(short, long, value_enum, default_value = "GLOBAL")]
        scope: Scope,
    },
    /// Print a key's value (exit 1 if absent), or with --prefix all keys under it as JSON.
    Get {
        key: String,
        #[arg(long)]
        prefix: bool,
        #[arg(short, long, value_enum, default_value = "GLOBAL")]
        scope: Scope,
    },
    /// Delete a key, or with --prefix every key under it.
    Delete {
        key: String,
        #[arg(long)]
        prefix: bool,
        #[arg(short, long, value_enum, default_value = "GLOBAL")]
        scope: Scope,
    },
    /// Print a key component quoted as etcd keys store it.
    Quote { value: String },
    /// Print a quoted key component in plain form.
    Unquote { value: String },
}

impl EtcdCommand {
    /// Commands that need neither the configuration nor etcd.
    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            EtcdCommand::Quote { .. } | EtcdCommand::Unquote { .. }
        )
    }

    pub fn run_offline(&self) -> anyhow::Result<ExitCode> {
        match self {
            EtcdCommand::Quote { value } => println!("{}", quote(value)),
            EtcdCommand::Unquote { value } => println!("{}", unquote(value)),
            _ => unreachable!("only offline commands come here"),
        }
        Ok(ExitCode::SUCCESS)
    }

    pub async fn run(&self, config: &LocalConfig) -> anyhow::Result<ExitCode> {
        let etcd = Etcd::connect(&config.etcd).await?;
        match self {
            EtcdCommand::Put { key, value, .. } => etcd.put(key, value).await?,
            EtcdCommand::PutJson { key, file, .. } => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let value: serde_json::Value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not valid JSON", file.display()))?;
                if !value.is_object() {
                    anyhow::bail!("{} must hold a JSON object", file.display());
                }
                etcd.put_json(key, &value).await?;
            }
            EtcdCommand::MoveSubtree {
                src_prefix,
                dst_prefix,
                ..
            } => {
                etcd.move_subtree(src_prefix, dst_prefix).await?;
            }
            EtcdCommand::Get {
                key, prefix: true, ..
            } => {
                let tree = etcd.get_prefix(key).await?;
                println!("{}", to_json_indent4(&tree_to_json(&tree))?);
            }
            EtcdCommand::Get {
                key, prefix: false, ..
            } => match etcd.get(key).await? {
                Some(value) => println!("{value}"),
                None => return Ok(ExitCode::FAILURE),
            },
            EtcdCommand::Delete { key, prefix, .. } => {
                if *prefix {
                    etcd.delete_prefix(key).await?;
                } else {
                    etcd.delete(key).await?;
                }
            }
            EtcdCommand::Quote { .. } | EtcdCommand::Unquote { .. } => return self.run_offline(),
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// JSON with four-space indentation, as Python's `json.dumps(…, indent=4)`.
fn to_json_indent4(value: &serde_json::Value) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(value, &mut ser)?;
    Ok(String::from_utf8(out)?)
}
