-- Loaded after fixtures/example-keypairs.json by the GraphQL tests: a second domain with its own
-- admin, three agents, and sessions of the example user (120), the superadmin (5) and the other
-- domain's admin (2).
INSERT INTO domains (name, description, is_active, total_resource_slots, allowed_vfolder_hosts,
                     allowed_docker_registries, dotfiles)
VALUES ('other', 'another domain', true, '{}', '{}', '{}', '\x90');
INSERT INTO groups (id, name, description, is_active, domain_name, total_resource_slots,
                    allowed_vfolder_hosts, dotfiles)
VALUES ('00000000-0000-0000-0000-00000000aaaa', 'other-group', '', true, 'other', '{}', '{}', '\x90');
INSERT INTO users (uuid, username, email, password, need_password_change, full_name, status,
                   domain_name, role)
VALUES ('00000000-0000-0000-0000-00000000bbbb', 'other-admin', 'other-admin@lablup.com', 'x',
        false, 'Other Admin', 'active', 'other', 'admin');
INSERT INTO association_groups_users (user_id, group_id)
VALUES ('00000000-0000-0000-0000-00000000bbbb', '00000000-0000-0000-0000-00000000aaaa');
INSERT INTO keypairs (user_id, access_key, secret_key, is_active, is_admin, rate_limit,
                      num_queries, "user", resource_policy, dotfiles, bootstrap_script)
VALUES ('other-admin@lablup.com', 'AKIAOTHERADMINEXAMPL', 'other-admin-secret-key', true, true,
        30000, 0, '00000000-0000-0000-0000-00000000bbbb', 'default', '\x90', '');

INSERT INTO agents (id, status, region, scaling_group, schedulable, available_slots,
                    occupied_slots, addr, first_contact, version, compute_plugins)
SELECT 'i-test-' || n, CASE WHEN n < 3 THEN 'ALIVE' ELSE 'LOST' END::agentstatus, 'local',
       'default', true, '{"cpu": "8", "mem": "17179869184", "cuda.device": "2"}',
       '{"cpu": "2", "mem": "4294967296"}', 'tcp://10.0.0.' || n || ':6001', now(), '21.03.5',
       '{}'
FROM generate_series(1, 3) AS n;

INSERT INTO kernels (id, session_id, session_name, session_type, cluster_mode, cluster_size,
                     cluster_role, cluster_idx, cluster_hostname, scaling_group, agent,
                     domain_name, group_id, user_uuid, access_key, image, registry,
                     occupied_slots, occupied_shares, repl_in_port, repl_out_port, stdin_port,
                     stdout_port, status, created_at, status_changed, mounts)
SELECT s.id, s.id, s.name, 'INTERACTIVE', 'single-node', 1, 'main', 0, 'main0', 'default',
       'i-test-' || (1 + s.n % 3), s.domain, s.gid, s.uid, s.ak,
       'cr.backend.ai/stable/python:3.9', 'cr.backend.ai',
       '{"cpu": "1", "mem": "1073741824"}', '{}', 2000, 2001, 2002, 2003,
       CASE WHEN s.n % 2 = 0 THEN 'RUNNING' ELSE 'TERMINATED' END::kernelstatus,
       timestamptz '2021-08-01 00:00:00+00' + s.n * interval '1 minute',
       timestamptz '2021-08-01 00:00:00+00' + s.n * interval '1 minute', '{}'
FROM (
    SELECT md5('user' || n)::uuid AS id, 'user-sess-' || n AS name, n, 'default' AS domain,
           '2de2b969-1d04-48a6-af16-0bc8adb3c831'::uuid AS gid,
           (SELECT uuid FROM users WHERE email = 'user@lablup.com') AS uid,
           'AKIANABBDUSEREXAMPLE' AS ak
    FROM generate_series(1, 120) AS n
    UNION ALL
    SELECT md5('admin' || n)::uuid, 'admin-sess-' || n, n, 'default',
           '2de2b969-1d04-48a6-af16-0bc8adb3c831'::uuid,
           (SELECT uuid FROM users WHERE email = 'admin@lablup.com'), 'AKIAIOSFODNN7EXAMPLE'
    FROM generate_series(1, 5) AS n
    UNION ALL
    SELECT md5('other' || n)::uuid, 'other-sess-' || n, n, 'other',
           '00000000-0000-0000-0000-00000000aaaa'::uuid,
           '00000000-0000-0000-0000-00000000bbbb'::uuid, 'AKIAOTHERADMINEXAMPL'
    FROM generate_series(1, 2) AS n
) AS s;
