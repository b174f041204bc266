//! Test harness: each test gets its own PostgreSQL database and etcd namespace, dropped when the
//! test ends. Service addresses come from the environment that `scripts/test.sh` sets.

use std::path::PathBuf;

use bai_manager::config::etcd::Etcd;
use bai_manager::config::LocalConfig;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

pub fn pg_base_url() -> String {
    std::env::var("BAI_TEST_PG_URL").unwrap_or_else(|_| "postgres://bai:bai@127.0.0.1:5432".into())
}

pub fn etcd_addr() -> String {
    std::env::var("BAI_TEST_ETCD_ADDR").unwrap_or_else(|_| "127.0.0.1:2379".into())
}

/// The directory of the 21.03 reference extracts (`db-schema-21.03.sql`, fixtures).
pub fn reference_dir() -> PathBuf {
    let candidates = [
        std::env::var("BAI_REFERENCE_DIR").map(PathBuf::from).ok(),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference")),
        Some(PathBuf::from("/work/shared/reference")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("db-schema-21.03.sql").is_file())
        .expect("the 21.03 reference extracts are needed: set BAI_REFERENCE_DIR")
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A database of its own, dropped (with its connections) when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub conn: DatabaseConnection,
}

impl TestDb {
    /// An empty database.
    pub async fn empty() -> TestDb {
        let name = unique("bai_test");
        let admin = Database::connect(format!("{}/postgres", pg_base_url()))
            .await
            .unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        admin.close().await.unwrap();
        let conn = Database::connect(format!("{}/{name}", pg_base_url()))
            .await
            .unwrap();
        TestDb { name, conn }
    }

    /// A database holding the bai-manager schema.
    pub async fn migrated() -> TestDb {
        let db = TestDb::empty().await;
        migration::oneshot(&db.conn).await.unwrap();
        db
    }

    /// A database created the way the Python 21.03 manager leaves it: its schema dump, and the
    /// alembic head row that `alembic stamp head` writes.
    pub async fn from_21_03_dump() -> TestDb {
        let db = TestDb::empty().await;
        db.conn
            .execute_unprepared(&reference_schema_sql())
            .await
            .unwrap();
        db.conn
            .execute_unprepared("INSERT INTO alembic_version (version_num) VALUES ('8679d0a7e22b')")
            .await
            .unwrap();
        db
    }

    /// `manager.toml` settings that point at this database.
    pub fn config(&self) -> LocalConfig {
        test_config(&self.name, &unique("test"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Async drop is not a thing; drop the database from a short-lived runtime of its own.
        cleanup_on_own_runtime(async move {
            if let Ok(admin) = Database::connect(format!("{}/postgres", pg_base_url())).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
                let _ = admin.close().await;
            }
        });
    }
}

/// The 21.03 schema dump as executable SQL (without psql's meta-commands).
pub fn reference_schema_sql() -> String {
    let text = std::fs::read_to_string(reference_dir().join("db-schema-21.03.sql")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A manager.toml in the 21.03 format for the test services.
pub fn test_config_toml(db_name: &str, namespace: &str) -> String {
    let pg = pg_base_url();
    let rest = pg.strip_prefix("postgres://").unwrap();
    let (creds, addr) = rest.split_once('@').unwrap();
    let (user, password) = creds.split_once(':').unwrap();
    format!(
        r#"
[etcd]
namespace = "{namespace}"
addr = "{etcd}"

[db]
type = "postgresql"
addr = "{addr}"
name = "{db_name}"
user = "{user}"
password = "{password}"

[manager]
num-proc = 2
service-addr = {{ host = "127.0.0.1", port = 8080 }}
heartbeat-timeout = 5.0

[docker-registry]
ssl-verify = true

[logging]
level = "INFO"
drivers = ["console"]

[logging.console]
colored = false

[logging.pkg-ns]
"" = "WARNING"

[debug]
enabled = false
"#,
        etcd = etcd_addr()
    )
}

pub fn test_config(db_name: &str, namespace: &str) -> LocalConfig {
    LocalConfig::from_toml_str(
        &test_config_toml(db_name, namespace),
        std::path::Path::new("test-manager.toml"),
        &[],
    )
    .unwrap()
}

/// An etcd namespace of its own, deleted when the value is dropped.
pub struct TestEtcd {
    pub namespace: String,
    pub etcd: Etcd,
}

impl TestEtcd {
    pub async fn new() -> TestEtcd {
        let namespace = unique("test");
        let config = test_config("unused", &namespace);
        let etcd = Etcd::connect(&config.etcd).await.unwrap();
        TestEtcd { namespace, etcd }
    }
}

impl Drop for TestEtcd {
    fn drop(&mut self) {
        // A client of its own: the test's client runs on the test's runtime, which is blocked
        // here until the thread ends.
        let config = test_config("unused", &self.namespace);
        cleanup_on_own_runtime(async move {
            if let Ok(etcd) = Etcd::connect(&config.etcd).await {
                let _ = etcd.delete_prefix("").await;
            }
        });
    }
}

/// Row counts of every table, for "nothing changed" assertions.
pub async fn row_counts(db: &DatabaseConnection) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in entities::defaults::TABLES {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT count(*) AS n FROM \"{table}\""),
            ))
            .await
            .unwrap()
            .unwrap();
        out.push(((*table).to_owned(), row.try_get::<i64>("", "n").unwrap()));
    }
    out
}

/// The first column of the first row of `sql`.
pub async fn scalar<T: sea_orm::TryGetable>(conn: &impl ConnectionTrait, sql: &str) -> T {
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no row from {sql}"));
    row.try_get_by_index::<T>(0).unwrap()
}

/// A JSON file of the repository (fixtures, configuration samples).
pub fn repo_json(rel: &str) -> serde_json::Value {
    let path = repo_path(rel);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl TestDb {
    /// A migrated database holding the example domain, group, users and keypairs.
    pub async fn with_example_keypairs() -> TestDb {
        let db = TestDb::migrated().await;
        bai_manager::services::fixtures::populate(
            &db.conn,
            &repo_json("fixtures/example-keypairs.json"),
        )
        .await
        .unwrap();
        db
    }
}

/// Runs test clean-up from `Drop`: async drop is not a thing, and the test's own runtime is
/// blocked in the drop, so the work runs to completion on a short-lived runtime of its own.
fn cleanup_on_own_runtime(work: impl std::future::Future<Output = ()> + Send + 'static) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(work)
    })
    .join();
}
