-- The system of record as the Backend.AI manager 21.03 creates it (alembic head 8679d0a7e22b).
-- Every name here (constraints, indexes, enum types) is part of the contract: the Python 21.03
-- manager must recognise a database created by this file, and the schema-parity test compares
-- the resulting catalog with the 21.03 dump.

CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;

-- Enum types. Most store the Python enum *values* (userrole, userstatus, vfolder*), the rest the
-- enum *names*; either way the labels below are what the rows hold.
CREATE TYPE agentstatus AS ENUM ('ALIVE', 'LOST', 'RESTARTING', 'TERMINATED');
CREATE TYPE defaultforunspecified AS ENUM ('LIMITED', 'UNLIMITED');
CREATE TYPE errorlog_severity AS ENUM ('critical', 'error', 'warning');
CREATE TYPE kernelstatus AS ENUM (
    'PENDING', 'SCHEDULED', 'PREPARING', 'BUILDING', 'PULLING', 'RUNNING', 'RESTARTING',
    'RESIZING', 'SUSPENDED', 'TERMINATING', 'TERMINATED', 'ERROR', 'CANCELLED'
);
CREATE TYPE sessionresult AS ENUM ('UNDEFINED', 'SUCCESS', 'FAILURE');
CREATE TYPE sessiontypes AS ENUM ('INTERACTIVE', 'BATCH');
CREATE TYPE templatetype AS ENUM ('TASK', 'CLUSTER');
CREATE TYPE userrole AS ENUM ('superadmin', 'admin', 'user', 'monitor');
CREATE TYPE userstatus AS ENUM ('active', 'inactive', 'deleted', 'before-verification');
CREATE TYPE vfolderinvitationstate AS ENUM ('pending', 'canceled', 'accepted', 'rejected');
CREATE TYPE vfolderownershiptype AS ENUM ('user', 'group');
CREATE TYPE vfolderpermission AS ENUM ('ro', 'rw', 'wd');
CREATE TYPE vfolderusagemode AS ENUM ('general', 'model', 'data');

-- Alembic's bookkeeping, so that the Python manager sees its own head revision.
CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num) VALUES ('8679d0a7e22b');

CREATE TABLE domains (
    name varchar(64) NOT NULL,
    description varchar(512),
    is_active boolean,
    created_at timestamptz DEFAULT now(),
    modified_at timestamptz DEFAULT now(),
    total_resource_slots jsonb,
    allowed_vfolder_hosts varchar[] NOT NULL,
    allowed_docker_registries varchar[] NOT NULL,
    integration_id varchar(512),
    dotfiles bytea NOT NULL,
    CONSTRAINT pk_domains PRIMARY KEY (name)
);

CREATE TABLE scaling_groups (
    name varchar(64) NOT NULL,
    description varchar(512),
    is_active boolean,
    created_at timestamptz DEFAULT now(),
    driver varchar(64) NOT NULL,
    driver_opts jsonb NOT NULL,
    scheduler varchar(64) NOT NULL,
    scheduler_opts jsonb NOT NULL,
    CONSTRAINT pk_scaling_groups PRIMARY KEY (name)
);
CREATE INDEX ix_scaling_groups_is_active ON scaling_groups (is_active);

CREATE TABLE keypair_resource_policies (
    name varchar(256) NOT NULL,
    created_at timestamptz DEFAULT now(),
    default_for_unspecified defaultforunspecified NOT NULL,
    total_resource_slots jsonb NOT NULL,
    max_concurrent_sessions integer NOT NULL,
    max_containers_per_session integer NOT NULL,
    max_vfolder_count integer NOT NULL,
    max_vfolder_size bigint NOT NULL,
    idle_timeout bigint NOT NULL,
    allowed_vfolder_hosts varchar[] NOT NULL,
    CONSTRAINT pk_keypair_resource_policies PRIMARY KEY (name)
);

CREATE TABLE resource_presets (
    name varchar(256) NOT NULL,
    resource_slots jsonb NOT NULL,
    shared_memory bigint,
    CONSTRAINT pk_resource_presets PRIMARY KEY (name)
);

