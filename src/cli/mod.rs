//! The `bai-manager` command line, shaped like 21.03's `backend.ai mgr`.

mod etcd;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::LocalConfig;
use crate::services::fixtures;
use crate::{db, keys, logging, server};

#[derive(Parser)]
#[command(
    name = "bai-manager",
    version,
    about = "The Backend.AI manager (21.03-compatible)"
)]
pub struct Cli {
    /// The manager.toml to use (default: $BACKEND_CONFIG_FILE, ./manager.toml,
    /// ~/.config/backend.ai/manager.toml, /etc/backend.ai/manager.toml).
    #[arg(
        short = 'f',
        long = "config-path",
        visible_alias = "config",
        global = true
    )]
    config_path: Option<PathBuf>,
    /// Debug mode: debug-level logs and the loaded configuration printed at start.
    #[arg(long, global = true)]
    debug: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    StartServer,
    /// Manage the database schema.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Load or save fixtures (rows in 21.03's JSON fixture format).
    #[command(subcommand)]
    Fixture(FixtureCommand),
    /// Print a new API access key and secret key.
    GenerateKeypair,
    /// Read and write the shared configuration in etcd.
    #[command(subcommand)]
    Etcd(etcd::EtcdCommand),
    /// The GraphQL admin API.
    #[command(subcommand)]
    Gql(GqlCommand),
}

#[derive(Subcommand)]
enum GqlCommand {
    /// Print the schema (SDL), as committed in `schema.graphql`.
    Show,
}

#[derive(Subcommand)]
enum SchemaCommand {
    /// Create the whole schema on an empty database.
    Oneshot,
    /// Apply pending migrations; adopts a database created by the Python 21.03 manager.
    Migrate,
    /// List applied and pending migrations.
    Status,
    /// Show the alembic revision (as 21.03's `schema show`) and the migration state.
    Show,
}

#[derive(Subcommand)]
enum FixtureCommand {
    /// Load a fixture file in one transaction; rows already present are skipped.
    Populate { file: PathBuf },
    /// Write tables as a fixture (JSON) to stdout or a file.
    Export {
        /// Tables to export, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        tables: Vec<String>,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Kept for 21.03 compatibility; does nothing.
    List,
}

/// Entry point of the binary: runs the command and maps failures to a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<LocalConfig> {
    let mut config = LocalConfig::load(cli.config_path.as_deref())?;
    if cli.debug {
        config.debug.enabled = true;
        config.logging.level = "DEBUG".to_owned();
    }
    Ok(config)
}

fn runtime(worker_threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads.max(1))
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::GenerateKeypair => {
            let (ak, sk) = keys::generate_keypair();
            println!("Access Key: {ak} ({} bytes)", ak.len());
            println!("Secret Key: {sk} ({} bytes)", sk.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Etcd(cmd) if cmd.is_offline() => cmd.run_offline(),
        Command::Gql(GqlCommand::Show) => {
            print!("{}", crate::gql::sdl());
            Ok(ExitCode::SUCCESS)
        }
        Command::StartServer => {
            let config = load_config(&cli)?;
            let _guard = logging::init(&config.logging)?;
            if config.debug.enabled {
                eprintln!("== Manager configuration ==\n{config:#?}");
            }
            server::limit_malloc_arenas();
            runtime(config.manager.num_proc)?.block_on(server::run(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema(cmd) => {
            let config = load_config(&cli)?;
            let _guard = logging::init(&cli_logging(&config))?;
            runtime(1)?.block_on(schema(cmd, &config))
        }
        Command::Fixture(cmd) => {
            let config = load_config(&cli)?;
            let _guard = logging::init(&cli_logging(&config))?;
            runtime(2)?.block_on(fixture(cmd, &config))
        }
        Command::Etcd(cmd) => {
            let config = load_config(&cli)?;
            let _guard = logging::init(&cli_logging(&config))?;
            runtime(1)?.block_on(cmd.run(&config))
        }
    }
}

/// Commands log to the console only, as 21.03's CLI drops the file driver.
fn cli_logging(config: &LocalConfig) -> crate::config::local::LoggingConfig {
    let mut logging = config.logging.clone();
    logging.file = None;
    logging.logstash_requested = false;
    logging
}

async fn connect_db(config: &LocalConfig) -> anyhow::Result<sea_orm::DatabaseConnection> {
    db::connect(&config.db).await.with_context(|| {
        format!(
            "cannot connect to PostgreSQL at {}/{}",
            config.db.addr, config.db.name
        )
    })
}

async fn schema(cmd: &SchemaCommand, config: &LocalConfig) -> anyhow::Result<ExitCode> {
    let db = connect_db(config).await?;
    match cmd {
        SchemaCommand::Oneshot => {
            migration::oneshot(&db).await?;
            println!(
                "Created the schema of Backend.AI 21.03 (alembic head {}).",
                migration::ALEMBIC_HEAD_21_03
            );
        }
        SchemaCommand::Migrate => {
            let outcome = migration::migrate(&db).await?;
            if outcome.adopted {
                println!(
                    "Adopted the database created by the Python 21.03 manager as the baseline."
                );
            }
            if outcome.applied.is_empty() {
                println!("No pending migrations.");
            }
            for name in &outcome.applied {
                println!("Applied {name}");
            }
        }
        SchemaCommand::Status | SchemaCommand::Show => {
            let (state, migrations) = migration::status(&db).await?;
            if matches!(cmd, SchemaCommand::Show) {
                let current = match &state {
                    migration::SchemaState::Alembic { revision } => revision.clone(),
                    migration::SchemaState::Managed => {
                        Some(migration::ALEMBIC_HEAD_21_03.to_owned())
                    }
                    _ => None,
                };
                println!(
                    "Current database revision: {}",
                    current.as_deref().unwrap_or("None")
                );
                println!(
                    "The head revision of available migrations: {}",
                    migration::ALEMBIC_HEAD_21_03
                );
            }
            println!("The database {}.", migration::describe(&state));
            for (name, applied) in migrations {
                println!("{} {name}", if applied { "applied" } else { "pending" });
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn fixture(cmd: &FixtureCommand, config: &LocalConfig) -> anyhow::Result<ExitCode> {
    match cmd {
        FixtureCommand::List => {
            eprintln!("This command is deprecated.");
            return Ok(ExitCode::SUCCESS);
        }
        FixtureCommand::Populate { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let fixture: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", file.display()))?;
            let db = connect_db(config).await?;
            let report = fixtures::populate(&db, &fixture)
                .await
                .with_context(|| format!("nothing was loaded from {}", file.display()))?;
            println!(
                "Populated {}:\n{}",
                file.display(),
                fixtures::describe(&report)
            );
        }
        FixtureCommand::Export { tables, output } => {
            let db = connect_db(config).await?;
            let data = fixtures::export(&db, tables).await?;
            let text = serde_json::to_string_pretty(&data)?;
            match output {
                Some(path) => std::fs::write(path, text + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => println!("{text}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
