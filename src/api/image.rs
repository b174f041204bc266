//! `/image/import`: the form of an image import, and the import request (21.03 `api/image.py`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use entities::resource_slot::parse_binary_size;
use serde_json::{json, Value};

use super::access::{AdminCaller, AllAllowed, ReadAllowed};
use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use crate::services::image_import::{self, LaunchOptions};
use crate::AppState;

/// The service ports the form offers.
const SERVICE_PORT_TEMPLATES: [(&str, u16); 6] = [
    ("jupyter", 8080),
    ("jupyterlab", 8090),
    ("tensorboard", 6006),
    ("digits", 5000),
    ("vscode", 8180),
    ("h2o-dai", 12345),
];

fn field(name: &str, kind: &str, label: &str, extra: Value) -> Value {
    let mut f = json!({"name": name, "type": kind, "label": label});
    if let (Some(f), Value::Object(extra)) = (f.as_object_mut(), extra) {
        f.extend(extra);
    }
    f
}

/// `GET /image/import`: what the web UI shows to fill an import request.
async fn form(
    State(state): State<AppState>,
    _: ReadAllowed,
    AdminCaller(caller): AdminCaller,
) -> Result<Json<Value>, ApiError> {
    let (groups, scaling_groups) = image_import::form_choices(&state.db, &caller).await?;
    let templates: Vec<Value> = SERVICE_PORT_TEMPLATES
        .iter()
        .map(|(name, port)| json!({"name": name, "protocol": "http", "ports": [port]}))
        .collect();
    Ok(Json(json!({
        "fieldGroups": [
            {
                "name": "Import options",
                "fields": [
                    field("src", "string", "Source Docker image", json!({
                        "placeholder": "index.docker.io/lablup/tensorflow:2.0-source",
                        "help": "The full name of the Docker image to import; its registry must be reachable."})),
                    field("target", "string", "Target Docker image", json!({
                        "placeholder": "index.docker.io/lablup/tensorflow:2.0-target",
                        "help": "The full name of the imported image; its registry must be reachable."})),
                    field("brand", "string", "Name of Jupyter kernel", json!({
                        "placeholder": "TensorFlow 2.0",
                        "help": "The kernel name shown in Jupyter's kernel menu, followed by \"on Backend.AI\"."})),
                    field("baseDistro", "choice", "Base Linux distribution", json!({
                        "choices": ["ubuntu", "centos"], "default": "ubuntu",
                        "help": "The Linux distribution the source image is based on."})),
                    field("minCPU", "number", "Minimum required CPU core(s)", json!({
                        "min": 1, "max": null,
                        "help": "The fewest CPU cores the image needs."})),
                    field("minMemory", "binarysize", "Minimum required memory size", json!({
                        "min": "64m", "max": null,
                        "help": "The least main memory the image needs."})),
                    field("preferredSharedMemory", "binarysize", "Preferred shared memory size", json!({
                        "min": "64m", "max": null,
                        "help": "The default size of the shared memory."})),
                    field("supportedAccelerators", "multichoice[str]", "Supported accelerators", json!({
                        "choices": ["cuda"], "default": "cuda",
                        "help": "The accelerators the image supports."})),
                    field("runtimeType", "choice", "Runtime type of the image", json!({
                        "choices": ["python"], "default": "python",
                        "help": "The runtime the image's Jupyter kernel uses; the source image must have Python installed."})),
                    field("runtimePath", "string", "Path of the runtime", json!({
                        "default": "/usr/local/bin/python", "placeholder": "/usr/local/bin/python",
                        "help": "The path of the runtime's executable in the image (it differs between images)."})),
                    field("CPUCountEnvs", "list[string]", "CPU count environment variables", json!({
                        "default": ["NPROC", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"],
                        "help": "Environment variables set to the number of CPU cores allocated to the container."})),
                    field("servicePorts", "multichoice[template]", "Supported service ports", json!({
                        "templates": templates,
                        "help": "The service ports the image supports; sshd (2200) and ttyd (7681) are always included, ports 2000-2003 are reserved."})),
                ],
            },
            {
                "name": "Import Task Options",
                "help": "The import task uses 1 CPU core and 2 GiB of memory.",
                "fields": [
                    field("group", "choice", "Group to build image", json!({
                        "choices": groups, "default": "default",
                        "help": "The user group where the import task will be executed."})),
                    field("scalingGroup", "choice", "Scaling group to build image", json!({
                        "choices": scaling_groups, "default": "default",
                        "help": "The scaling group where the import task will take resources from."})),
                ],
            },
        ],
    })))
}

/// Checks `servicePorts`: a list of `{name, protocol, ports}`.
fn check_service_ports(p: &mut Checker, value: Value) {
    let Value::Array(items) = value else {
        return p.reject("servicePorts", "value is not a list");
    };
    for (i, item) in items.iter().enumerate() {
        let ok = item["name"].as_str().is_some_and(|n| !n.is_empty())
            && matches!(item["protocol"].as_str(), Some("http" | "tcp" | "pty"))
            && item["ports"].as_array().is_some_and(|ports| {
                !ports.is_empty()
                    && ports
                        .iter()
                        .all(|p| p.as_u64().is_some_and(|p| (1..=65535).contains(&p)))
            });
        if !ok {
            return p.reject(
                "servicePorts",
                &format!("item {i} must be {{name, protocol: http|tcp|pty, ports: [1-65535, …]}}"),
            );
        }
    }
}

/// Checks a binary size given as a number or a text such as `64m`.
fn check_binary_size(p: &mut Checker, key: &str) {
    let value = p.optional_any(key);
    let text = match &value {
        None => return,
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => String::new(),
    };
    if parse_binary_size(&text).is_none() {
        p.reject(key, "value is not a valid binary size");
    }
}

fn check_string_list(p: &mut Checker, key: &str) {
    let value = p.any(key);
    if !value.is_null()
        && !value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string))
    {
        p.reject(key, "value is not a list of strings");
    }
}

/// `POST /image/import`.
async fn import(
    State(state): State<AppState>,
    _: AllAllowed,
    AdminCaller(caller): AdminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    p.string("src");
    p.string("target");
    p.string("brand");
    p.choice("baseDistro", &["ubuntu", "centos"]);
    p.choice("runtimeType", &["python"]);
    p.string("runtimePath");
    p.to_int("minCPU", 1, 1..=i64::from(i32::MAX));
    check_binary_size(&mut p, "minMemory");
    check_binary_size(&mut p, "preferredSharedMemory");
    check_string_list(&mut p, "supportedAccelerators");
    check_string_list(&mut p, "CPUCountEnvs");
    if let Some(ports) = p.optional_any("servicePorts") {
        check_service_ports(&mut p, ports);
    }
    let launch = p.optional_object("launchOptions").unwrap_or_default();
    p.finish(true)?;
    let launch = LaunchOptions {
        group: launch["group"].as_str().unwrap_or("default").to_owned(),
        scaling_group: launch["scalingGroup"]
            .as_str()
            .unwrap_or("default")
            .to_owned(),
    };
    // Until sessions are scheduled, the import is refused once the request checks out.
    match image_import::import(&state.db, &caller, &launch).await? {}
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/image/import", get(form).post(import))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ))
}