CREATE TABLE users (
    uuid uuid DEFAULT uuid_generate_v4() NOT NULL,
    username varchar(64),
    email varchar(64) NOT NULL,
    password varchar,
    need_password_change boolean,
    full_name varchar(64),
    description varchar(500),
    status userstatus NOT NULL,
    status_info varchar,
    created_at timestamptz DEFAULT now(),
    modified_at timestamptz DEFAULT now(),
    integration_id varchar(512),
    domain_name varchar(64),
    role userrole,
    CONSTRAINT pk_users PRIMARY KEY (uuid),
    CONSTRAINT uq_users_username UNIQUE (username),
    CONSTRAINT fk_users_domain_name_domains FOREIGN KEY (domain_name) REFERENCES domains (name)
);
CREATE INDEX ix_users_domain_name ON users (domain_name);
CREATE UNIQUE INDEX ix_users_email ON users (email);

CREATE TABLE groups (
    id uuid DEFAULT uuid_generate_v4() NOT NULL,
    name varchar(64) NOT NULL,
    description varchar(512),
    is_active boolean,
    created_at timestamptz DEFAULT now(),
    modified_at timestamptz DEFAULT now(),
    integration_id varchar(512),
    domain_name varchar(64) NOT NULL,
    total_resource_slots jsonb,
    allowed_vfolder_hosts varchar[] NOT NULL,
    dotfiles bytea NOT NULL,
    CONSTRAINT pk_groups PRIMARY KEY (id),
    CONSTRAINT uq_groups_name_domain_name UNIQUE (name, domain_name),
    CONSTRAINT fk_groups_domain_name_domains FOREIGN KEY (domain_name) REFERENCES domains (name)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX ix_groups_domain_name ON groups (domain_name);

CREATE TABLE association_groups_users (
    user_id uuid NOT NULL,
    group_id uuid NOT NULL,
    CONSTRAINT uq_association_user_id_group_id UNIQUE (user_id, group_id),
    CONSTRAINT fk_association_groups_users_group_id_groups FOREIGN KEY (group_id)
        REFERENCES groups (id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT fk_association_groups_users_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (uuid) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE keypairs (
    user_id varchar(256),
    access_key varchar(20) NOT NULL,
    secret_key varchar(40),
    is_active boolean,
    is_admin boolean DEFAULT false,
    created_at timestamptz DEFAULT now(),
    modified_at timestamptz DEFAULT now(),
    last_used timestamptz,
    concurrency_used integer,
    rate_limit integer,
    num_queries integer DEFAULT 0,
    ssh_public_key varchar(750),
    ssh_private_key varchar(2000),
    "user" uuid NOT NULL,
    resource_policy varchar(256) NOT NULL,
    dotfiles bytea NOT NULL,
    bootstrap_script varchar(65536) NOT NULL,
    CONSTRAINT pk_keypairs PRIMARY KEY (access_key),
    CONSTRAINT fk_keypairs_resource_policy_keypair_resource_policies FOREIGN KEY (resource_policy)
        REFERENCES keypair_resource_policies (name),
    CONSTRAINT fk_keypairs_user_users FOREIGN KEY ("user") REFERENCES users (uuid)
);
CREATE INDEX ix_keypairs_is_active ON keypairs (is_active);
CREATE INDEX ix_keypairs_is_admin ON keypairs (is_admin);
CREATE INDEX ix_keypairs_user_id ON keypairs (user_id);

CREATE TABLE sgroups_for_domains (
    scaling_group varchar(64) NOT NULL,
    domain varchar(64) NOT NULL,
    CONSTRAINT uq_sgroup_domain UNIQUE (scaling_group, domain),
    CONSTRAINT fk_sgroups_for_domains_domain_domains FOREIGN KEY (domain)
        REFERENCES domains (name) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT fk_sgroups_for_domains_scaling_group_scaling_groups FOREIGN KEY (scaling_group)
        REFERENCES scaling_groups (name) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX ix_sgroups_for_domains_domain ON sgroups_for_domains (domain);
CREATE INDEX ix_sgroups_for_domains_scaling_group ON sgroups_for_domains (scaling_group);

CREATE TABLE sgroups_for_groups (
    scaling_group varchar(64) NOT NULL,
    "group" uuid NOT NULL,
    CONSTRAINT uq_sgroup_ugroup UNIQUE (scaling_group, "group"),
    CONSTRAINT fk_sgroups_for_groups_group_groups FOREIGN KEY ("group")
        REFERENCES groups (id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT fk_sgroups_for_groups_scaling_group_scaling_groups FOREIGN KEY (scaling_group)
        REFERENCES scaling_groups (name) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX ix_sgroups_for_groups_group ON sgroups_for_groups ("group");
CREATE INDEX ix_sgroups_for_groups_scaling_group ON sgroups_for_groups (scaling_group);

CREATE TABLE sgroups_for_keypairs (
    scaling_group varchar(64) NOT NULL,
    access_key varchar(20) NOT NULL,
    CONSTRAINT uq_sgroup_akey UNIQUE (scaling_group, access_key),
    CONSTRAINT fk_sgroups_for_keypairs_access_key_keypairs FOREIGN KEY (access_key)
        REFERENCES keypairs (access_key) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT fk_sgroups_for_keypairs_scaling_group_scaling_groups FOREIGN KEY (scaling_group)
        REFERENCES scaling_groups (name) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX ix_sgroups_for_keypairs_access_key ON sgroups_for_keypairs (access_key);
CREATE INDEX ix_sgroups_for_keypairs_scaling_group ON sgroups_for_keypairs (scaling_group);

CREATE TABLE agents (
    id varchar(64) NOT NULL,
    status agentstatus NOT NULL,
    status_changed timestamptz,
    region varchar(64) NOT NULL,
    scaling_group varchar(64) DEFAULT 'default' NOT NULL,
    schedulable boolean DEFAULT true NOT NULL,
    available_slots jsonb NOT NULL,
    occupied_slots jsonb NOT NULL,
    addr varchar(128) NOT NULL,
    first_contact timestamptz DEFAULT now(),
    lost_at timestamptz,
    version varchar(64) NOT NULL,
    compute_plugins jsonb NOT NULL,
    CONSTRAINT pk_agents PRIMARY KEY (id),
    CONSTRAINT fk_agents_scaling_group_scaling_groups FOREIGN KEY (scaling_group)
        REFERENCES scaling_groups (name)
);
CREATE INDEX ix_agents_region ON agents (region);
CREATE INDEX ix_agents_scaling_group ON agents (scaling_group);
CREATE INDEX ix_agents_status ON agents (status);

CREATE TABLE kernels (
    id uuid DEFAULT uuid_generate_v4() NOT NULL,
    session_id uuid NOT NULL,
    session_creation_id varchar(32),
    session_name varchar(64),
    session_type sessiontypes DEFAULT 'INTERACTIVE' NOT NULL,
    cluster_mode varchar(16) DEFAULT 'SINGLE_NODE' NOT NULL,
    cluster_size integer NOT NULL,
    cluster_role varchar(16) NOT NULL,
    cluster_idx integer NOT NULL,
    cluster_hostname varchar(64) NOT NULL,
    scaling_group varchar(64),
    agent varchar(64),
    agent_addr varchar(128),
    domain_name varchar(64) NOT NULL,
    group_id uuid NOT NULL,
    user_uuid uuid NOT NULL,
    access_key varchar(20),
    image varchar(512),
    registry varchar(512),
    tag varchar(64),
    container_id varchar(64),
    occupied_slots jsonb NOT NULL,
    occupied_shares jsonb NOT NULL,
    environ varchar[],
    mounts varchar[],
    mount_map jsonb,
    attached_devices jsonb,
    resource_opts jsonb,
    bootstrap_script varchar(16384),
    kernel_host varchar(128),
    repl_in_port integer NOT NULL,
    repl_out_port integer NOT NULL,
    stdin_port integer NOT NULL,
    stdout_port integer NOT NULL,
    service_ports jsonb,
    preopen_ports integer[],
    created_at timestamptz DEFAULT now(),
    terminated_at timestamptz,
    starts_at timestamptz,
    status kernelstatus DEFAULT 'PENDING' NOT NULL,
    status_changed timestamptz,
    status_info varchar,
    status_data jsonb,
    startup_command text,
    result sessionresult DEFAULT 'UNDEFINED' NOT NULL,
    internal_data jsonb,
    container_log bytea,
    num_queries bigint,
    last_stat jsonb,
    CONSTRAINT pk_kernels PRIMARY KEY (id),
    CONSTRAINT fk_kernels_access_key_keypairs FOREIGN KEY (access_key)
        REFERENCES keypairs (access_key),
    CONSTRAINT fk_kernels_agent_agents FOREIGN KEY (agent) REFERENCES agents (id),
    CONSTRAINT fk_kernels_domain_name_domains FOREIGN KEY (domain_name) REFERENCES domains (name),
    CONSTRAINT fk_kernels_group_id_groups FOREIGN KEY (group_id) REFERENCES groups (id),
    CONSTRAINT fk_kernels_scaling_group_scaling_groups FOREIGN KEY (scaling_group)
        REFERENCES scaling_groups (name),
    CONSTRAINT fk_kernels_user_uuid_users FOREIGN KEY (user_uuid) REFERENCES users (uuid)
);
CREATE INDEX ix_kernels_cluster_role ON kernels (cluster_role);
CREATE INDEX ix_kernels_created_at ON kernels (created_at);
CREATE INDEX ix_kernels_result ON kernels (result);
CREATE INDEX ix_kernels_scaling_group ON kernels (scaling_group);
CREATE INDEX ix_kernels_sess_id_role ON kernels (session_id, cluster_role);
CREATE INDEX ix_kernels_session_id ON kernels (session_id);
CREATE INDEX ix_kernels_session_name ON kernels (session_name);
CREATE INDEX ix_kernels_session_type ON kernels (session_type);
CREATE INDEX ix_kernels_status ON kernels (status);
CREATE INDEX ix_kernels_status_changed ON kernels (status_changed);
CREATE INDEX ix_kernels_status_role ON kernels (status, cluster_role);
CREATE INDEX ix_kernels_terminated_at ON kernels (terminated_at);
-- One live main kernel per (access key, session name).
CREATE UNIQUE INDEX ix_kernels_unique_sess_token ON kernels (access_key, session_name)
    WHERE status NOT IN ('TERMINATED', 'CANCELLED') AND cluster_role = 'main';
-- 21.03 declared this index over three string literals (not the columns); it is reproduced as is
-- so that the catalog matches, and is useless to the planner.
CREATE INDEX ix_kernels_updated_order ON kernels
    (GREATEST('created_at'::text, 'terminated_at'::text, 'status_changed'::text));

CREATE TABLE session_dependencies (
    session_id uuid NOT NULL,
    depends_on uuid NOT NULL,
    CONSTRAINT pk_session_dependencies PRIMARY KEY (session_id, depends_on),
    CONSTRAINT fk_session_dependencies_depends_on_kernels FOREIGN KEY (depends_on)
        REFERENCES kernels (id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT fk_session_dependencies_session_id_kernels FOREIGN KEY (session_id)
        REFERENCES kernels (id) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX ix_session_dependencies_depends_on ON session_dependencies (depends_on);
CREATE INDEX ix_session_dependencies_session_id ON session_dependencies (session_id);

CREATE TABLE session_templates (
    id uuid DEFAULT uuid_generate_v4() NOT NULL,
    created_at timestamptz,
    is_active boolean,
    domain_name varchar(64) NOT NULL,
    group_id uuid,
    user_uuid uuid NOT NULL,
    type templatetype DEFAULT 'TASK' NOT NULL,
    name varchar(128),
    template jsonb NOT NULL,
    CONSTRAINT pk_session_templates PRIMARY KEY (id),
    CONSTRAINT fk_session_templates_domain_name_domains FOREIGN KEY (domain_name)
        REFERENCES domains (name),
    CONSTRAINT fk_session_templates_group_id_groups FOREIGN KEY (group_id) REFERENCES groups (id),
    CONSTRAINT fk_session_templates_user_uuid_users FOREIGN KEY (user_uuid)
        REFERENCES users (uuid)
);
CREATE INDEX ix_session_templates_created_at ON session_templates (created_at);
CREATE INDEX ix_session_templates_type ON session_templates (type);
CREATE INDEX ix_session_templates_user_uuid ON session_templates (user_uuid);

CREATE TABLE error_logs (
    id uuid DEFAULT uuid_generate_v4() NOT NULL,
    created_at timestamptz DEFAULT now(),
    severity errorlog_severity,
    source varchar,
    "user" uuid,
    is_read boolean,
    is_cleared boolean,
    message text,
    context_lang varchar,
    context_env jsonb,
    request_url varchar,
    request_status integer,
    traceback text,
    CONSTRAINT pk_error_logs PRIMARY KEY (id),
    CONSTRAINT fk_error_logs_user_users FOREIGN KEY ("user") REFERENCES users (uuid)
);
CREATE INDEX ix_error_logs_created_at ON error_logs (created_at);
CREATE INDEX ix_error_logs_is_cleared ON error_logs (is_cleared);
CREATE INDEX ix_error_logs_is_read ON error_logs (is_read);
CREATE INDEX ix_error_logs_severity ON error_logs (severity);
CREATE INDEX ix_error_logs_user ON error_logs ("user");

CREATE TABLE vfolders (
    id uuid DEFAULT uuid_generate_v4() NOT NULL,
    host varchar(128) NOT NULL,
    name varchar(64) NOT NULL,
    usage_mode vfolderusagemode NOT NULL,
    permission vfolderpermission,
    max_files integer,
    max_size integer,
    num_files integer,
    cur_size integer,
    created_at timestamptz DEFAULT now(),
    last_used timestamptz,
    creator varchar(128),
    unmanaged_path varchar(512),
    ownership_type vfolderownershiptype NOT NULL,
    "user" uuid,
    "group" uuid,
    cloneable boolean NOT NULL,
    CONSTRAINT pk_vfolders PRIMARY KEY (id),
    CONSTRAINT ck_vfolders_either_one_of_user_or_group CHECK (
        ("user" IS NULL AND "group" IS NOT NULL) OR ("user" IS NOT NULL AND "group" IS NULL)
    ),
    CONSTRAINT ck_vfolders_ownership_type_match_with_user_or_group CHECK (
        (ownership_type = 'user' AND "user" IS NOT NULL)
        OR (ownership_type = 'group' AND "group" IS NOT NULL)
    ),
    CONSTRAINT fk_vfolders_group_groups FOREIGN KEY ("group") REFERENCES groups (id),
    CONSTRAINT fk_vfolders_user_users FOREIGN KEY ("user") REFERENCES users (uuid)
);
CREATE INDEX ix_vfolders_name ON vfolders (name);

CREATE TABLE vfolder_attachment (
    vfolder uuid NOT NULL,
    kernel uuid NOT NULL,
    CONSTRAINT pk_vfolder_attachment PRIMARY KEY (vfolder, kernel),
    CONSTRAINT fk_vfolder_attachment_kernel_kernels FOREIGN KEY (kernel)
        REFERENCES kernels (id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT fk_vfolder_attachment_vfolder_vfolders FOREIGN KEY (vfolder)
        REFERENCES vfolders (id) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE vfolder_invitations (
    id uuid DEFAULT uuid_generate_v4() NOT NULL,
    permission vfolderpermission,
    inviter varchar(256),
    invitee varchar(256) NOT NULL,
    state vfolderinvitationstate,
    created_at timestamptz DEFAULT now(),
    modified_at timestamptz,
    vfolder uuid NOT NULL,
    CONSTRAINT pk_vfolder_invitations PRIMARY KEY (id),
    CONSTRAINT fk_vfolder_invitations_vfolder_vfolders FOREIGN KEY (vfolder)
        REFERENCES vfolders (id) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE vfolder_permissions (
    permission vfolderpermission,
    vfolder uuid NOT NULL,
    "user" uuid NOT NULL,
    CONSTRAINT fk_vfolder_permissions_user_users FOREIGN KEY ("user") REFERENCES users (uuid),
    CONSTRAINT fk_vfolder_permissions_vfolder_vfolders FOREIGN KEY (vfolder)
        REFERENCES vfolders (id) ON UPDATE CASCADE ON DELETE CASCADE
);
