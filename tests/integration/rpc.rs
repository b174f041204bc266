//! The agent RPC client against the real Python `callosum==0.9.10` (the library 21.03 agents
//! serve with), run from the test virtualenv: results, failures, cancellations, timeouts, an
//! unknown method (no answer at all from callosum) and an agent that is not there.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bai_manager::rpc::{Keepalive, RpcClient, RpcError};
use rmpv::Value;

/// The Python peer, killed when dropped.
struct PythonPeer {
    child: Child,
    addr: String,
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn python_peer() -> PythonPeer {
    let port = free_port();
    let mut child = Command::new(crate::events::python())
        .arg(crate::helpers::repo_path("tests/interop/callosum_peer.py"))
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the callosum peer did not start");
    PythonPeer {
        child,
        addr: format!("tcp://127.0.0.1:{port}"),
    }
}

fn client() -> RpcClient {
    RpcClient::new(Keepalive::default())
}

const LIMIT: Option<Duration> = Some(Duration::from_secs(10));

#[tokio::test]
async fn calls_get_results_and_failures_from_callosum() {
    let peer = python_peer();
    let rpc = client();
    let reply = rpc
        .call(
            &peer.addr,
            "echo",
            vec![
                Value::from("hi"),
                Value::from(3),
                Value::Binary(vec![0, 255]),
            ],
            vec![("flag", Value::from(true))],
            LIMIT,
        )
        .await
        .unwrap();
    let expected = Value::Map(vec![
        (
            "args".into(),
            Value::Array(vec!["hi".into(), 3.into(), Value::Binary(vec![0, 255])]),
        ),
        (
            "kwargs".into(),
            Value::Map(vec![("flag".into(), true.into())]),
        ),
    ]);
    assert_eq!(reply, expected);
    assert_eq!(
        rpc.call(&peer.addr, "nothing", vec![], vec![], LIMIT)
            .await
            .unwrap(),
        Value::Nil
    );

    match rpc
        .call(&peer.addr, "fail", vec!["disk full".into()], vec![], LIMIT)
        .await
    {
        Err(RpcError::Failure {
            name,
            repr,
            traceback,
            ..
        }) => {
            assert_eq!(name, "ValueError");
            assert_eq!(repr, "ValueError('disk full')");
            assert!(traceback.contains("Traceback"), "{traceback}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        rpc.call(&peer.addr, "cancel", vec![], vec![], LIMIT).await,
        Err(RpcError::Cancelled { .. })
    ));

    // Many calls at once, each on its own connection.
    let calls = (0..40).map(|i| {
        let (rpc, addr) = (rpc.clone(), peer.addr.clone());
        async move {
            rpc.call(&addr, "echo", vec![Value::from(i)], vec![], LIMIT)
                .await
        }
    });
    for (i, reply) in futures::future::join_all(calls)
        .await
        .into_iter()
        .enumerate()
    {
        let reply = reply.unwrap();
        assert_eq!(
            reply.as_map().unwrap()[0].1,
            Value::Array(vec![(i as u64).into()])
        );
    }
}

#[tokio::test]
async fn silence_and_slowness_end_in_timeouts() {
    let peer = python_peer();
    let rpc = client();
    let limit = Duration::from_millis(400);
    let short = Some(limit);
    // callosum 0.9 does not answer a method it does not know.
    match rpc
        .call(&peer.addr, "no_such_function", vec![], vec![], short)
        .await
    {
        Err(RpcError::Timeout { method, after, .. }) => {
            assert_eq!((method.as_str(), after), ("no_such_function", limit))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        rpc.call(&peer.addr, "sleep", vec![5.into()], vec![], short)
            .await,
        Err(RpcError::Timeout { .. })
    ));
    // The agent still serves afterwards, and it did run the slow function.
    let calls = rpc
        .call(&peer.addr, "calls", vec![], vec![], LIMIT)
        .await
        .unwrap();
    assert!(
        calls.as_array().unwrap().contains(&"sleep".into()),
        "{calls}"
    );

    // Nobody listening: ZeroMQ keeps trying to connect until the time is up.
    let nobody = format!("tcp://127.0.0.1:{}", free_port());
    assert!(matches!(
        rpc.call(&nobody, "echo", vec![], vec![], short).await,
        Err(RpcError::Timeout { .. })
    ));
}

/// `Agent.hardware_metadata` asks the agent itself (`gather_hwinfo`).
#[tokio::test]
async fn hardware_metadata_is_asked_of_the_agent() {
    let peer = python_peer();
    let api = crate::http::spawn_api_with(Some(include_str!("../data/gql-seed.sql")), |_| {}).await;
    let sql = format!(
        "UPDATE agents SET addr = '{}' WHERE id = 'i-test-1'",
        peer.addr
    );
    sea_orm::ConnectionTrait::execute_unprepared(&api.db.conn, &sql)
        .await
        .unwrap();
    let query = serde_json::json!({
        "query": "{ agent(agent_id: \"i-test-1\") { hardware_metadata } }"
    });
    let (status, _, body) = api
        .signed(
            reqwest::Method::POST,
            "/admin/gql",
            Some(query),
            crate::http::ADMIN_SK,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        body["data"]["agent"]["hardware_metadata"],
        "{\"cuda\": {\"status\": \"healthy\", \"status_info\": null, \"metadata\": {\"model\": \"A100\"}}}",
        "{body}"
    );
}
